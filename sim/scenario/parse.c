/*
 * The scenario parser: one command per line, `#` comments, "quoted strings";
 * one table of commands (designated initializers, like xenstored's message
 * table) with the number of arguments each takes and its handler. Every error
 * is "file:line: message" naming the token at fault. Names (domains) must be
 * declared before use; counters named by triggers are resolved at the end of
 * the file, so that a trigger may name a workload declared further down.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "sim/scenario/scn_internal.h"

_Static_assert(SCN_DOMAINS_MAX <= 32, "SCN_P_DOMAINS keeps a 32-bit mask");
_Static_assert(SCN_TOKENS_MAX * 2 <= SCN_LINE_BYTES_MAX, "tokens fit in the line buffer");
_Static_assert(SCN_NAME_MAX <= SIM_DOMAIN_NAME_MAX, "a scenario name is a valid domain name");

int scn_perr(struct scn_parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->err_len, "%s:%u: ", p->file, p->line);

	if (n < 0 || (size_t)n >= p->err_len)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->err_len - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- tokens ---- */

static int tok_quoted(const char **pp, char **out, const char **why)
{
	const char *p = *pp + 1;
	char *o = *out;

	while (*p && *p != '"') {
		if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
		*o++ = *p++;
	}
	if (*p != '"') {
		*why = "unterminated \"string\"";
		return -EINVAL;
	}
	*pp = p + 1;
	*out = o;
	return 0;
}

int scn_tokenize(const char *line, struct scn_tokens *t, const char **why)
{
	const char *p = line;
	char *o = t->buf;

	t->n = 0;
	*why = "";
	if (strlen(line) >= SCN_LINE_BYTES_MAX) {
		*why = "line too long";
		return -EINVAL;
	}
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p || *p == '#')
			return 0;
		if (t->n == SCN_TOKENS_MAX) {
			*why = "too many words on one line";
			return -EINVAL;
		}
		t->v[t->n++] = o;
		if (*p == '"') {
			if (tok_quoted(&p, &o, why) < 0)
				return -EINVAL;
		} else {
			while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '#')
				*o++ = *p++;
		}
		*o++ = '\0';
	}
}

/* ---- names ---- */

static bool name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= SCN_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

int scn_domain_index(struct scn_parser *p, const char *name, unsigned *out)
{
	char known[256] = "";
	size_t k = 0;

	for (unsigned i = 0; i < p->s->ndoms; i++) {
		if (strcmp(p->s->doms[i].name, name) == 0) {
			*out = i;
			return 0;
		}
		k += (size_t)snprintf(known + k, k < sizeof(known) ? sizeof(known) - k : 0, "%s%s",
				      i ? ", " : "", p->s->doms[i].name);
	}
	return scn_perr(p, "undefined domain '%s' (declared so far: %s)", name,
			p->s->ndoms ? known : "none");
}

/* ---- commands ---- */

enum scn_cmd_id {
	SCN_CMD_SEED,
	SCN_CMD_MODE,
	SCN_CMD_POLICY,
	SCN_CMD_CATEGORY,
	SCN_CMD_DESCRIBE,
	SCN_CMD_DOMAIN,
	SCN_CMD_QUOTA,
	SCN_CMD_WORKLOAD,
	SCN_CMD_FAULT,
	SCN_CMD_AT,
	SCN_CMD_AFTER,
	SCN_CMD_WHEN,
	SCN_CMD_EXPECT,
	SCN_CMD_ALLOW,
	SCN_CMD_WITHIN,
	SCN_CMD_MAX_STEPS,
	SCN_CMD_SLICE_STEPS,
	SCN_CMD_ACCESS,
	SCN_CMD_PLUGIN,
	SCN_CMD_COUNT
};

struct scn_cmd {
	const char *name;
	const char *usage;
	unsigned args_min, args_max;      /* after the command word */
	int (*parse)(struct scn_parser *p, char **v, unsigned n);
};

static int cmd_seed(struct scn_parser *p, char **v, unsigned n)
{
	(void)n;
	if (scn_parse_uint(v[1], &p->s->seed) < 0)
		return scn_perr(p, "seed: bad number '%s'", v[1]);
	p->s->seed_set = true;
	return 0;
}

