/*
 * The parts of the parser that deal with time and events: fault lines,
 * triggers (at / after / prob / when), the actions a trigger fires (a table
 * like the commands'), counters, and workload parameters checked against the
 * workload's own table.
 */
#include <errno.h>
#include <string.h>

#include "sim/scenario/scn_internal.h"

/* ---- paths ---- */

/* "/abs/path" or "DOMAIN:relative/path" into an absolute xenstore path. */
static int scn_parse_path(struct scn_parser *p, const char *in, char *out, size_t len)
{
	const char *colon = strchr(in, ':');
	unsigned dom;

	if (in[0] == '/') {
		if ((size_t)snprintf(out, len, "%s", in) >= len)
			return scn_perr(p, "path '%s' is too long", in);
		return 0;
	}
	if (!colon || colon == in || !colon[1])
		return scn_perr(p, "'%s' is not a xenstore path (/absolute/path or DOMAIN:relative/path)",
				in);
	char name[SCN_NAME_MAX];
	size_t n = (size_t)(colon - in);
	if (n >= sizeof(name))
		return scn_perr(p, "'%s': domain name too long", in);
	memcpy(name, in, n);
	name[n] = '\0';
	if (scn_domain_index(p, name, &dom) < 0)
		return -EINVAL;
	if ((size_t)snprintf(out, len, "/local/domain/%d/%s", p->s->doms[dom].domid, colon + 1) >= len)
		return scn_perr(p, "path '%s' is too long", in);
	return 0;
}

/* ---- predicates and triggers ---- */

static int scn_parse_op(const char *s, enum scn_op *op)
{
	static const char *const ops[] = {
		[SCN_OP_EQ] = "==", [SCN_OP_NE] = "!=", [SCN_OP_LT] = "<",
		[SCN_OP_LE] = "<=", [SCN_OP_GT] = ">", [SCN_OP_GE] = ">=",
	};

	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(s, ops[i]) == 0) {
			*op = (enum scn_op)i;
			return 0;
		}
	}
	return -EINVAL;
}

int scn_parse_pred(struct scn_parser *p, char **v, struct scn_pred *pr)
{
	int state;

	memset(pr, 0, sizeof(*pr));
	if (scn_parse_op(v[1], &pr->op) < 0)
		return scn_perr(p, "when: '%s' is not an operator (== != < <= > >=)", v[1]);
	if (v[0][0] == '/' || strchr(v[0], ':')) {
		pr->xs = true;
		if (scn_parse_path(p, v[0], pr->path, sizeof(pr->path)) < 0)
			return -EINVAL;
	} else {
		snprintf(pr->ctr.name, sizeof(pr->ctr.name), "%s", v[0]);
		p->counter_refs_pending++;
	}
	state = scn_xenbus_state(v[2]);
	if (state >= 0) {
		pr->rhs_num = true;
		pr->rhs_u = (uint64_t)state;
	} else {
		pr->rhs_num = scn_parse_uint(v[2], &pr->rhs_u) == 0;
	}
	if (!pr->rhs_num && (!pr->xs || (pr->op != SCN_OP_EQ && pr->op != SCN_OP_NE)))
		return scn_perr(p, "when: '%s' is not a number or XenbusState name (text compares "
				"only with == and != on a xenstore value)", v[2]);
	snprintf(pr->rhs_s, sizeof(pr->rhs_s), "%s", v[2]);
	return 0;
}

static int trig_at(struct scn_parser *p, char **v, unsigned n, unsigned *used,
		   struct scn_trigger *t)
{
	if (n < 2 || scn_parse_time(v[1], &t->at_ns) < 0)
		return scn_perr(p, "at: '%s' is not a time with a unit (500us, 10ms, 2s)",
				n < 2 ? "" : v[1]);
	t->kind = SCN_TRIG_AT;
	*used = 2;
	return 0;
}

static bool is_fault_option(const char *s)
{
	return strcmp(s, "repeat") == 0 || strcmp(s, "until") == 0 || strcmp(s, "delay") == 0 ||
	       strcmp(s, "on") == 0;
}

static int trig_after(struct scn_parser *p, char **v, unsigned n, unsigned *used,
		      struct scn_trigger *t, bool fault)
{
	if (n < 2 || scn_parse_uint(v[1], &t->n) < 0)
		return scn_perr(p, "after: '%s' is not a count", n < 2 ? "" : v[1]);
	if (fault && (n == 2 || is_fault_option(v[2]))) {
		t->kind = SCN_TRIG_AFTER_SELF;   /* the site's own occurrences */
		*used = 2;
		return 0;
	}
	if (n < 3)
		return scn_perr(p, "after N COUNTER: the counter is missing");
	t->kind = SCN_TRIG_AFTER;
	snprintf(t->pred.ctr.name, sizeof(t->pred.ctr.name), "%s", v[2]);
	t->pred.op = SCN_OP_GE;
	t->pred.rhs_num = true;
	t->pred.rhs_u = t->n;
	p->counter_refs_pending++;
	*used = 3;
	return 0;
}

