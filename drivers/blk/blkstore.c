/*
 * Disk stores: the generic checks (range, alignment, read-only) once here,
 * then the kind's op under the store's lock. The ram store keeps 4 KiB chunks
 * in a two-level table so that a large sparse disk costs only what is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/blk/blkstore.h"
#include "drivers/platform.h"

struct blk_store {
	const struct blk_store_ops *bs_ops;
	void *bs_priv;
	pthread_mutex_t bs_lock;
	atomic_uint bs_refs;
	uint64_t bs_size_bytes;
	uint32_t bs_sector_size;
	bool bs_readonly;
	uint64_t bs_refused;              /* blk_store_info's refused */
};

static bool blk_store_sector_size_ok(uint32_t ss)
{
	return ss == 512 || ss == 4096;
}

int blk_store_new(const struct blk_store_ops *ops, void *priv, uint64_t size_bytes,
		  uint32_t sector_size, bool readonly, struct blk_store **out)
{
	struct blk_store *s;

	if (!blk_store_sector_size_ok(sector_size) || size_bytes % sector_size ||
	    size_bytes > BLK_STORE_SIZE_BYTES_MAX)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (struct blk_store){.bs_ops = ops, .bs_priv = priv, .bs_size_bytes = size_bytes,
				.bs_sector_size = sector_size, .bs_readonly = readonly};
	atomic_init(&s->bs_refs, 1);
	pthread_mutex_init(&s->bs_lock, NULL);
	*out = s;
	return 0;
}

void *blk_store_priv(struct blk_store *s)
{
	return s->bs_priv;
}

void blk_store_get(struct blk_store *s)
{
	atomic_fetch_add(&s->bs_refs, 1);
}

void blk_store_put(struct blk_store *s)
{
	if (!s || atomic_fetch_sub(&s->bs_refs, 1) != 1)
		return;
	if (s->bs_ops->destroy)
		s->bs_ops->destroy(s);
	pthread_mutex_destroy(&s->bs_lock);
	free(s);
}

void blk_store_info(struct blk_store *s, struct blk_store_info *out)
{
	pthread_mutex_lock(&s->bs_lock);
	*out = (struct blk_store_info){
		.kind = s->bs_ops->kind,
		.size_bytes = s->bs_size_bytes,
		.sector_size = s->bs_sector_size,
		.discard_granularity = s->bs_ops->discard ? BLK_STORE_CHUNK_BYTES : 0,
		.readonly = s->bs_readonly,
		.refused = s->bs_refused,
	};
	if (s->bs_ops->discard && s->bs_sector_size > out->discard_granularity)
		out->discard_granularity = s->bs_sector_size;
	if (s->bs_ops->chunks)
		out->chunks_allocated = s->bs_ops->chunks(s);
	pthread_mutex_unlock(&s->bs_lock);
}

/* Range and alignment; the lock is held. */
static int blk_store_check(struct blk_store *s, uint64_t off, uint64_t len)
{
	if ((off | len) % s->bs_sector_size || off > s->bs_size_bytes ||
	    len > s->bs_size_bytes - off) {
		s->bs_refused++;
		return -EINVAL;
	}
	return 0;
}

/* A write or discard of a read-only store; the lock is held. */
static int blk_store_rofs(struct blk_store *s)
{
	s->bs_refused++;
	return -EROFS;
}

int blk_store_read(struct blk_store *s, uint64_t off, void *buf, size_t len)
{
	pthread_mutex_lock(&s->bs_lock);
	int rc = blk_store_check(s, off, len);
	if (rc == 0 && len)
		rc = s->bs_ops->read(s, off, buf, len);
	pthread_mutex_unlock(&s->bs_lock);
	return rc;
}

int blk_store_write(struct blk_store *s, uint64_t off, const void *buf, size_t len)
{
	pthread_mutex_lock(&s->bs_lock);
	int rc = s->bs_readonly ? blk_store_rofs(s) : blk_store_check(s, off, len);
	if (rc == 0 && len)
		rc = s->bs_ops->write(s, off, buf, len);
	pthread_mutex_unlock(&s->bs_lock);
	return rc;
}

int blk_store_flush(struct blk_store *s)
{
	pthread_mutex_lock(&s->bs_lock);
	int rc = s->bs_ops->flush ? s->bs_ops->flush(s) : 0;
	pthread_mutex_unlock(&s->bs_lock);
	return rc;
}

int blk_store_discard(struct blk_store *s, uint64_t off, uint64_t len)
{
	pthread_mutex_lock(&s->bs_lock);
	int rc = s->bs_readonly ? blk_store_rofs(s) : !s->bs_ops->discard ? -EOPNOTSUPP : blk_store_check(s, off, len);
	if (rc == 0 && len)
		rc = s->bs_ops->discard(s, off, len);
	pthread_mutex_unlock(&s->bs_lock);
	return rc;
}