static int cmd_mode(struct scn_parser *p, char **v, unsigned n)
{
	(void)n;
	if (p->seen_mode)
		return scn_perr(p, "mode given twice");
	p->seen_mode = true;
	if (strcmp(v[1], "det") == 0)
		p->s->mode = SIM_MODE_DET;
	else if (strcmp(v[1], "free") == 0)
		p->s->mode = SIM_MODE_FREE;
	else
		return scn_perr(p, "mode: '%s' is neither det nor free", v[1]);
	return 0;
}

/* "random" or "pct:D"; shared with the command line. */
int scn_parse_policy(const char *s, enum sim_policy *policy, unsigned *depth)
{
	uint64_t d;

	if (strcmp(s, "random") == 0) {
		*policy = SIM_POLICY_RANDOM;
		*depth = 0;
		return 0;
	}
	if (strncmp(s, "pct:", 4) != 0 || scn_parse_uint(s + 4, &d) < 0 || d < 1 || d > 16)
		return -EINVAL;
	*policy = SIM_POLICY_PCT;
	*depth = (unsigned)d;
	return 0;
}

static int cmd_policy(struct scn_parser *p, char **v, unsigned n)
{
	if (p->seen_policy)
		return scn_perr(p, "policy given twice");
	p->seen_policy = true;
	if (scn_parse_policy(v[1], &p->s->policy, &p->s->pct_depth) < 0)
		return scn_perr(p, "policy: '%s' is neither random nor pct:D with D in 1..16", v[1]);
	if (n == 3) {
		if (p->s->policy != SIM_POLICY_PCT || strncmp(v[2], "steps=", 6) != 0 ||
		    scn_parse_uint(v[2] + 6, &p->s->pct_steps) < 0 || p->s->pct_steps == 0)
			return scn_perr(p, "policy: '%s': only pct:D takes steps=N (N > 0)", v[2]);
	}
	return 0;
}

const char *scn_category_name(enum scn_category c)
{
	static const char *const names[SCN_CAT_COUNT] = {
		[SCN_CAT_FUNCTIONAL] = "functional", [SCN_CAT_FAULT] = "fault",
		[SCN_CAT_RACE] = "race", [SCN_CAT_REGRESSION] = "regression",
		[SCN_CAT_INDEV] = "in-development",
	};
	return c < SCN_CAT_COUNT ? names[c] : "?";
}

static int cmd_category(struct scn_parser *p, char **v, unsigned n)
{
	(void)n;
	if (p->seen_category)
		return scn_perr(p, "category given twice");
	p->seen_category = true;
	for (int c = 0; c < SCN_CAT_COUNT; c++) {
		if (strcmp(v[1], scn_category_name((enum scn_category)c)) == 0) {
			p->s->category = (enum scn_category)c;
			return 0;
		}
	}
	return scn_perr(p, "category: '%s' is not one of functional, fault, race, regression, "
			"in-development", v[1]);
}

static int cmd_describe(struct scn_parser *p, char **v, unsigned n)
{
	size_t k = 0;

	/* Once past the end, only count (a pointer past the array is undefined
	 * even when nothing is written through it: found by fuzz_scenario). */
	for (unsigned i = 1; i < n && k < SCN_TEXT_MAX; i++)
		k += (size_t)snprintf(p->s->describe + k, SCN_TEXT_MAX - k, "%s%s", i > 1 ? " " : "",
				      v[i]);
	if (k >= SCN_TEXT_MAX)
		return scn_perr(p, "describe: longer than %u bytes", SCN_TEXT_MAX - 1);
	return 0;
}

static bool domid_taken(const struct scenario *s, int domid)
{
	for (unsigned i = 0; i < s->ndoms; i++)
		if (s->doms[i].domid == domid)
			return true;
	return false;
}

/* Like Xen: a privileged domain takes the lowest free id from 0, others from 1. */
static int domid_pick(const struct scenario *s, bool priv)
{
	int id = priv ? 0 : 1;

	while (domid_taken(s, id))
		id++;
	return id;
}