int scn_parse_trigger(struct scn_parser *p, char **v, unsigned n, unsigned *used,
		      struct scn_trigger *t, bool fault)
{
	memset(t, 0, sizeof(*t));
	if (strcmp(v[0], "at") == 0)
		return trig_at(p, v, n, used, t);
	if (strcmp(v[0], "after") == 0)
		return trig_after(p, v, n, used, t, fault);
	if (strcmp(v[0], "when") == 0) {
		if (n < 4)
			return scn_perr(p, "usage: when LHS OP VALUE (LHS: a counter, /path or "
					"DOMAIN:path)");
		t->kind = SCN_TRIG_WHEN;
		*used = 4;
		return scn_parse_pred(p, v + 1, &t->pred);
	}
	if (fault && strcmp(v[0], "prob") == 0) {
		if (n < 2 || scn_parse_prob(v[1], &t->ppm) < 0 || t->ppm == 0)
			return scn_perr(p, "prob: '%s' is not a probability in (0, 1] (0.05, 5%%, 1/20)",
					n < 2 ? "" : v[1]);
		t->kind = SCN_TRIG_PROB;
		*used = 2;
		return 0;
	}
	return scn_perr(p, "'%s' is not a trigger (at TIME | after N [COUNTER] | prob P | "
			"when LHS OP VALUE)", v[0]);
}

/* `expect COUNTER OP N`: checked when the workloads are through. */
int scn_parse_expect_counter(struct scn_parser *p, char **v)
{
	struct scenario *s = p->s;
	struct scn_pred pr;

	if (s->nexpect_counters == SCN_EXPECT_COUNTERS_MAX)
		return scn_perr(p, "more than %u counter expectations", SCN_EXPECT_COUNTERS_MAX);
	if (v[0][0] == '/' || strchr(v[0], ':'))
		return scn_perr(p, "expect: '%s': only counters (a xenstore value is gone by the end)",
				v[0]);
	if (scn_parse_pred(p, v, &pr) < 0)
		return -EINVAL;
	s->expect_counter_lines[s->nexpect_counters] = p->line;
	s->expect_counters[s->nexpect_counters++] = pr;
	return 0;
}

/* ---- fault lines ---- */

