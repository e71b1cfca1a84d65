/*
 * fuzz_xs_wire's ops-mode input layout (see fuzz/fuzz_xs_wire.c): the op
 * kinds, the path vocabulary, how many bytes an op takes (fzx_op_len, the
 * one statement of the layout besides the decoder, which checks itself
 * against it) and a mutator that works on whole ops (fzx_mutate_ops: insert,
 * delete, duplicate, swap, retarget an op to another connection or into a
 * transaction, give it a path another op uses or that path's base), so that
 * a sequence changes as a sequence and not as shifted bytes; a flood
 * repeats an op on sibling paths, as quota and event-storm bugs need. Only
 * fuzz_xs_wire.c includes it (its static functions are that file's).
 */
#ifndef XENSIM_FUZZ_XS_WIRE_OPS_H
#define XENSIM_FUZZ_XS_WIRE_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz/xs_wire.h"

#define FZX_OP_TX 0x80u                 /* op byte: in a transaction (a slot byte follows) */
#define FZX_OP_CONN_SHIFT 5u            /* op byte bits 5-6: the connection */
#define FZX_OP_KIND_MASK 0x1fu
#define FZX_WRITE_VALUE_BYTES 8u        /* a WRITE's value bytes from the input (then filler) */
#define FZX_RAW_NEW_MAX 12u             /* payload of a RAW op the mutator makes */
#define FZX_NEW_OP_MAX 16u              /* bytes of an op the mutator makes */
#define FZX_OPS_SCAN_MAX 4096u          /* ops of one input the mutator sees */
#define FZX_FLOOD_MAX 8u                /* copies of an op one flood inserts */

static uint8_t fzx_byte(struct fzx_in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static const char *const fzx_bases[8] = {
	"", "/a", "/a/b", "/local/domain/0", "/local/domain/1", "/local/domain/2", "/tool", NULL,
};
static const char *const fzx_suffixes[32] = {
	"", "/x", "/y", "/z", "/x/y", "/x/z", "/y/x", "/y/y", "/x/y/z", "/x/x/x", "/data",
	"/data/x", "/device/vbd/51712", "/device/vbd/51712/state", "/backend", "/control/shutdown",
	"/x/y/z/w", "/n0", "/n1", "/c/c", "/name", "/domid", "/x/", "//x", "/x.y-z_0", "/x y",
	"/a", "/b", "/x/y/z/w/v/u/t", "/y/x/z", "/z/y", "/1",
};

/* A path of the vocabulary: bits 0-2 a base, 3-7 a suffix; base 7 is
 * relative (the suffix without its slash; "" and the last suffix: the
 * @specials). b & 7 is the base alone, an ancestor of every b' with it. */
static void fzx_path(uint8_t b, char *buf, size_t len)
{
	const char *base = fzx_bases[b & 7], *suffix = fzx_suffixes[b >> 3];

	if (base)
		snprintf(buf, len, "%s%s", base[0] || suffix[0] ? base : "/", suffix);
	else if (!suffix[0])
		snprintf(buf, len, "@releaseDomain");
	else if (b >> 3 == 31)
		snprintf(buf, len, "@introduceDomain");
	else
		snprintf(buf, len, "%s", suffix + 1);
}

static enum fzx_op_kind fzx_op_kind(uint8_t b)
{
	return (enum fzx_op_kind)((b & FZX_OP_KIND_MASK) % FZX_OP_COUNT);
}

static bool fzx_kind_has_path(enum fzx_op_kind k)
{
	return k <= FZX_SET_PERMS || k == FZX_WATCH || k == FZX_UNWATCH ||
	       k == FZX_DIRECTORY_PART || k == FZX_BULK;
}

/* Argument bytes after the op byte, its slot byte and its path byte. */
static size_t fzx_args_len(enum fzx_op_kind k, const uint8_t *p, size_t left)
{
	static const uint8_t fixed[FZX_OP_COUNT] = {
		[FZX_WATCH] = 1, [FZX_UNWATCH] = 1, [FZX_TX_END] = 1, [FZX_INTRODUCE] = 1,
		[FZX_RELEASE] = 1, [FZX_DIRECTORY_PART] = 1, [FZX_DOMAIN] = 1, [FZX_SET_TARGET] = 1,
		[FZX_CONTROL] = 2, [FZX_BULK] = 1,
	};
	size_t n;

	switch (k) {
	case FZX_WRITE:
		n = !left ? 0 : p[0] & 0x80 ? (p[0] & 0x7fu) * 32u : p[0] & 0x0fu;
		return 1 + (n < FZX_WRITE_VALUE_BYTES ? n : FZX_WRITE_VALUE_BYTES);
	case FZX_SET_PERMS:
		return 1 + (left ? 1u + (p[0] & 3u) : 1u);
	case FZX_RAW:
		n = left >= 2 ? p[1] : 0;
		return 2 + (left >= 2 && n > left - 2 ? left - 2 : n);
	default:
		return fixed[k];
	}
}

/* Bytes op p takes (at most left): what fzx_op_run reads for it. */
static size_t fzx_op_len(const uint8_t *p, size_t left)
{
	enum fzx_op_kind k = fzx_op_kind(p[0]);
	size_t n = 1 + (p[0] & FZX_OP_TX ? 1 : 0);

	if (k != FZX_RECONNECT && fzx_kind_has_path(k))
		n++;
	if (k != FZX_RECONNECT)
		n += fzx_args_len(k, p + (n < left ? n : left), n < left ? left - n : 0);
	return n < left ? n : left;
}

/* ---- the op-level mutator ---- */

struct fzx_rng {
	uint64_t s;
};

static unsigned fzx_rand(struct fzx_rng *r, unsigned n)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return n ? (unsigned)(r->s % n) : 0;
}

