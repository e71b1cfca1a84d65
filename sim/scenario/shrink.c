/*
 * Shrink: reduce a failing scenario to a smaller one that fails the same way
 * at the same seed (same outcome, same culprit: the reason up to its first
 * colon). First drop lines, in halving chunks (ddmin's simple form), then
 * lower the plain counts that remain (requests=200, repeat 5, after 40 ...).
 * Every candidate is parsed and run isolated; a candidate that does not parse
 * does not fail. The result pins the seed and says where it came from.
 */
#include <errno.h>
#include <string.h>

#include "sim/scenario/scn_internal.h"

#define SHRINK_RUNS_MAX 2000u
#define SHRINK_VALUE_TRIES 5u

struct shrink {
	const struct scenario *orig;
	uint64_t seed;
	enum scn_outcome outcome;
	char culprit[SCN_MSG_MAX];
	char **lines;                  /* meaningful lines, rewritten as they shrink */
	bool *keep;
	unsigned n;
	unsigned runs;
	char reason[SCN_MSG_MAX];
};

/* What failed, without what a shrink changes: "expected pass, got error: "
 * and "line N: " prefixes go, then the text up to the next colon stays
 * ("xenstore", "hang", "expect ring.responses == 120", "leak at teardown"). */
static void culprit_of(const char *reason, char *out, size_t len)
{
	const char *r = reason, *c;

	if (strncmp(r, "expected ", 9) == 0 && (c = strstr(r, ", got ")) && (c = strchr(c, ':')))
		r = c + 2;
	if (strncmp(r, "line ", 5) == 0 && (c = strchr(r, ':')))
		r = c + 2;
	c = strchr(r, ':');
	snprintf(out, len, "%.*s", c ? (int)(c - r) : (int)strlen(r), r);
}

static char *shrink_text(const struct shrink *sh, int skip_from, int skip_to)
{
	size_t cap = 64;
	char *t;

	for (unsigned i = 0; i < sh->n; i++)
		cap += strlen(sh->lines[i]) + 1;
	t = malloc(cap);
	if (!t)
		return NULL;
	t[0] = '\0';
	for (unsigned i = 0; i < sh->n; i++) {
		if (!sh->keep[i] || ((int)i >= skip_from && (int)i < skip_to))
			continue;
		strcat(t, sh->lines[i]);
		strcat(t, "\n");
	}
	return t;
}

/* Does this text still fail the same way? */
static bool shrink_fails(struct shrink *sh, const char *text, bool remember)
{
	struct scenario *s;
	char err[SCN_ERR_MAX], cul[SCN_MSG_MAX];
	struct scn_run_opts o = {.seed_set = true, .seed = sh->seed, .mode = -1, .policy = -1,
				 .quiet = true};

	if (sh->runs >= SHRINK_RUNS_MAX || scn_parse_text(sh->orig->path, text, &s, err, sizeof(err)) < 0)
		return false;
	struct scn_job job = {.s = s, .o = o, .capture = true};
	sh->runs++;
	bool fails = scn_jobs_run(&job, 1, 1, NULL, NULL) == 0 && job.r.verdict == SCN_VERDICT_FAIL &&
		     job.r.outcome == sh->outcome;
	culprit_of(job.r.reason, cul, sizeof(cul));
	fails = fails && strcmp(cul, sh->culprit) == 0;
	if (fails && remember)
		snprintf(sh->reason, sizeof(sh->reason), "%s", job.r.reason);
	scn_free(s);
	return fails;
}

static bool try_text(struct shrink *sh, int from, int to)
{
	char *t = shrink_text(sh, from, to);
	bool fails = t && shrink_fails(sh, t, true);

	free(t);
	return fails;
}

/* ---- dropping lines ---- */

/* One pass with chunks of `chunk` lines; true if anything went. */
static bool drop_pass(struct shrink *sh, unsigned chunk)
{
	bool dropped = false;

	for (unsigned i = 0; i < sh->n; i += chunk) {
		unsigned live = 0;
		for (unsigned j = i; j < i + chunk && j < sh->n; j++)
			live += sh->keep[j];
		if (live && try_text(sh, (int)i, (int)(i + chunk))) {
			for (unsigned j = i; j < i + chunk && j < sh->n; j++)
				sh->keep[j] = false;
			dropped = true;
		}
	}
	return dropped;
}

/* Halving chunks, then single lines until none can go (a line may become
 * removable once what named it is gone). */
static void drop_lines(struct shrink *sh)
{
	for (unsigned chunk = sh->n / 2; chunk > 1; chunk /= 2)
		drop_pass(sh, chunk);
	while (drop_pass(sh, 1) && sh->runs < SHRINK_RUNS_MAX)
		;
}

/* ---- lowering counts ---- */

static bool is_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Tokens worth lowering: KEY=digits, or digits after repeat/after/quota NAME. */
static const char *count_of(struct scn_tokens *t, unsigned i)
{
	const char *eq = strchr(t->v[i], '=');

	if (eq && is_digits(eq + 1) && strncmp(t->v[i], "id=", 3) != 0)
		return eq + 1;
	if (i == 0 || !is_digits(t->v[i]))
		return NULL;
	const char *prev = t->v[i - 1];
	if (strcmp(prev, "repeat") == 0 || strcmp(prev, "after") == 0 ||
	    (i == 2 && strcmp(t->v[0], "quota") == 0))
		return t->v[i];
	return NULL;
}