/* "vbd/51712", "vif/0": a device kind and a number. */
static bool is_device_name(const char *s)
{
	if (strncmp(s, "vbd/", 4) != 0 && strncmp(s, "vif/", 4) != 0)
		return false;
	if (!s[4] || strlen(s) >= SIM_FAULT_DEVICE_MAX)
		return false;
	for (const char *c = s + 4; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	return true;
}

static bool is_workload_id(const struct scenario *s, const char *id)
{
	for (unsigned w = 0; w < s->nwls; w++)
		if (strcmp(s->wls[w].id, id) == 0)
			return true;
	return false;
}

static int aim_error(struct scn_parser *p, const struct scn_fault *f, const char *what)
{
	char doms[160] = "", wls[96] = "";
	size_t k = 0, j = 0;

	for (unsigned i = 0; i < p->s->ndoms && k < sizeof(doms); i++)
		k += (size_t)snprintf(doms + k, sizeof(doms) - k, "%s%s", i ? ", " : "",
				      p->s->doms[i].name);
	for (unsigned i = 0; i < p->s->nwls && j < sizeof(wls); i++)
		j += (size_t)snprintf(wls + j, sizeof(wls) - j, "%s%s", i ? ", " : "", p->s->wls[i].id);
	return scn_perr(p, "fault %s: on '%s' is not a target (a declared domain: %s; a device "
			"vbd/N or vif/N; a workload id: %s; or port N)", f->site_name, what,
			k ? doms : "none", j ? wls : "none declared yet");
}

/* One target of `on`: a domain, a device, a workload id, `port N`; several
 * narrow the aim (all must match). */
static int fault_target(struct scn_parser *p, struct scn_fault *f, char **v, unsigned n,
			unsigned *i)
{
	const char *t = v[*i];
	uint64_t x;

	(*i)++;
	if (strcmp(t, "port") == 0) {
		if (*i >= n || scn_parse_uint(v[*i], &x) < 0 || x == 0 || x >= SIM_FAULT_PORT_ANY)
			return scn_perr(p, "fault %s: on port '%s' is not a port number above 0",
					f->site_name, *i < n ? v[*i] : "");
		f->aim.port = (uint32_t)x;
		(*i)++;
		return 0;
	}
	for (unsigned d = 0; d < p->s->ndoms; d++) {
		if (strcmp(p->s->doms[d].name, t) == 0) {
			if (f->aim.domid != DOMID_INVALID)
				return scn_perr(p, "fault %s: on names two domains (one, please)",
						f->site_name);
			f->aim.domid = (domid_t)p->s->doms[d].domid;
			return 0;
		}
	}
	if (!is_device_name(t) && !is_workload_id(p->s, t))
		return aim_error(p, f, t);
	if (f->aim.device[0])
		return scn_perr(p, "fault %s: on names two devices (one, please)", f->site_name);
	snprintf(f->aim.device, sizeof(f->aim.device), "%s", t);
	return 0;
}

static int fault_on(struct scn_parser *p, struct scn_fault *f, char **v, unsigned n,
		    unsigned *i)
{
	unsigned first = *i;

	f->aim = (struct sim_fault_aim){.set = true, .domid = DOMID_INVALID,
					.port = SIM_FAULT_PORT_ANY};
	while (*i < n && !(*i > first && is_fault_option(v[*i])))
		if (fault_target(p, f, v, n, i) < 0)
			return -EINVAL;
	if (*i == first)
		return scn_perr(p, "fault %s: on: the target is missing (DOMAIN, vbd/N, vif/N, a "
				"workload id, port N)", f->site_name);
	return 0;
}

static int fault_option(struct scn_parser *p, struct scn_fault *f, char **v, unsigned n,
			unsigned *i)
{
	uint64_t x;

	if (strcmp(v[*i], "on") == 0 && !f->aim.set) {
		(*i)++;
		return fault_on(p, f, v, n, i);
	}
	if (*i + 1 >= n)
		return scn_perr(p, "fault %s: '%s' needs a value", f->site_name, v[*i]);
	const char *opt = v[*i], *val = v[*i + 1];
	*i += 2;
	if (strcmp(opt, "repeat") == 0) {
		if (f->trig.kind == SCN_TRIG_PROB)
			return scn_perr(p, "fault %s: repeat does not go with prob (it fires on "
					"every occurrence it draws)", f->site_name);
		if (strcmp(val, "forever") == 0)
			f->repeat = -1;
		else if (scn_parse_uint(val, &x) == 0 && x < INT64_MAX)
			f->repeat = (int64_t)x;
		else
			return scn_perr(p, "fault %s: repeat '%s' is not a count or 'forever'",
					f->site_name, val);
		return 0;
	}
	if (strcmp(opt, "until") == 0) {
		if (scn_parse_time(val, &f->until_ns) < 0 || f->until_ns == 0)
			return scn_perr(p, "fault %s: until '%s' is not a time with a unit",
					f->site_name, val);
		return 0;
	}
	if (strcmp(opt, "delay") == 0) {
		if (strcmp(f->site_name, "evtchn.notify.delay") != 0)
			return scn_perr(p, "fault %s: only evtchn.notify.delay takes a delay",
					f->site_name);
		if (scn_parse_time(val, &f->delay_ns) < 0 || f->delay_ns == 0)
			return scn_perr(p, "fault %s: delay '%s' is not a time with a unit",
					f->site_name, val);
		return 0;
	}
	return scn_perr(p, "fault %s: unknown option '%s' (repeat N|forever, until TIME, delay TIME, "
			"on TARGET)", f->site_name, opt);
}

static bool aims_differ(const struct sim_fault_aim *a, const struct sim_fault_aim *b)
{
	return a->set != b->set || (a->set && (a->domid != b->domid || a->port != b->port ||
					       strcmp(a->device, b->device) != 0));
}

static int fault_conflicts(struct scn_parser *p, const struct scn_fault *f)
{
	const char *a = "evtchn.notify.delay", *b = "evtchn.notify.drop";

	for (unsigned i = 0; i < p->s->nfaults; i++) {
		const char *other = p->s->faults[i].site_name;
		/* The registry keeps one aim per site. */
		if (strcmp(f->site_name, other) == 0 && aims_differ(&f->aim, &p->s->faults[i].aim))
			return scn_perr(p, "fault %s: aimed differently on line %u (a site has one aim: "
					"give both lines the same `on`)", f->site_name,
					p->s->faults[i].line);
		if ((strcmp(f->site_name, a) == 0 && strcmp(other, b) == 0) ||
		    (strcmp(f->site_name, b) == 0 && strcmp(other, a) == 0))
			return scn_perr(p, "%s and %s cannot both be used (a delay is a drop that the "
					"engine replays)", a, b);
	}
	return 0;
}

int scn_parse_fault(struct scn_parser *p, char **v, unsigned n)
{
	struct scn_fault f = {.line = p->line, .delay_ns = SCN_DELAY_NS_DEFAULT};
	unsigned used;

	if (p->s->nfaults == SCN_FAULTS_MAX)
		return scn_perr(p, "more than %u fault lines", SCN_FAULTS_MAX);
	f.site = sim_fault_site_find(v[1]);
	if (!f.site)
		return scn_perr(p, "fault: unknown fault site '%s' (see `xensim faults`)", v[1]);
	snprintf(f.site_name, sizeof(f.site_name), "%s", v[1]);
	if (scn_parse_trigger(p, v + 2, n - 2, &used, &f.trig, true) < 0)
		return -EINVAL;
	if (f.trig.kind == SCN_TRIG_AFTER && strcmp(f.trig.pred.ctr.name, f.site_name) == 0) {
		f.trig.kind = SCN_TRIG_AFTER_SELF;   /* `after 3 gnttab.map` on gnttab.map */
		p->counter_refs_pending--;
	}
	for (unsigned i = 2 + used; i < n;)
		if (fault_option(p, &f, v, n, &i) < 0)
			return -EINVAL;
	if (fault_conflicts(p, &f) < 0)
		return -EINVAL;
	p->s->faults[p->s->nfaults++] = f;
	return 0;
}

/* ---- actions ---- */

struct scn_act_def {
	const char *name;
	const char *usage;
	unsigned args_min, args_max;
	int (*parse)(struct scn_parser *p, char **v, unsigned n, struct scn_action *a);
};

static int act_domain(struct scn_parser *p, char **v, unsigned n, struct scn_action *a)
{
	if (scn_domain_index(p, v[1], &a->dom) < 0)
		return -EINVAL;
	a->v = 0;
	if (n == 2)
		return 0;
	/* crash DOMAIN for TIME (only crash takes more, by the table): an
	 * outage, the domain restarted TIME later. */
	if (n != 4 || strcmp(v[2], "for") != 0)
		return scn_perr(p, "usage: crash DOMAIN [for TIME]");
	if (scn_parse_time(v[3], &a->v) < 0 || a->v == 0)
		return scn_perr(p, "crash %s for: bad time '%s' (e.g. 500ms, 3s; above 0)", v[1], v[3]);
	return 0;
}

static bool path_is_state(const char *path)
{
	size_t n = strlen(path);

	return n >= 6 && strcmp(path + n - 6, "/state") == 0;
}

static int act_xs(struct scn_parser *p, char **v, unsigned n, struct scn_action *a)
{
	if (scn_parse_path(p, v[1], a->a, sizeof(a->a)) < 0)
		return -EINVAL;
	if (n < 3)
		return 0;
	/* A XenbusState name is written as its number, on a .../state node. */
	int state = scn_xenbus_state(v[2]);
	if (state >= 0 && path_is_state(a->a))
		snprintf(a->b, sizeof(a->b), "%d", state);
	else if (state >= 0)
		return scn_perr(p, "xs-write: '%s' is a XenbusState name but %s is no .../state node "
				"(quote a number, or write to a state node)", v[2], a->a);
	else
		snprintf(a->b, sizeof(a->b), "%s", v[2]);
	return 0;
}

static int act_wl_index(struct scn_parser *p, const char *id, unsigned *out)
{
	char known[128] = "";
	size_t k = 0;

	for (unsigned w = 0; w < p->s->nwls; w++) {
		if (strcmp(p->s->wls[w].id, id) == 0) {
			*out = w;
			return 0;
		}
		k += (size_t)snprintf(known + k, k < sizeof(known) ? sizeof(known) - k : 0, "%s%s",
				      w ? ", " : "", p->s->wls[w].id);
	}
	return scn_perr(p, "no workload with id '%s' (declared so far: %s)", id,
			p->s->nwls ? known : "none");
}

/* unplug ID / plug ID: the workload's toolstack hooks. */
static int act_plug(struct scn_parser *p, char **v, unsigned n, struct scn_action *a)
{
	bool unplug = strcmp(v[0], "unplug") == 0;

	(void)n;
	if (act_wl_index(p, v[1], &a->dom) < 0)
		return -EINVAL;
	const struct scn_wl_type *t = p->s->wls[a->dom].type;
	if (!(unplug ? t->unplug : t->plug))
		return scn_perr(p, "%s %s: workload type %s cannot be %s (it has no %s hook)", v[0],
				v[1], t->name, unplug ? "unplugged" : "plugged", v[0]);
	snprintf(a->a, sizeof(a->a), "%s", v[1]);
	return 0;
}

/* resize ID SIZE: the workload's disk grows online (its resize hook). */
static int act_resize(struct scn_parser *p, char **v, unsigned n, struct scn_action *a)
{
	(void)n;
	if (act_wl_index(p, v[1], &a->dom) < 0)
		return -EINVAL;
	const struct scn_wl_type *t = p->s->wls[a->dom].type;
	if (!t->resize)
		return scn_perr(p, "resize %s: workload type %s cannot be resized (it has no resize hook)",
				v[1], t->name);
	if (scn_parse_size(v[2], &a->v) < 0 || a->v == 0)
		return scn_perr(p, "resize %s: bad size '%s' (e.g. 4M, 64K; above 0)", v[1], v[2]);
	snprintf(a->a, sizeof(a->a), "%s %s", v[1], v[2]);
	return 0;
}

/* suspend DOMAIN [to DOMAIN]: every workload with a suspend hook. */
static int act_suspend(struct scn_parser *p, char **v, unsigned n, struct scn_action *a)
{
	unsigned to, hooks = 0;

	if (scn_domain_index(p, v[1], &a->dom) < 0)
		return -EINVAL;
	a->dom2 = -1;
	if (n == 3 || (n == 4 && strcmp(v[2], "to") != 0))
		return scn_perr(p, "usage: suspend DOMAIN [to DOMAIN]");
	if (n == 4) {
		if (scn_domain_index(p, v[3], &to) < 0)
			return -EINVAL;
		a->dom2 = (int)to;
	}
	for (unsigned w = 0; w < p->s->nwls; w++)
		hooks += p->s->wls[w].type->suspend != NULL;
	if (!hooks)
		return scn_perr(p, "suspend %s: no workload declared so far can be suspended (none "
				"has a suspend hook)", v[1]);
	snprintf(a->a, sizeof(a->a), "%s", v[1]);
	return 0;
}

/* pause DOMAIN [for TIME] | unpause DOMAIN */
static int act_pause(struct scn_parser *p, char **v, unsigned n, struct scn_action *a)
{
	if (scn_domain_index(p, v[1], &a->dom) < 0)
		return -EINVAL;
	a->v = 0;
	if (n == 3 || (n == 4 && strcmp(v[2], "for") != 0))
		return scn_perr(p, "usage: pause DOMAIN [for TIME]");
	if (n == 4 && (scn_parse_time(v[3], &a->v) < 0 || a->v == 0))
		return scn_perr(p, "pause %s for: bad time '%s' (e.g. 500ms, 3s; above 0)", v[1], v[3]);
	snprintf(a->a, sizeof(a->a), "%s%s%s", v[1], n == 4 ? " for " : "", n == 4 ? v[3] : "");
	return 0;
}

static int act_quota(struct scn_parser *p, char **v, unsigned n, struct scn_action *a)
{
	const struct xs_quota *tab = xs_quota_table();
	bool known = false;

	a->dom2 = -1;
	if (n == 4) {   /* quota DOMAIN grants|maptrack N */
		if (scn_domain_index(p, v[1], &a->dom) < 0)
			return -EINVAL;
		if (strcmp(v[2], "grants") != 0 && strcmp(v[2], "maptrack") != 0)
			return scn_perr(p, "quota %s: unknown domain quota '%s' (grants N, maptrack N)",
					v[1], v[2]);
		if (scn_parse_uint(v[3], &a->v) < 0 || a->v == 0 || a->v > UINT32_MAX)
			return scn_perr(p, "quota %s %s: '%s' is not a count above 0", v[1], v[2], v[3]);
		a->dom2 = (int)a->dom;
		snprintf(a->a, sizeof(a->a), "%s", v[2]);
		return 0;
	}
	for (unsigned i = 0; i < XS_QUOTA_COUNT; i++)
		known |= strcmp(tab[i].name, v[1]) == 0;
	if (!known)
		return scn_perr(p, "quota: unknown xenstore quota '%s'", v[1]);
	if (scn_parse_uint(v[2], &a->v) < 0 || a->v > UINT32_MAX)
		return scn_perr(p, "quota %s: bad number '%s'", v[1], v[2]);
	snprintf(a->a, sizeof(a->a), "%s", v[1]);
	return 0;
}

static int act_note(struct scn_parser *p, char **v, unsigned n, struct scn_action *a)
{
	size_t k = 0;

	(void)p;
	for (unsigned i = 1; i < n && k < sizeof(a->a); i++)
		k += (size_t)snprintf(a->a + k, sizeof(a->a) - k, "%s%s", i > 1 ? " " : "", v[i]);
	return 0;
}

static const struct scn_act_def scn_acts[SCN_ACT_COUNT] = {
	[SCN_ACT_CRASH] = {"crash", "crash DOMAIN [for TIME]", 1, 3, act_domain},
	[SCN_ACT_DESTROY] = {"destroy", "destroy DOMAIN", 1, 1, act_domain},
	[SCN_ACT_RESTART] = {"restart", "restart DOMAIN", 1, 1, act_domain},
	[SCN_ACT_XS_WRITE] = {"xs-write", "xs-write PATH VALUE", 2, 2, act_xs},
	[SCN_ACT_XS_RM] = {"xs-rm", "xs-rm PATH", 1, 1, act_xs},
	[SCN_ACT_XS_TOUCH] = {"xs-touch", "xs-touch PATH", 1, 1, act_xs},
	[SCN_ACT_QUOTA] = {"quota", "quota NAME VALUE | quota DOMAIN grants|maptrack N", 2, 3,
			   act_quota},
	[SCN_ACT_NOTE] = {"note", "note TEXT...", 1, SCN_TOKENS_MAX, act_note},
	[SCN_ACT_UNPLUG] = {"unplug", "unplug WORKLOAD-ID", 1, 1, act_plug},
	[SCN_ACT_PLUG] = {"plug", "plug WORKLOAD-ID", 1, 1, act_plug},
	[SCN_ACT_SUSPEND] = {"suspend", "suspend DOMAIN [to DOMAIN]", 1, 3, act_suspend},
	[SCN_ACT_PAUSE] = {"pause", "pause DOMAIN [for TIME]", 1, 3, act_pause},
	[SCN_ACT_UNPAUSE] = {"unpause", "unpause DOMAIN", 1, 1, act_pause},
	[SCN_ACT_RESIZE] = {"resize", "resize WORKLOAD-ID SIZE", 2, 2, act_resize},
};

const char *scn_action_name(enum scn_act_id id)
{
	return id < SCN_ACT_COUNT ? scn_acts[id].name : "?";
}

/* "crash, destroy, ...": every action's name, for the errors. */
static const char *act_names(char *buf, size_t len)
{
	size_t k = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < SCN_ACT_COUNT && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? ", " : "", scn_acts[i].name);
	return buf;
}