/* The ops of an input: where each starts (ops[n] = the end). */
struct fzx_ops_scan {
	size_t off[FZX_OPS_SCAN_MAX + 1];
	unsigned n;
};

static void fzx_ops_scan(const uint8_t *data, size_t size, struct fzx_ops_scan *s)
{
	size_t off = 1;

	s->n = 0;
	while (off < size && s->n < FZX_OPS_SCAN_MAX) {
		s->off[s->n++] = off;
		off += fzx_op_len(data + off, size - off);
	}
	s->off[s->n] = off;
}

/* The path byte of op i, or NULL. */
static uint8_t *fzx_op_path(uint8_t *data, const struct fzx_ops_scan *s, unsigned i)
{
	size_t at = s->off[i] + 1 + (data[s->off[i]] & FZX_OP_TX ? 1 : 0);
	enum fzx_op_kind k = fzx_op_kind(data[s->off[i]]);

	return k != FZX_RECONNECT && fzx_kind_has_path(k) && at < s->off[i + 1] ? data + at : NULL;
}

/* A path byte: mostly one another op uses, or that path's base (its
 * ancestor), so that ops meet on the same nodes; else any. */
static uint8_t fzx_pick_path(uint8_t *data, const struct fzx_ops_scan *s, struct fzx_rng *r)
{
	unsigned i = s->n ? fzx_rand(r, s->n) : 0;
	uint8_t *p = s->n ? fzx_op_path(data, s, i) : NULL;

	if (!p || fzx_rand(r, 4) == 0)
		return (uint8_t)fzx_rand(r, 256);
	return fzx_rand(r, 3) == 0 ? (uint8_t)(*p & 7) : *p;
}

/* How often the mutator makes each kind: the ones that change the tree,
 * watches and transactions (what other connections see) more than queries. */
static const uint8_t fzx_kind_weight[FZX_OP_COUNT] = {
	[FZX_READ] = 2, [FZX_WRITE] = 5, [FZX_MKDIR] = 3, [FZX_RM] = 5, [FZX_DIRECTORY] = 1,
	[FZX_GET_PERMS] = 1, [FZX_SET_PERMS] = 4, [FZX_WATCH] = 4, [FZX_UNWATCH] = 1,
	[FZX_TX_START] = 3, [FZX_TX_END] = 3, [FZX_INTRODUCE] = 1, [FZX_RELEASE] = 2,
	[FZX_RESET_WATCHES] = 1, [FZX_DIRECTORY_PART] = 1, [FZX_DOMAIN] = 1, [FZX_SET_TARGET] = 1,
	[FZX_CONTROL] = 1, [FZX_BULK] = 3, [FZX_RECONNECT] = 1, [FZX_RAW] = 1,
};