static int domain_option(struct scn_parser *p, struct scn_domain_decl *d, char **v, unsigned n,
			 unsigned *i)
{
	uint64_t x;

	if (strcmp(v[*i], "priv") == 0) {
		d->priv = true;
		return 0;
	}
	if (*i + 1 >= n)
		return scn_perr(p, "domain %s: '%s' needs a value", d->name, v[*i]);
	(*i)++;
	if (strcmp(v[*i - 1], "mem") == 0) {
		if (scn_parse_size(v[*i], &d->mem_bytes) < 0 || d->mem_bytes % SIM_PAGE_SIZE ||
		    d->mem_bytes == 0 || d->mem_bytes > SIM_DOMAIN_MEM_BYTES_MAX)
			return scn_perr(p, "domain %s: mem '%s' is not a size in whole pages up to 4G",
					d->name, v[*i]);
		return 0;
	}
	if (strcmp(v[*i - 1], "id") == 0) {
		if (scn_parse_uint(v[*i], &x) < 0 || x >= SIM_DOMID_LIMIT)
			return scn_perr(p, "domain %s: id '%s' is not a domid below %u", d->name,
					v[*i], SIM_DOMID_LIMIT);
		if (domid_taken(p->s, (int)x))
			return scn_perr(p, "domain %s: id %lu is taken", d->name, x);
		d->domid = (int)x;
		return 0;
	}
	return scn_perr(p, "domain %s: unknown option '%s' (priv, mem SIZE, id N, exec CMD)", d->name,
			v[*i - 1]);
}

static int cmd_domain(struct scn_parser *p, char **v, unsigned n)
{
	if (p->s->ndoms == SCN_DOMAINS_MAX)
		return scn_perr(p, "more than %u domains", SCN_DOMAINS_MAX);
	if (!name_valid(v[1]))
		return scn_perr(p, "domain: '%s' is not a name (letters, digits, - and _, < %u bytes)",
				v[1], SCN_NAME_MAX);
	for (unsigned i = 0; i < p->s->ndoms; i++)
		if (strcmp(p->s->doms[i].name, v[1]) == 0)
			return scn_perr(p, "domain '%s' declared twice (first on line %u)", v[1],
					p->s->doms[i].line);
	struct scn_domain_decl d = {.line = p->line, .domid = -1};
	snprintf(d.name, sizeof(d.name), "%s", v[1]);
	unsigned i = 2;
	for (; i < n && strcmp(v[i], "exec") != 0; i++)
		if (domain_option(p, &d, v, n, &i) < 0)
			return -EINVAL;
	if (d.domid < 0)
		d.domid = domid_pick(p->s, d.priv);
	p->s->doms[p->s->ndoms++] = d;
	/* `exec "COMMAND ARGS" [KEY=VALUE]...`: the domain is that program
	 * (sim/remote/wl_exec.c), declared as its exec workload. */
	return i < n ? scn_domain_exec(p, d.name, v + i + 1, n - i - 1) : 0;
}

/* `quota DOMAIN grants|maptrack N`: the domain's grant-table limits. */
static int cmd_quota_domain(struct scn_parser *p, char **v)
{
	struct scn_quota q = {.line = p->line};
	unsigned dom;
	uint64_t x;

	if (scn_domain_index(p, v[1], &dom) < 0)
		return -EINVAL;
	if (strcmp(v[2], "grants") != 0 && strcmp(v[2], "maptrack") != 0)
		return scn_perr(p, "quota %s: unknown domain quota '%s' (grants N, maptrack N)", v[1],
				v[2]);
	if (scn_parse_uint(v[3], &x) < 0 || x == 0 || x > UINT32_MAX)
		return scn_perr(p, "quota %s %s: '%s' is not a count above 0", v[1], v[2], v[3]);
	if (p->s->nquotas == SCN_QUOTAS_MAX)
		return scn_perr(p, "more than %u quota lines", SCN_QUOTAS_MAX);
	snprintf(q.name, sizeof(q.name), "%s", v[2]);
	q.dom = (int)dom;
	q.value = (unsigned)x;
	p->s->quotas[p->s->nquotas++] = q;
	return 0;
}