int scn_parse_action(struct scn_parser *p, char **v, unsigned n, struct scn_action *a)
{
	char names[256];

	if (n == 0)
		return scn_perr(p, "the action is missing (%s)", act_names(names, sizeof(names)));
	for (unsigned i = 0; i < SCN_ACT_COUNT; i++) {
		const struct scn_act_def *d = &scn_acts[i];
		if (strcmp(v[0], d->name) != 0)
			continue;
		if (n - 1 < d->args_min || n - 1 > d->args_max)
			return scn_perr(p, "%s: wrong number of arguments (usage: %s)", d->name, d->usage);
		a->act = (enum scn_act_id)i;
		return d->parse(p, v, n, a);
	}
	return scn_perr(p, "'%s' is not an action (%s)", v[0], act_names(names, sizeof(names)));
}

/* `at TIME ACTION`, `after N COUNTER ACTION`, `when L OP R ACTION`. */
int scn_parse_triggered(struct scn_parser *p, char **v, unsigned n)
{
	struct scn_action a = {.line = p->line, .dom2 = -1};
	unsigned used;

	if (p->s->nactions == SCN_ACTIONS_MAX)
		return scn_perr(p, "more than %u timed actions", SCN_ACTIONS_MAX);
	if (scn_parse_trigger(p, v, n, &used, &a.trig, false) < 0)
		return -EINVAL;
	if (scn_parse_action(p, v + used, n - used, &a) < 0)
		return -EINVAL;
	p->s->actions[p->s->nactions++] = a;
	return 0;
}

