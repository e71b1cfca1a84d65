/*
 * Findings and the attack surface in words: code locations symbolized with
 * addr2line on the running executable (only when a report is written, never
 * on the access path), grouped by source file.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/access/access_internal.h"

#define ACC_SYM_BATCH 64u   /* addresses per addr2line process */

/* The address addr2line wants: relative to the load base for a PIE. */
static uintptr_t acc_file_addr(const void *pc, const char **file)
{
	Dl_info di;
	uintptr_t a = (uintptr_t)pc - 1;   /* inside the call, not after it */

	if (!dladdr(pc, &di) || !di.dli_fname || !di.dli_fbase) {
		*file = "/proc/self/exe";
		return a;
	}
	*file = di.dli_fname[0] ? di.dli_fname : "/proc/self/exe";
	const Elf64_Ehdr *eh = di.dli_fbase;
	return eh->e_type == ET_DYN ? a - (uintptr_t)di.dli_fbase : a;
}

/* "/work/x/drivers/blk/blkback_io.c:245 (discriminator 3)" -> "drivers/blk/blkback_io.c:245" */
static const char *acc_short_path(char *line)
{
	static const char *const roots[] = {"/drivers/", "/sim/", "/tests/", "/tools/", "/examples/"};
	const char *p = line;

	line[strcspn(line, " \n")] = '\0';
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		const char *q = strstr(line, roots[i]);
		if (q && (p == line || q < p))
			p = q + 1;
	}
	return p;
}

static void acc_symbolize_batch(const void *const *pcs, unsigned n, char (*out)[SIM_ACCESS_LOC_MAX])
{
	const char *file = NULL;
	char cmd[64 + ACC_SYM_BATCH * 24 + 4096];
	size_t k = 0;

	for (unsigned i = 0; i < n; i++) {
		const char *f;
		uintptr_t a = acc_file_addr(pcs[i], &f);
		if (!file) {
			file = f;
			k = (size_t)snprintf(cmd, sizeof(cmd), "addr2line -f -e '%s'", file);
		}
		k += (size_t)snprintf(cmd + k, sizeof(cmd) - k, " 0x%lx", (unsigned long)a);
		snprintf(out[i], SIM_ACCESS_LOC_MAX, "%p", pcs[i]);
	}
	FILE *p = n ? popen(cmd, "r") : NULL;
	char fn[256], at[1024];
	for (unsigned i = 0; p && i < n && fgets(fn, sizeof(fn), p) && fgets(at, sizeof(at), p); i++) {
		fn[strcspn(fn, "\n")] = '\0';
		if (strcmp(fn, "??") != 0)
			snprintf(out[i], SIM_ACCESS_LOC_MAX, "%.64s %.90s", fn, acc_short_path(at));
	}
	if (p)
		pclose(p);
}

void acc_symbolize(const void *const *pcs, unsigned n, char (*out)[SIM_ACCESS_LOC_MAX])
{
	for (unsigned i = 0; i < n; i += ACC_SYM_BATCH)
		acc_symbolize_batch(pcs + i, n - i < ACC_SYM_BATCH ? n - i : ACC_SYM_BATCH, out + i);
}

int sim_access_finding_text(unsigned i, char *buf, size_t len)
{
	pthread_mutex_lock(&acc_lock);
	unsigned n;
	const struct acc_finding *fs = acc_findings(&n);
	struct acc_finding f = i < n ? fs[i] : (struct acc_finding){0};
	pthread_mutex_unlock(&acc_lock);
	if (i >= n)
		return -ENOENT;
	const void *pcs[2] = {f.pc_first, f.pc_again};
	char loc[2][SIM_ACCESS_LOC_MAX];
	acc_symbolize(pcs, 2, loc);
	if (f.jumped)
		snprintf(buf, len, "index used unchecked: domain %u read the producer index at offset %u of "
			 "grant ref %u of domain %u again at %s, moved there from %u to %u as a hostile peer "
			 "could, then read the ring's slots at %s: a value past the ring must stop it",
			 f.dom, f.offset, f.ref, f.grantor, loc[0], f.was, f.was + ACC_JUMP_BY, loc[1]);
	else
		snprintf(buf, len, "double fetch: domain %u read grant ref %u of domain %u offset 0x%x "
			 "(%u bytes) twice between two pushes: first at %s, again at %s", f.dom, f.ref,
			 f.grantor, f.offset, f.len, loc[0], loc[1]);
	return 0;
}

/* ---- the attack surface ---- */

struct acc_row {
	struct acc_site s;
	char loc[SIM_ACCESS_LOC_MAX];   /* "function file:line" */
	unsigned file;                  /* offset of file:line in loc */
};

#define ACC_FILE(r) ((r)->loc + (r)->file)

static int acc_row_cmp(const void *a, const void *b)
{
	const struct acc_row *x = a, *y = b;
	const char *fx = ACC_FILE(x), *fy = ACC_FILE(y);
	const char *cx = strrchr(fx, ':'), *cy = strrchr(fy, ':');
	size_t lx = cx ? (size_t)(cx - fx) : strlen(fx), ly = cy ? (size_t)(cy - fy) : strlen(fy);
	int c = strncmp(fx, fy, lx < ly ? lx : ly);

	if (c == 0 && lx != ly)
		c = lx < ly ? -1 : 1;
	if (c == 0 && cx && cy)   /* by line number, then by function */
		c = atoi(cx + 1) - atoi(cy + 1);
	return c ? c : strcmp(x->loc, y->loc);
}