static int cmd_quota(struct scn_parser *p, char **v, unsigned n)
{
	struct scn_quota q = {.line = p->line, .dom = -1};
	const struct xs_quota *tab = xs_quota_table();
	uint64_t x;
	bool known = false;

	if (n == 4)
		return cmd_quota_domain(p, v);
	for (unsigned i = 0; i < XS_QUOTA_COUNT; i++)
		known |= strcmp(tab[i].name, v[1]) == 0;
	if (!known)
		return scn_perr(p, "quota: unknown xenstore quota '%s' (nodes, watches, "
				"transactions, value_bytes, perms, events)", v[1]);
	if (scn_parse_uint(v[2], &x) < 0 || x > UINT32_MAX)
		return scn_perr(p, "quota %s: bad number '%s'", v[1], v[2]);
	if (p->s->nquotas == SCN_QUOTAS_MAX)
		return scn_perr(p, "more than %u quota lines", SCN_QUOTAS_MAX);
	snprintf(q.name, sizeof(q.name), "%s", v[1]);
	q.value = (unsigned)x;
	p->s->quotas[p->s->nquotas++] = q;
	return 0;
}

static int cmd_workload(struct scn_parser *p, char **v, unsigned n)
{
	return scn_parse_workload(p, v, n);
}

static int cmd_expect(struct scn_parser *p, char **v, unsigned n)
{
	struct scenario *s = p->s;

	if (strcmp(v[1], "fault") == 0) {
		if (n != 3)
			return scn_perr(p, "usage: expect fault SITE");
		struct sim_fault_site *site = sim_fault_site_find(v[2]);
		if (!site)
			return scn_perr(p, "expect fault: unknown fault site '%s' (see `xensim faults`)",
					v[2]);
		if (s->nexpect_faults == SCN_EXPECT_FAULTS_MAX)
			return scn_perr(p, "more than %u `expect fault` lines", SCN_EXPECT_FAULTS_MAX);
		s->expect_faults[s->nexpect_faults++] = site;
		return 0;
	}
	if (strcmp(v[1], "fired") == 0 && n == 2) {
		s->expect_fired = true;
		return 0;
	}
	if (n == 4)
		return scn_parse_expect_counter(p, v + 1);
	if (p->seen_expect)
		return scn_perr(p, "a second outcome (only one of expect pass | hang | error | fail)");
	p->seen_expect = true;
	if (strcmp(v[1], "pass") == 0 && n == 2)
		s->expect = SCN_EXPECT_PASS;
	else if (strcmp(v[1], "hang") == 0 && n == 2)
		s->expect = SCN_EXPECT_HANG;
	else if (strcmp(v[1], "error") == 0 && n == 3 && v[2][0])
		s->expect = SCN_EXPECT_ERROR;
	else if (strcmp(v[1], "fail") == 0 && n == 3 && v[2][0])
		s->expect = SCN_EXPECT_FAIL;
	else
		return scn_perr(p, "usage: expect pass | hang | error \"TEXT\" | fail \"TEXT\" | "
				"fault SITE | fired | COUNTER OP N");
	if (s->expect == SCN_EXPECT_ERROR || s->expect == SCN_EXPECT_FAIL)
		snprintf(s->expect_text, sizeof(s->expect_text), "%s", v[2]);
	return 0;
}

static int cmd_allow(struct scn_parser *p, char **v, unsigned n)
{
	if (n != 3 || strcmp(v[1], "error") != 0 || !v[2][0])
		return scn_perr(p, "usage: allow error \"TEXT\"");
	if (p->s->nallows == SCN_ALLOWS_MAX)
		return scn_perr(p, "more than %u `allow` lines", SCN_ALLOWS_MAX);
	snprintf(p->s->allows[p->s->nallows++], SCN_TEXT_MAX, "%s", v[2]);
	return 0;
}

static int cmd_within(struct scn_parser *p, char **v, unsigned n)
{
	(void)n;
	if (scn_parse_time(v[1], &p->s->within_ns) < 0 || p->s->within_ns == 0)
		return scn_perr(p, "within: '%s' is not a time with a unit (10ms, 2s)", v[1]);
	return 0;
}