/* ---- counters ---- */

static int resolve_wl_counter(const struct scenario *s, struct scn_counter_ref *c)
{
	for (unsigned w = 0; w < s->nwls; w++) {
		size_t k = strlen(s->wls[w].id);
		const char *const *names = s->wls[w].type->counters;
		if (strncmp(c->name, s->wls[w].id, k) != 0 || c->name[k] != '.' || !names)
			continue;
		for (unsigned i = 0; names[i]; i++) {
			if (strcmp(c->name + k + 1, names[i]) == 0) {
				c->kind = SCN_CTR_WL;
				c->wl = w;
				c->index = i;
				return 0;
			}
		}
	}
	return -ENOENT;
}

int scn_resolve_counter(const struct scenario *s, struct scn_counter_ref *c)
{
	static const char inj[] = ".injected";
	size_t n = strlen(c->name);

	if (strcmp(c->name, "steps") == 0) {
		c->kind = SCN_CTR_STEPS;
		return 0;
	}
	if (strcmp(c->name, "switches") == 0) {
		c->kind = SCN_CTR_SWITCHES;
		return 0;
	}
	if ((c->site = sim_fault_site_find(c->name))) {
		c->kind = SCN_CTR_SITE_OCC;
		return 0;
	}
	if (n > sizeof(inj) - 1 && strcmp(c->name + n - (sizeof(inj) - 1), inj) == 0) {
		char site[SCN_TEXT_MAX];
		snprintf(site, sizeof(site), "%.*s", (int)(n - (sizeof(inj) - 1)), c->name);
		if ((c->site = sim_fault_site_find(site))) {
			c->kind = SCN_CTR_SITE_INJ;
			return 0;
		}
	}
	return resolve_wl_counter(s, c);
}