static enum fzx_op_kind fzx_pick_kind(struct fzx_rng *r)
{
	unsigned total = 0, x;

	for (unsigned k = 0; k < FZX_OP_COUNT; k++)
		total += fzx_kind_weight[k];
	x = fzx_rand(r, total);
	for (unsigned k = 0; k < FZX_OP_COUNT; k++) {
		if (x < fzx_kind_weight[k])
			return (enum fzx_op_kind)k;
		x -= fzx_kind_weight[k];
	}
	return FZX_READ;
}

/* A new op in buf: any kind, connection, maybe in a transaction. */
static size_t fzx_new_op(uint8_t *buf, uint8_t *data, const struct fzx_ops_scan *s, struct fzx_rng *r)
{
	enum fzx_op_kind k = fzx_pick_kind(r);
	size_t at = 1, n;

	for (unsigned i = 0; i < FZX_NEW_OP_MAX; i++)
		buf[i] = (uint8_t)fzx_rand(r, 256);
	buf[0] = (uint8_t)(k | fzx_rand(r, 4) << FZX_OP_CONN_SHIFT | (fzx_rand(r, 4) ? 0 : FZX_OP_TX));
	if (buf[0] & FZX_OP_TX)
		buf[at++] = (uint8_t)fzx_rand(r, 4);
	if (fzx_kind_has_path(k))
		buf[at++] = fzx_pick_path(data, s, r);
	if (k == FZX_RAW)
		buf[at + 1] = (uint8_t)(buf[at + 1] % FZX_RAW_NEW_MAX);
	n = fzx_op_len(buf, FZX_NEW_OP_MAX);
	return n;
}

/* out = data with [cut_from, cut_to) replaced by ins (len); false if over max. */
static bool fzx_splice(uint8_t *data, size_t *size, size_t max, size_t cut_from, size_t cut_to,
		       const uint8_t *ins, size_t len)
{
	size_t tail = *size - cut_to;

	if (cut_from + len + tail > max)
		return false;
	memmove(data + cut_from + len, data + cut_to, tail);
	memcpy(data + cut_from, ins, len);
	*size = cut_from + len + tail;
	return true;
}

/* Kinds with the same argument layout, one may stand for another. */
static enum fzx_op_kind fzx_kind_sibling(enum fzx_op_kind k, struct fzx_rng *r)
{
	static const enum fzx_op_kind path_only[] = {FZX_READ, FZX_MKDIR, FZX_RM, FZX_DIRECTORY,
						     FZX_GET_PERMS};

	for (unsigned i = 0; i < sizeof(path_only) / sizeof(path_only[0]); i++)
		if (path_only[i] == k)
			return path_only[fzx_rand(r, 5)];
	switch (k) {
	case FZX_WATCH: return FZX_UNWATCH;
	case FZX_UNWATCH: return FZX_WATCH;
	case FZX_INTRODUCE: return FZX_RELEASE;
	case FZX_RELEASE: return FZX_INTRODUCE;
	case FZX_TX_START: return FZX_RESET_WATCHES;
	default: return k;
	}
}