static int cmd_max_steps(struct scn_parser *p, char **v, unsigned n)
{
	(void)n;
	if (scn_parse_uint(v[1], &p->s->max_steps) < 0 || p->s->max_steps == 0)
		return scn_perr(p, "max-steps: bad number '%s'", v[1]);
	return 0;
}

static int cmd_slice_steps(struct scn_parser *p, char **v, unsigned n)
{
	uint64_t x;

	(void)n;
	if (scn_parse_uint(v[1], &x) < 0 || x == 0 || x > SCN_SLICE_STEPS_MAX)
		return scn_perr(p, "slice-steps: '%s' is not in 1..%u", v[1], SCN_SLICE_STEPS_MAX);
	p->s->slice_steps = (unsigned)x;
	return 0;
}

/* In a build whose drivers are not instrumented it changes nothing (the run
 * says so): the same file runs in both. */
static int cmd_access(struct scn_parser *p, char **v, unsigned n)
{
	if (strcmp(v[1], "points") != 0 || (n > 2 && strcmp(v[2], "ring") && strcmp(v[2], "all")))
		return scn_perr(p, "access: want 'access points [ring|all]'");
	p->s->access_points = n > 2 && strcmp(v[2], "all") == 0 ? 2 : 1;
	return 0;
}

static int cmd_plugin(struct scn_parser *p, char **v, unsigned n)
{
	(void)n;
	return scn_plugin_load(p, v[1]);
}

int scn_parse_fault(struct scn_parser *p, char **v, unsigned n);
int scn_parse_triggered(struct scn_parser *p, char **v, unsigned n);

static const struct scn_cmd scn_cmds[SCN_CMD_COUNT] = {
	[SCN_CMD_SEED] = {"seed", "seed N", 1, 1, cmd_seed},
	[SCN_CMD_MODE] = {"mode", "mode det|free", 1, 1, cmd_mode},
	[SCN_CMD_POLICY] = {"policy", "policy random|pct:D [steps=N]", 1, 2, cmd_policy},
	[SCN_CMD_CATEGORY] = {"category", "category functional|fault|race|regression|in-development",
			      1, 1, cmd_category},
	[SCN_CMD_DESCRIBE] = {"describe", "describe TEXT...", 1, SCN_TOKENS_MAX, cmd_describe},
	[SCN_CMD_DOMAIN] = {"domain", "domain NAME [priv] [mem SIZE] [id N] [exec \"COMMAND ARGS\" [KEY=VALUE]...]",
			    1, SCN_TOKENS_MAX, cmd_domain},
	[SCN_CMD_QUOTA] = {"quota", "quota NAME VALUE | quota DOMAIN grants|maptrack N", 2, 3,
			   cmd_quota},
	[SCN_CMD_WORKLOAD] = {"workload", "workload TYPE [id=NAME] [KEY=VALUE]...", 1,
			      SCN_TOKENS_MAX, cmd_workload},
	[SCN_CMD_FAULT] = {"fault", "fault SITE TRIGGER [repeat N|forever] [until TIME] [delay TIME] "
			   "[on TARGET...]", 2, SCN_TOKENS_MAX, scn_parse_fault},
	[SCN_CMD_AT] = {"at", "at TIME ACTION...", 2, SCN_TOKENS_MAX, scn_parse_triggered},
	[SCN_CMD_AFTER] = {"after", "after N COUNTER ACTION...", 3, SCN_TOKENS_MAX,
			   scn_parse_triggered},
	[SCN_CMD_WHEN] = {"when", "when LHS OP VALUE ACTION...", 4, SCN_TOKENS_MAX,
			  scn_parse_triggered},
	[SCN_CMD_EXPECT] = {"expect", "expect pass|hang|error \"TEXT\"|fail \"TEXT\"|fault SITE|COUNTER OP N", 1, 3,
			    cmd_expect},
	[SCN_CMD_ALLOW] = {"allow", "allow error \"TEXT\"", 2, 2, cmd_allow},
	[SCN_CMD_WITHIN] = {"within", "within TIME", 1, 1, cmd_within},
	[SCN_CMD_MAX_STEPS] = {"max-steps", "max-steps N", 1, 1, cmd_max_steps},
	[SCN_CMD_SLICE_STEPS] = {"slice-steps", "slice-steps N", 1, 1, cmd_slice_steps},
	[SCN_CMD_ACCESS] = {"access", "access points [ring|all]", 1, 2, cmd_access},
	[SCN_CMD_PLUGIN] = {"plugin", "plugin PATH (a shared object; relative to this file)", 1, 1,
			    cmd_plugin},
};