static int counter_error(struct scn_parser *p, unsigned line, const char *name)
{
	char known[256] = "";
	size_t k = 0;

	for (unsigned w = 0; w < p->s->nwls; w++) {
		const char *const *names = p->s->wls[w].type->counters;
		for (unsigned i = 0; names && names[i] && k < sizeof(known); i++)
			k += (size_t)snprintf(known + k, sizeof(known) - k, " %s.%s", p->s->wls[w].id,
					      names[i]);
	}
	p->line = line;
	return scn_perr(p, "unknown counter '%s' (steps, switches, a fault site, SITE.injected, "
			"or WORKLOAD.COUNTER:%s)", name, k ? known : " none declared");
}

static bool trig_has_counter(const struct scn_trigger *t)
{
	return t->kind == SCN_TRIG_AFTER || (t->kind == SCN_TRIG_WHEN && !t->pred.xs);
}

int scn_resolve_counters(struct scn_parser *p)
{
	struct scenario *s = p->s;

	for (unsigned i = 0; i < s->nfaults; i++) {
		struct scn_trigger *t = &s->faults[i].trig;
		if (trig_has_counter(t) && scn_resolve_counter(s, &t->pred.ctr) < 0)
			return counter_error(p, s->faults[i].line, t->pred.ctr.name);
	}
	for (unsigned i = 0; i < s->nactions; i++) {
		struct scn_trigger *t = &s->actions[i].trig;
		if (trig_has_counter(t) && scn_resolve_counter(s, &t->pred.ctr) < 0)
			return counter_error(p, s->actions[i].line, t->pred.ctr.name);
	}
	for (unsigned i = 0; i < s->nexpect_counters; i++)
		if (scn_resolve_counter(s, &s->expect_counters[i].ctr) < 0)
			return counter_error(p, s->expect_counter_lines[i], s->expect_counters[i].ctr.name);
	return 0;
}