static void acc_sizes_str(uint32_t sizes, char *buf, size_t len)
{
	size_t k = 0;

	buf[0] = '\0';
	for (unsigned b = 0; b < 31 && k < len; b++)
		if (sizes & (1u << b))
			k += (size_t)snprintf(buf + k, len - k, "%s%u", k ? "," : "", 1u << b);
	if ((sizes & (1u << 31)) && k < len)
		snprintf(buf + k, len - k, "%sother", k ? "," : "");
}

static const char *acc_kinds_str(uint8_t kinds)
{
	static const char *const s[] = {"", "grant", "shared", "grant+shared"};
	return s[kinds & 3];
}

/* One row per source line: a ring macro expands to several accesses there. */
static unsigned acc_rows_merge(struct acc_row *rows, unsigned n)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		struct acc_row *last = k ? &rows[k - 1] : NULL;
		if (last && strcmp(last->loc, rows[i].loc) == 0) {
			last->s.reads += rows[i].s.reads;
			last->s.writes += rows[i].s.writes;
			last->s.sizes |= rows[i].s.sizes;
			last->s.kinds |= rows[i].s.kinds;
			continue;
		}
		rows[k++] = rows[i];
	}
	return k;
}

static struct acc_row *acc_rows(unsigned *n)
{
	pthread_mutex_lock(&acc_lock);
	const struct acc_site *sites = acc_sites(n);
	struct acc_row *rows = calloc(*n ? *n : 1, sizeof(*rows));
	const void **pcs = calloc(*n ? *n : 1, sizeof(*pcs));
	for (unsigned i = 0; rows && pcs && i < *n; i++) {
		rows[i].s = sites[i];
		pcs[i] = sites[i].pc;
	}
	pthread_mutex_unlock(&acc_lock);
	if (!rows || !pcs) {
		free(rows);
		free(pcs);
		return NULL;
	}
	char (*loc)[SIM_ACCESS_LOC_MAX] = calloc(*n ? *n : 1, sizeof(*loc));
	if (loc)
		acc_symbolize(pcs, *n, loc);
	for (unsigned i = 0; i < *n; i++) {
		snprintf(rows[i].loc, sizeof(rows[i].loc), "%s", loc ? loc[i] : "?");
		const char *sp = strchr(rows[i].loc, ' ');
		rows[i].file = sp ? (unsigned)(sp + 1 - rows[i].loc) : 0;
	}
	free(loc);
	free(pcs);
	qsort(rows, *n, sizeof(*rows), acc_row_cmp);
	*n = acc_rows_merge(rows, *n);
	return rows;
}

/* "drivers/blk/blkback_io.c:245" -> length of "drivers/blk/blkback_io.c" */
static int acc_file_len(const char *file)
{
	const char *c = strrchr(file, ':');
	return c ? (int)(c - file) : (int)strlen(file);
}

static void acc_write_text(FILE *f, const struct acc_row *rows, unsigned n)
{
	char sz[64];

	fprintf(f, "# xensim attack surface: %u source lines read or wrote shared memory\n"
		"# (live grant mappings and the sharer's own view of its grants)\n"
		"# reads writes sizes(bytes) mapping domain  function file:line\n", n);
	for (unsigned i = 0; i < n; i++) {
		const struct acc_row *r = &rows[i];
		int fl = acc_file_len(ACC_FILE(r));
		if (i == 0 || acc_file_len(ACC_FILE(&rows[i - 1])) != fl ||
		    strncmp(ACC_FILE(&rows[i - 1]), ACC_FILE(r), (size_t)fl) != 0)
			fprintf(f, "\n%.*s\n", fl, ACC_FILE(r));
		acc_sizes_str(r->s.sizes, sz, sizeof(sz));
		fprintf(f, "  %8lu %6lu  %-12s %-12s %5u  %s\n", r->s.reads, r->s.writes, sz,
			acc_kinds_str(r->s.kinds), r->s.dom, r->loc);
	}
}

static void acc_write_json(FILE *f, const struct acc_row *rows, unsigned n)
{
	char sz[64];

	fprintf(f, "{\"sites\": [");
	for (unsigned i = 0; i < n; i++) {
		const struct acc_row *r = &rows[i];
		int fn = (int)r->file - 1;
		acc_sizes_str(r->s.sizes, sz, sizeof(sz));
		fprintf(f, "%s\n  {\"function\": \"%.*s\", \"file\": \"%.*s\", \"at\": \"%s\", "
			"\"reads\": %lu, \"writes\": %lu, \"sizes\": \"%s\", \"mapping\": \"%s\", "
			"\"domain\": %u}", i ? "," : "", fn > 0 ? fn : 0, r->loc, acc_file_len(ACC_FILE(r)),
			ACC_FILE(r), ACC_FILE(r), r->s.reads, r->s.writes, sz, acc_kinds_str(r->s.kinds),
			r->s.dom);
	}
	fprintf(f, "\n], \"reads\": %lu, \"writes\": %lu}\n", sim_access_reads(), sim_access_writes());
}

int sim_access_report_write(const char *path)
{
	unsigned n;
	struct acc_row *rows = acc_rows(&n);
	FILE *f = rows ? fopen(path, "w") : NULL;
	int rc = 0;

	if (!f) {
		rc = rows ? -errno : -ENOMEM;
		free(rows);
		return rc;
	}
	size_t pl = strlen(path);
	if (pl > 5 && strcmp(path + pl - 5, ".json") == 0)
		acc_write_json(f, rows, n);
	else
		acc_write_text(f, rows, n);
	if (fclose(f) != 0)
		rc = -errno;
	free(rows);
	return rc;
}
