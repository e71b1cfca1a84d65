/*
 * drivers/blk: disk stores behind blkback. A store is a small table of
 * function pointers over byte offsets; two come with it: ram (sparse, 4 KiB
 * chunks allocated on first write, freed by discard) and file (pread/pwrite,
 * fdatasync on flush, hole punching on discard). Stores are thread-safe and
 * reference-counted, so one may outlive a backend restart.
 *
 * Offsets and lengths are in bytes and must be multiples of the sector size
 * and inside the disk; 0 or a negative errno (-EINVAL out of range or
 * misaligned, -EROFS read-only, -EOPNOTSUPP, -EIO).
 */
#ifndef XENSIM_DRIVERS_BLKSTORE_H
#define XENSIM_DRIVERS_BLKSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLK_STORE_CHUNK_BYTES 4096u              /* ram store allocation unit */
#define BLK_STORE_SIZE_BYTES_MAX (1ull << 40)    /* 1 TiB */

struct blk_store;

/* A store kind. Any op may be NULL: discard/flush then answer -EOPNOTSUPP
 * (flush: 0, nothing volatile). */
struct blk_store_ops {
	const char *kind;
	int (*read)(struct blk_store *s, uint64_t off, void *buf, size_t len);
	int (*write)(struct blk_store *s, uint64_t off, const void *buf, size_t len);
	int (*flush)(struct blk_store *s);
	int (*discard)(struct blk_store *s, uint64_t off, uint64_t len);
	int (*resize)(struct blk_store *s, uint64_t size_bytes);
	uint64_t (*chunks)(struct blk_store *s);   /* data chunks held (info only) */
	void (*destroy)(struct blk_store *s);
};

struct blk_store_info {
	const char *kind;
	uint64_t size_bytes;
	uint32_t sector_size;             /* 512 or 4096 */
	uint32_t discard_granularity;     /* bytes; 0: no discard */
	bool readonly;
	uint64_t chunks_allocated;        /* ram: 4 KiB chunks holding data */
	uint64_t refused;                 /* I/Os refused: out of range, misaligned, a write to a
					   * read-only store (a caller that bounds its requests, as
					   * blkback does, never sees one) */
};

/* A sparse ram disk of size_bytes (a multiple of sector_size). */
int blk_store_ram_create(uint64_t size_bytes, uint32_t sector_size, struct blk_store **out);
/* A file (or block device). create_size > 0: create or resize the file to
 * that size first. The size used is the file's, rounded down to a sector. */
int blk_store_file_open(const char *path, uint32_t sector_size, bool readonly,
			uint64_t create_size, struct blk_store **out);
/* Build a store of another kind: ops and a private pointer. */
int blk_store_new(const struct blk_store_ops *ops, void *priv, uint64_t size_bytes,
		  uint32_t sector_size, bool readonly, struct blk_store **out);
void *blk_store_priv(struct blk_store *s);

void blk_store_get(struct blk_store *s);
/* Drop a reference; the last one destroys the store. NULL is ignored. */
void blk_store_put(struct blk_store *s);

void blk_store_info(struct blk_store *s, struct blk_store_info *out);
int blk_store_read(struct blk_store *s, uint64_t off, void *buf, size_t len);
int blk_store_write(struct blk_store *s, uint64_t off, const void *buf, size_t len);
int blk_store_flush(struct blk_store *s);
int blk_store_discard(struct blk_store *s, uint64_t off, uint64_t len);
/* Grow or shrink (a multiple of the sector size). -EOPNOTSUPP if the kind
 * cannot. */
int blk_store_resize(struct blk_store *s, uint64_t size_bytes);

#endif