static int parse_line(struct scn_parser *p, const char *text)
{
	struct scn_tokens t;
	const char *why;

	if (scn_tokenize(text, &t, &why) < 0)
		return scn_perr(p, "%s", why);
	if (t.n == 0)
		return 0;
	for (unsigned c = 0; c < SCN_CMD_COUNT; c++) {
		const struct scn_cmd *cmd = &scn_cmds[c];
		if (strcmp(t.v[0], cmd->name) != 0)
			continue;
		if (t.n - 1 < cmd->args_min || t.n - 1 > cmd->args_max)
			return scn_perr(p, "%s: wrong number of arguments (usage: %s)", cmd->name,
					cmd->usage);
		return cmd->parse(p, t.v, t.n);
	}
	return scn_perr(p, "unknown command '%s' (commands: seed mode policy category describe "
			"domain quota workload fault at after when expect allow within max-steps "
			"slice-steps plugin)", t.v[0]);
}

/* ---- files ---- */

static void scn_defaults(struct scenario *s)
{
	s->mode = SIM_MODE_DET;
	s->policy = SIM_POLICY_RANDOM;
	s->category = SCN_CAT_FUNCTIONAL;
	s->expect = SCN_EXPECT_PASS;
	s->within_ns = SCN_WITHIN_NS_DEFAULT;
	s->max_steps = SCN_MAX_STEPS_DEFAULT;
	s->slice_steps = SCN_SLICE_STEPS_DEFAULT;
	s->seed = 1;
	s->nemesis_action = -1;
}

/* Split text into physical lines kept in s->lines. */
static int scn_split_lines(struct scenario *s, const char *text, struct scn_parser *p)
{
	const char *q = text;

	while (*q) {
		const char *e = strchr(q, '\n');
		size_t len = e ? (size_t)(e - q) : strlen(q);
		p->line = s->nlines + 1;
		if (s->nlines == SCN_LINES_MAX)
			return scn_perr(p, "more than %u lines", SCN_LINES_MAX);
		if (len >= SCN_LINE_BYTES_MAX)
			return scn_perr(p, "line longer than %u bytes", SCN_LINE_BYTES_MAX - 1);
		s->lines[s->nlines] = strndup(q, len);
		if (!s->lines[s->nlines])
			return -ENOMEM;
		s->nlines++;
		q += len + (e ? 1 : 0);
	}
	return 0;
}

static int scn_check_whole(struct scn_parser *p)
{
	struct scenario *s = p->s;

	p->line = s->nlines ? s->nlines : 1;
	if (s->ndoms == 0)
		return scn_perr(p, "no domain declared (at least: domain NAME)");
	if (s->nwls == 0)
		return scn_perr(p, "no workload: nothing would run (workload TYPE ...)");
	return scn_resolve_counters(p);
}

int scn_parse_text(const char *name, const char *text, struct scenario **out, char *err,
		   size_t err_len)
{
	struct scenario *s = calloc(1, sizeof(*s));
	struct scn_parser p = {.s = s, .file = name, .err = err, .err_len = err_len};
	int rc = 0;

	if (err_len)
		err[0] = '\0';
	if (s)
		s->lines = calloc(SCN_LINES_MAX, sizeof(char *));
	if (!s || !s->lines) {
		snprintf(err, err_len, "%s: out of memory", name);
		scn_free(s);
		return -ENOMEM;
	}
	snprintf(s->path, sizeof(s->path), "%s", name);
	scn_defaults(s);
	scn_plugins_parse_begin();
	rc = scn_split_lines(s, text, &p);
	for (unsigned i = 0; rc == 0 && i < s->nlines; i++) {
		p.line = i + 1;
		rc = parse_line(&p, s->lines[i]);
	}
	if (rc == 0)
		rc = scn_check_whole(&p);
	if (rc < 0) {
		scn_free(s);
		s = NULL;
	}
	*out = s;
	return rc;
}