/* ---- workload parameters ---- */

static int wl_param_domains(struct scn_parser *p, const char *val, uint64_t *mask)
{
	char buf[SCN_TEXT_MAX];
	char *save = NULL;
	unsigned idx;

	snprintf(buf, sizeof(buf), "%s", val);
	*mask = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (scn_domain_index(p, tok, &idx) < 0)
			return -EINVAL;
		*mask |= 1ull << idx;
	}
	return *mask ? 0 : scn_perr(p, "an empty list of domains");
}

/* "25" or "25%", 0..100. */
static int parse_percent(const char *val, uint64_t *out)
{
	char buf[16];
	size_t n = strlen(val);

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, val, n + 1);
	if (buf[n - 1] == '%')
		buf[n - 1] = '\0';
	if (scn_parse_uint(buf, out) < 0 || *out > 100)
		return -EINVAL;
	return 0;
}

static int wl_param_value(struct scn_parser *p, const char *wl, const struct scn_param *pm,
			  const char *val, struct scn_wl_args *a, unsigned i)
{
	bool b = false;   /* read below even when the value did not parse: found by fuzz_scenario */
	int rc = 0;

	switch (pm->kind) {
	case SCN_P_UINT: rc = scn_parse_uint(val, &a->u[i]); break;
	case SCN_P_SIZE: rc = scn_parse_size(val, &a->u[i]); break;
	case SCN_P_TIME: rc = scn_parse_time(val, &a->u[i]); break;
	case SCN_P_BOOL:
		rc = scn_parse_bool(val, &b);
		a->u[i] = b;
		break;
	case SCN_P_PERCENT: rc = parse_percent(val, &a->u[i]); break;
	case SCN_P_DOMAIN: {
		unsigned idx;
		if (scn_domain_index(p, val, &idx) < 0)
			return -EINVAL;
		a->u[i] = idx;
		break;
	}
	case SCN_P_DOMAINS: return wl_param_domains(p, val, &a->u[i]);
	case SCN_P_STRING:
		if ((size_t)snprintf(a->s[i], SCN_TEXT_MAX, "%s", val) >= SCN_TEXT_MAX)
			rc = -E2BIG;
		break;
	}
	if (rc < 0)
		return scn_perr(p, "workload %s: %s=%s: not a valid %s", wl, pm->key, val,
				pm->kind == SCN_P_TIME ? "time with a unit (10ms, 2s)" :
				pm->kind == SCN_P_BOOL ? "boolean (0/1, yes/no)" :
				pm->kind == SCN_P_SIZE ? "size (4096, 4k, 16M)" :
				pm->kind == SCN_P_PERCENT ? "percentage (0..100)" : "value");
	if ((pm->min || pm->max) && pm->kind != SCN_P_STRING && pm->kind < SCN_P_DOMAIN &&
	    (a->u[i] < pm->min || a->u[i] > pm->max))
		return scn_perr(p, "workload %s: %s=%s is out of range %lu..%lu", wl, pm->key, val,
				pm->min, pm->max);
	return 0;
}