int blk_store_resize(struct blk_store *s, uint64_t size_bytes)
{
	pthread_mutex_lock(&s->bs_lock);
	int rc = !s->bs_ops->resize ? -EOPNOTSUPP
		 : size_bytes % s->bs_sector_size || size_bytes > BLK_STORE_SIZE_BYTES_MAX ? -EINVAL
											     : 0;
	if (rc == 0)
		rc = s->bs_ops->resize(s, size_bytes);
	if (rc == 0)
		s->bs_size_bytes = size_bytes;
	pthread_mutex_unlock(&s->bs_lock);
	return rc;
}

/* ---- ram: sparse chunks ---- */

#define RAM_LEAF_CHUNKS 512u   /* one leaf covers 2 MiB */

struct ram_store {
	uint8_t ***rs_leaves;      /* [leaf][chunk] -> 4 KiB or NULL (zeros) */
	uint64_t rs_nleaves;
	uint64_t rs_chunks;        /* allocated chunks */
};

static uint64_t ram_leaves_for(uint64_t size_bytes)
{
	uint64_t chunks = (size_bytes + BLK_STORE_CHUNK_BYTES - 1) / BLK_STORE_CHUNK_BYTES;
	return (chunks + RAM_LEAF_CHUNKS - 1) / RAM_LEAF_CHUNKS;
}

static uint8_t **ram_slot(struct ram_store *r, uint64_t chunk, bool create)
{
	uint64_t leaf = chunk / RAM_LEAF_CHUNKS;

	if (leaf >= r->rs_nleaves)
		return NULL;
	if (!r->rs_leaves[leaf] && create)
		r->rs_leaves[leaf] = calloc(RAM_LEAF_CHUNKS, sizeof(uint8_t *));
	return r->rs_leaves[leaf] ? &r->rs_leaves[leaf][chunk % RAM_LEAF_CHUNKS] : NULL;
}