int scn_parse_file(const char *path, struct scenario **out, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0;
	int rc;

	*out = NULL;
	if (!f) {
		rc = -errno;
		snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
		return rc;
	}
	ssize_t n = getdelim(&text, &cap, '\0', f);
	bool nul = n > 0 && text[n - 1] == '\0';   /* getdelim stopped at a NUL, not at the end */
	bool bad = ferror(f) || (n < 0 && !feof(f));
	fclose(f);
	if (bad || (n < 0 && !text)) {
		snprintf(err, err_len, "%s: cannot read", path);
		free(text);
		return -EIO;
	}
	if (nul) {
		/* A NUL would silently end the text here and hide every later line. */
		unsigned line = 1;
		for (ssize_t i = 0; i < n - 1; i++)
			line += text[i] == '\n';
		snprintf(err, err_len, "%s:%u: a NUL byte in the file (binary data?)", path, line);
		free(text);
		return -EINVAL;
	}
	rc = scn_parse_text(path, n < 0 ? "" : text, out, err, err_len);
	free(text);
	return rc;
}

void scn_free(struct scenario *s)
{
	if (!s)
		return;
	for (unsigned i = 0; s->lines && i < s->nlines; i++)
		free(s->lines[i]);
	free(s->lines);
	free(s);
}

struct scenario *scn_dup(const struct scenario *s)
{
	struct scenario *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	*d = *s;
	d->lines = calloc(SCN_LINES_MAX, sizeof(char *));
	for (unsigned i = 0; d->lines && i < s->nlines; i++) {
		d->lines[i] = strdup(s->lines[i]);
		if (!d->lines[i]) {
			d->nlines = i;
			scn_free(d);
			return NULL;
		}
	}
	if (!d->lines) {
		free(d);
		return NULL;
	}
	return d;
}

int scn_add_nemesis(struct scenario *s, const char *line, char *err, size_t err_len)
{
	struct scn_parser p = {.s = s, .file = "--nemesis", .line = s->nlines + 1, .err = err,
			       .err_len = err_len};
	struct scn_tokens t;
	const char *why;
	unsigned before = s->nactions;

	if (s->nemesis_action >= 0)
		return scn_perr(&p, "one nemesis per run");
	if (scn_tokenize(line, &t, &why) < 0)
		return scn_perr(&p, "%s", why);
	if (t.n == 0 || (strcmp(t.v[0], "at") && strcmp(t.v[0], "after") && strcmp(t.v[0], "when")))
		return scn_perr(&p, "'%s' is not a timed action (at TIME ACTION | after N COUNTER "
				"ACTION | when LHS OP VALUE ACTION)", line);
	int rc = parse_line(&p, line);
	if (rc == 0)
		rc = scn_resolve_counters(&p);
	if (rc < 0) {
		s->nactions = before;
		return rc;
	}
	s->nemesis_action = (int)before;
	snprintf(s->nemesis, sizeof(s->nemesis), "%s", line);
	/* A nemesis may leave a driver waiting out its own bounded wait for a
	 * backend that stays gone (30 s) before it ends in a clean error: the
	 * liveness bound must leave room for that (virtual time costs nothing). */
	if (s->within_ns < SCN_NEMESIS_WITHIN_NS_MIN)
		s->within_ns = SCN_NEMESIS_WITHIN_NS_MIN;
	return 0;
}

const char *scn_path(const struct scenario *s)
{
	return s->path;
}

enum scn_category scn_category(const struct scenario *s)
{
	return s->category;
}

const char *scn_description(const struct scenario *s)
{
	return s->describe;
}

enum scn_expect scn_expectation(const struct scenario *s)
{
	return s->expect;
}

bool scn_seed_pinned(const struct scenario *s, uint64_t *seed)
{
	if (s->seed_set && seed)
		*seed = s->seed;
	return s->seed_set;
}