static int wl_param_find(struct scn_parser *p, const struct scn_wl_type *t, const char *key)
{
	char known[256] = "";
	size_t k = 0;

	for (unsigned i = 0; t->params[i].key; i++) {
		if (strcmp(t->params[i].key, key) == 0)
			return (int)i;
		k += (size_t)snprintf(known + k, k < sizeof(known) ? sizeof(known) - k : 0, " %s",
				      t->params[i].key);
	}
	return scn_perr(p, "workload %s: unknown parameter '%s' (known: id%s)", t->name, key, known);
}

static int wl_set(struct scn_parser *p, struct scn_wl_decl *w, const char *kv, bool *given)
{
	const char *eq = strchr(kv, '=');
	char key[SCN_NAME_MAX];

	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key))
		return scn_perr(p, "workload %s: '%s' is not KEY=VALUE", w->type->name, kv);
	snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
	if (strcmp(key, "id") == 0) {
		if (!eq[1] || strlen(eq + 1) >= SCN_NAME_MAX || strchr(eq + 1, '.'))
			return scn_perr(p, "workload %s: id '%s' is not a name without dots", w->type->name,
					eq + 1);
		snprintf(w->id, sizeof(w->id), "%s", eq + 1);
		return 0;
	}
	int i = wl_param_find(p, w->type, key);
	if (i < 0)
		return -EINVAL;
	if (given[i])
		return scn_perr(p, "workload %s: %s given twice", w->type->name, key);
	given[i] = true;
	return wl_param_value(p, w->type->name, &w->type->params[i], eq + 1, &w->args, (unsigned)i);
}

static int wl_defaults(struct scn_parser *p, struct scn_wl_decl *w, const bool *given)
{
	for (unsigned i = 0; w->type->params[i].key; i++) {
		const struct scn_param *pm = &w->type->params[i];
		if (given[i])
			continue;
		if (!pm->dflt)
			return scn_perr(p, "workload %s: %s= is required (%s)", w->type->name, pm->key,
					pm->what);
		if (wl_param_value(p, w->type->name, pm, pm->dflt, &w->args, i) < 0)
			return -EINVAL;
	}
	return 0;
}

static int wl_known_error(struct scn_parser *p, const char *name)
{
	char known[256] = "";
	size_t k = 0;
	unsigned n;
	const struct scn_wl_type *const *types = scn_wl_types(&n);

	for (unsigned i = 0; i < n; i++)
		k += (size_t)snprintf(known + k, k < sizeof(known) ? sizeof(known) - k : 0, "%s%s",
				      i ? ", " : "", types[i]->name);
	return scn_perr(p, "unknown workload '%s' (known: %s)", name, known);
}

int scn_parse_workload(struct scn_parser *p, char **v, unsigned n)
{
	struct scn_wl_decl w = {.line = p->line};
	bool given[SCN_PARAMS_MAX] = {false};
	char why[SCN_ERR_MAX];

	if (p->s->nwls == SCN_WORKLOADS_MAX)
		return scn_perr(p, "more than %u workloads", SCN_WORKLOADS_MAX);
	w.type = scn_wl_type_find(v[1]);
	if (!w.type)
		return wl_known_error(p, v[1]);
	snprintf(w.id, sizeof(w.id), "%s", w.type->name);
	for (unsigned i = 2; i < n; i++)
		if (wl_set(p, &w, v[i], given) < 0)
			return -EINVAL;
	if (wl_defaults(p, &w, given) < 0)
		return -EINVAL;
	if (w.type->validate && w.type->validate(&w.args, why, sizeof(why)) < 0)
		return scn_perr(p, "workload %s: %s", w.type->name, why);
	for (unsigned i = 0; i < p->s->nwls; i++)
		if (strcmp(p->s->wls[i].id, w.id) == 0)
			return scn_perr(p, "workload id '%s' used twice (first on line %u); name this one "
					"with id=NAME", w.id, p->s->wls[i].line);
	p->s->wls[p->s->nwls++] = w;
	return 0;
}