static int ram_read(struct blk_store *s, uint64_t off, void *buf, size_t len)
{
	struct ram_store *r = s->bs_priv;
	uint8_t *out = buf;

	while (len) {
		uint64_t chunk = off / BLK_STORE_CHUNK_BYTES, in = off % BLK_STORE_CHUNK_BYTES;
		size_t n = BLK_STORE_CHUNK_BYTES - in < len ? BLK_STORE_CHUNK_BYTES - in : len;
		uint8_t **slot = ram_slot(r, chunk, false);
		if (slot && *slot)
			memcpy(out, *slot + in, n);
		else
			memset(out, 0, n);
		out += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int ram_write(struct blk_store *s, uint64_t off, const void *buf, size_t len)
{
	struct ram_store *r = s->bs_priv;
	const uint8_t *in_buf = buf;

	while (len) {
		uint64_t chunk = off / BLK_STORE_CHUNK_BYTES, in = off % BLK_STORE_CHUNK_BYTES;
		size_t n = BLK_STORE_CHUNK_BYTES - in < len ? BLK_STORE_CHUNK_BYTES - in : len;
		uint8_t **slot = ram_slot(r, chunk, true);
		if (!slot)
			return -ENOMEM;
		if (!*slot) {
			*slot = calloc(1, BLK_STORE_CHUNK_BYTES);
			if (!*slot)
				return -ENOMEM;
			r->rs_chunks++;
		}
		memcpy(*slot + in, in_buf, n);
		in_buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Whole chunks inside the range are freed (they read as zeros); partial
 * chunks at the edges keep their data, which discard allows. */
static int ram_discard(struct blk_store *s, uint64_t off, uint64_t len)
{
	struct ram_store *r = s->bs_priv;
	uint64_t first = (off + BLK_STORE_CHUNK_BYTES - 1) / BLK_STORE_CHUNK_BYTES;
	uint64_t end = (off + len) / BLK_STORE_CHUNK_BYTES;

	for (uint64_t c = first; c < end; c++) {
		uint8_t **slot = ram_slot(r, c, false);
		if (slot && *slot) {
			free(*slot);
			*slot = NULL;
			r->rs_chunks--;
		}
	}
	return 0;
}

static void ram_free_leaf(struct ram_store *r, uint64_t leaf)
{
	if (!r->rs_leaves[leaf])
		return;
	for (unsigned i = 0; i < RAM_LEAF_CHUNKS; i++)
		if (r->rs_leaves[leaf][i]) {
			free(r->rs_leaves[leaf][i]);
			r->rs_chunks--;
		}
	free(r->rs_leaves[leaf]);
	r->rs_leaves[leaf] = NULL;
}

static int ram_resize(struct blk_store *s, uint64_t size_bytes)
{
	struct ram_store *r = s->bs_priv;
	uint64_t n = ram_leaves_for(size_bytes);

	if (size_bytes < s->bs_size_bytes) {
		/* Data past the new end must not come back if the disk grows again. */
		uint64_t keep = (size_bytes + BLK_STORE_CHUNK_BYTES - 1) / BLK_STORE_CHUNK_BYTES;
		ram_discard(s, keep * BLK_STORE_CHUNK_BYTES,
			    r->rs_nleaves * RAM_LEAF_CHUNKS * BLK_STORE_CHUNK_BYTES - keep * BLK_STORE_CHUNK_BYTES);
		for (uint64_t l = n; l < r->rs_nleaves; l++)
			ram_free_leaf(r, l);
	}
	if (n > r->rs_nleaves) {
		uint8_t ***leaves = realloc(r->rs_leaves, n * sizeof(*leaves));
		if (!leaves)
			return -ENOMEM;
		memset(leaves + r->rs_nleaves, 0, (n - r->rs_nleaves) * sizeof(*leaves));
		r->rs_leaves = leaves;
	}
	r->rs_nleaves = n > r->rs_nleaves ? n : r->rs_nleaves;
	return 0;
}

static uint64_t ram_chunks(struct blk_store *s)
{
	struct ram_store *r = s->bs_priv;

	return r->rs_chunks;
}

static void ram_destroy(struct blk_store *s)
{
	struct ram_store *r = s->bs_priv;

	for (uint64_t l = 0; l < r->rs_nleaves; l++)
		ram_free_leaf(r, l);
	free(r->rs_leaves);
	free(r);
}

static const struct blk_store_ops ram_ops = {
	.kind = "ram",
	.read = ram_read,
	.write = ram_write,
	.discard = ram_discard,
	.resize = ram_resize,
	.chunks = ram_chunks,
	.destroy = ram_destroy,
};

int blk_store_ram_create(uint64_t size_bytes, uint32_t sector_size, struct blk_store **out)
{
	struct ram_store *r = calloc(1, sizeof(*r));
	int rc = -ENOMEM;

	if (!r)
		return rc;
	rc = blk_store_new(&ram_ops, r, 0, sector_size, false, out);
	if (rc == 0 && size_bytes) {
		rc = blk_store_resize(*out, size_bytes);
		if (rc < 0)
			blk_store_put(*out);
		return rc;
	}
	if (rc < 0)
		free(r);
	return rc;
}

/* ---- file ---- */

struct file_store {
	int fs_fd;
};

static int file_read(struct blk_store *s, uint64_t off, void *buf, size_t len)
{
	struct file_store *f = s->bs_priv;
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(f->fs_fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {   /* past the end of a file shorter than announced */
			memset(p, 0, len);
			break;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int file_write(struct blk_store *s, uint64_t off, const void *buf, size_t len)
{
	struct file_store *f = s->bs_priv;
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(f->fs_fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int file_flush(struct blk_store *s)
{
	struct file_store *f = s->bs_priv;

	return fdatasync(f->fs_fd) < 0 ? -errno : 0;
}

static int file_discard(struct blk_store *s, uint64_t off, uint64_t len)
{
	struct file_store *f = s->bs_priv;

	if (fallocate(f->fs_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		return errno == ENOSYS ? -EOPNOTSUPP : -errno;
	return 0;
}

static int file_resize(struct blk_store *s, uint64_t size_bytes)
{
	struct file_store *f = s->bs_priv;

	return ftruncate(f->fs_fd, (off_t)size_bytes) < 0 ? -errno : 0;
}

static void file_destroy(struct blk_store *s)
{
	struct file_store *f = s->bs_priv;

	close(f->fs_fd);
	free(f);
}

static const struct blk_store_ops file_ops = {
	.kind = "file",
	.read = file_read,
	.write = file_write,
	.flush = file_flush,
	.discard = file_discard,
	.resize = file_resize,
	.destroy = file_destroy,
};

int blk_store_file_open(const char *path, uint32_t sector_size, bool readonly,
			uint64_t create_size, struct blk_store **out)
{
	struct file_store *f = calloc(1, sizeof(*f));
	struct stat st;
	int rc = -ENOMEM;

	if (!f)
		goto fail;
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (create_size && !readonly ? O_CREAT : 0);
	f->fs_fd = open(path, flags, 0600);
	if (f->fs_fd < 0) {
		rc = -errno;
		goto fail_free;
	}
	if (create_size && !readonly && ftruncate(f->fs_fd, (off_t)create_size) < 0) {
		rc = -errno;
		goto fail_close;
	}
	if (fstat(f->fs_fd, &st) < 0) {
		rc = -errno;
		goto fail_close;
	}
	uint64_t size = S_ISBLK(st.st_mode) ? (uint64_t)lseek(f->fs_fd, 0, SEEK_END) : (uint64_t)st.st_size;
	rc = blk_store_new(&file_ops, f, size - size % sector_size, sector_size, readonly, out);
	if (rc < 0)
		goto fail_close;
	return 0;
fail_close:
	close(f->fs_fd);
fail_free:
	free(f);
fail:
	xd_log("blkstore: opening %s failed: %s", path, strerror(-rc));
	return rc;
}