/* One op-level change of an ops-mode input; 0: none made. */
static size_t fzx_mutate_op(uint8_t *data, size_t size, size_t max, struct fzx_rng *rng)
{
	static struct fzx_ops_scan s;
	struct fzx_rng r = *rng;
	uint8_t op[FZX_NEW_OP_MAX + 1], *p;
	unsigned i, j;
	size_t len;

	fzx_ops_scan(data, size, &s);
	i = fzx_rand(&r, s.n ? s.n : 1);
	j = fzx_rand(&r, s.n + 1);
	*rng = r;
	switch (s.n ? fzx_rand(rng, 10) : 0) {
	case 0:   /* insert a new op */
		len = fzx_new_op(op, data, &s, rng);
		return fzx_splice(data, &size, max, s.off[j], s.off[j], op, len) ? size : 0;
	case 1:   /* delete */
		return fzx_splice(data, &size, max, s.off[i], s.off[i + 1], op, 0) ? size : 0;
	case 2:   /* op i again before op j, maybe of a sibling kind or on another connection */
		len = s.off[i + 1] - s.off[i];
		if (len > FZX_NEW_OP_MAX)
			return 0;
		memcpy(op, data + s.off[i], len);
		if (fzx_rand(rng, 2))
			op[0] = (uint8_t)((op[0] & ~FZX_OP_KIND_MASK) | fzx_kind_sibling(fzx_op_kind(op[0]), rng));
		if (fzx_rand(rng, 2))
			op[0] = (uint8_t)((op[0] & ~(3u << FZX_OP_CONN_SHIFT)) | fzx_rand(rng, 4) << FZX_OP_CONN_SHIFT);
		return fzx_splice(data, &size, max, s.off[j], s.off[j], op, len) ? size : 0;
	case 3:   /* replace by a new op */
		len = fzx_new_op(op, data, &s, rng);
		return fzx_splice(data, &size, max, s.off[i], s.off[i + 1], op, len) ? size : 0;
	case 4:   /* swap op i with the next */
		if (i + 1 >= s.n || s.off[i + 2] - s.off[i + 1] > FZX_NEW_OP_MAX)
			return 0;
		len = s.off[i + 2] - s.off[i + 1];
		memcpy(op, data + s.off[i + 1], len);
		return fzx_splice(data, &size, max, s.off[i + 1], s.off[i + 2], op, 0) &&
		       fzx_splice(data, &size, max, s.off[i], s.off[i], op, len) ? size : 0;
	case 5:   /* another connection */
		data[s.off[i]] = (uint8_t)((data[s.off[i]] & ~(3u << FZX_OP_CONN_SHIFT)) |
					   fzx_rand(rng, 4) << FZX_OP_CONN_SHIFT);
		return size;
	case 6:   /* into or out of a transaction (the slot byte comes or goes) */
		op[0] = (uint8_t)fzx_rand(rng, 4);
		if (data[s.off[i]] & FZX_OP_TX) {
			if (s.off[i] + 2 > s.off[i + 1] ||
			    !fzx_splice(data, &size, max, s.off[i] + 1, s.off[i] + 2, op, 0))
				return 0;
		} else if (!fzx_splice(data, &size, max, s.off[i] + 1, s.off[i] + 1, op, 1)) {
			return 0;
		}
		data[s.off[i]] ^= FZX_OP_TX;
		return size;
	case 7:   /* a path another op uses */
		p = fzx_op_path(data, &s, i);
		if (!p)
			return 0;
		*p = fzx_pick_path(data, &s, rng);
		return size;
	case 9:   /* a flood: op i again and again, each time on another path of its base */
		len = s.off[i + 1] - s.off[i];
		if (len > FZX_NEW_OP_MAX)
			return 0;
		memcpy(op, data + s.off[i], len);
		p = fzx_op_path(data, &s, i);
		for (unsigned k = 2 + fzx_rand(rng, FZX_FLOOD_MAX - 1); k; k--) {
			if (p)
				op[p - (data + s.off[i])] = (uint8_t)((*p & 7) | fzx_rand(rng, 32) << 3);
			if (!fzx_splice(data, &size, max, s.off[i + 1], s.off[i + 1], op, len))
				break;
		}
		return size;
	default:  /* a kind of the same layout */
		data[s.off[i]] = (uint8_t)((data[s.off[i]] & ~FZX_OP_KIND_MASK) |
					   fzx_kind_sibling(fzx_op_kind(data[s.off[i]]), rng));
		return size;
	}
}

/* One to three op-level changes; 0: none made (the caller then mutates
 * bytes). */
static size_t fzx_mutate_ops(uint8_t *data, size_t size, size_t max, unsigned seed)
{
	struct fzx_rng r = {.s = seed * 2654435761u + 1};
	unsigned n = 1 + fzx_rand(&r, 3);
	size_t done = 0, now;

	for (unsigned i = 0; i < n; i++) {
		now = fzx_mutate_op(data, done ? done : size, max, &r);
		done = now ? now : done;
	}
	return done;
}

#endif