static char *rebuild(struct scn_tokens *t, unsigned i, const char *value)
{
	char *out = malloc(SCN_LINE_BYTES_MAX * 2);
	size_t k = 0;

	if (!out)
		return NULL;
	for (unsigned j = 0; j < t->n; j++) {
		char tok[SCN_LINE_BYTES_MAX];
		const char *eq = strchr(t->v[j], '=');
		if (j == i && eq && value)
			snprintf(tok, sizeof(tok), "%.*s=%s", (int)(eq - t->v[j]), t->v[j], value);
		else
			snprintf(tok, sizeof(tok), "%s", j == i && value ? value : t->v[j]);
		bool quote = !tok[0] || strpbrk(tok, " \t#\"");
		k += (size_t)snprintf(out + k, SCN_LINE_BYTES_MAX * 2 - k, "%s%s", j ? " " : "",
				      quote ? "\"" : "");
		for (const char *p = tok; *p && k < SCN_LINE_BYTES_MAX * 2 - 4; p++) {
			if (quote && (*p == '"' || *p == '\\'))
				out[k++] = '\\';
			out[k++] = *p;
		}
		k += (size_t)snprintf(out + k, SCN_LINE_BYTES_MAX * 2 - k, "%s", quote ? "\"" : "");
	}
	out[k] = '\0';
	return out;
}

static bool lower_token(struct shrink *sh, unsigned line, unsigned tok)
{
	struct scn_tokens t;
	const char *why;
	uint64_t v;

	if (scn_tokenize(sh->lines[line], &t, &why) < 0 || tok >= t.n || !count_of(&t, tok))
		return false;
	v = strtoull(count_of(&t, tok), NULL, 10);
	uint64_t tries[SHRINK_VALUE_TRIES] = {0, 1, v / 8, v / 4, v / 2};
	for (unsigned k = 0; k < SHRINK_VALUE_TRIES; k++) {
		if (tries[k] >= v || (k > 0 && tries[k] <= tries[k - 1]))
			continue;
		char val[24];
		snprintf(val, sizeof(val), "%lu", tries[k]);
		char *nl = rebuild(&t, tok, val), *old = sh->lines[line];
		if (!nl)
			return false;
		sh->lines[line] = nl;
		if (try_text(sh, -1, -1)) {
			free(old);
			return true;
		}
		sh->lines[line] = old;
		free(nl);
	}
	return false;
}

static void lower_counts(struct shrink *sh)
{
	for (unsigned i = 0; i < sh->n; i++) {
		struct scn_tokens t;
		const char *why;
		if (!sh->keep[i] || scn_tokenize(sh->lines[i], &t, &why) < 0)
			continue;
		for (unsigned k = 0; k < t.n; k++)
			while (lower_token(sh, i, k))
				;
	}
}

/* ---- the whole ---- */

static int shrink_init(struct shrink *sh, const struct scenario *s)
{
	sh->lines = calloc(s->nlines + 1, sizeof(char *));
	sh->keep = calloc(s->nlines + 1, sizeof(bool));
	if (!sh->lines || !sh->keep)
		return -ENOMEM;
	for (unsigned i = 0; i < s->nlines; i++) {
		struct scn_tokens t;
		const char *why;
		if (scn_tokenize(s->lines[i], &t, &why) < 0 || t.n == 0 || strcmp(t.v[0], "seed") == 0)
			continue;   /* the seed is pinned by the shrink itself */
		sh->lines[sh->n] = rebuild(&t, t.n, NULL);
		if (!sh->lines[sh->n])
			return -ENOMEM;
		sh->keep[sh->n++] = true;
	}
	return 0;
}

static unsigned kept(const struct shrink *sh)
{
	unsigned n = 0;

	for (unsigned i = 0; i < sh->n; i++)
		n += sh->keep[i];
	return n;
}

static int shrink_write(struct shrink *sh, const char *out_path)
{
	FILE *f = fopen(out_path, "w");

	if (!f)
		return -errno;
	fprintf(f, "# Shrunk by `xensim shrink` from %s (seed %lu) in %u runs.\n# It fails with: ",
		sh->orig->path, sh->seed, sh->runs);
	for (const char *p = sh->reason; *p; p++)
		fputc(*p == '\n' ? ' ' : *p, f);
	fprintf(f, "\nseed %lu\n", sh->seed);
	for (unsigned i = 0; i < sh->n; i++)
		if (sh->keep[i])
			fprintf(f, "%s\n", sh->lines[i]);
	return fclose(f) == 0 ? 0 : -EIO;
}

static void shrink_free(struct shrink *sh)
{
	for (unsigned i = 0; sh->lines && i < sh->n; i++)
		free(sh->lines[i]);
	free(sh->lines);
	free(sh->keep);
}

int scn_shrink(const struct scenario *s, uint64_t seed, const char *out_path,
	       struct scn_shrink_stats *st)
{
	struct shrink sh = {.orig = s, .seed = seed};
	struct scn_run_opts o = {.seed_set = true, .seed = seed, .mode = -1, .policy = -1, .quiet = true};
	struct scn_result base;
	int rc = shrink_init(&sh, s);

	memset(st, 0, sizeof(*st));
	if (rc == 0)
		rc = scn_run_isolated(s, &o, &base);
	if (rc == 0 && base.verdict != SCN_VERDICT_FAIL)
		rc = -EINVAL;   /* nothing to keep failing */
	sh.runs++;   /* the baseline */
	if (rc == 0) {
		sh.outcome = base.outcome;
		culprit_of(base.reason, sh.culprit, sizeof(sh.culprit));
		snprintf(sh.reason, sizeof(sh.reason), "%s", base.reason);
		st->lines_before = kept(&sh);
		drop_lines(&sh);
		lower_counts(&sh);
		st->lines_after = kept(&sh);
		rc = shrink_write(&sh, out_path);
	}
	st->runs = sh.runs;
	snprintf(st->reason, sizeof(st->reason), "%s", rc == -EINVAL ? base.reason : sh.reason);
	shrink_free(&sh);
	return rc;
}
