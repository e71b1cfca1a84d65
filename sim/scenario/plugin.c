/*
 * Workload plugins (include/xensim_plugin.h): `plugin PATH` dlopens a shared
 * object and its workloads become scenario workloads like the built-in ones.
 * Each plugin workload is turned into a struct scn_wl_type whose hooks are
 * the trampolines below; the plugin sees an opaque struct xensim_wl and the
 * xensim_wl_* functions, never the engine's structures.
 *
 * Plugins stay loaded for the life of the process (a corpus run parses many
 * files; their types are pointed to by every parsed scenario). A scenario
 * sees only the plugins it loads itself: `workload NAME` of a plugin loaded
 * by another file is unknown.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "include/xensim_plugin.h"
#include "sim/scenario/scn_internal.h"

#define SCN_PLUGINS_MAX 16u
#define SCN_PLUGIN_TYPES_MAX 32u
#define SCN_PLUGIN_PATH_MAX 512u

struct plug;

/* A plugin workload as the engine sees it. */
struct plug_type {
	struct scn_wl_type t;          /* first: wl->type points here */
	const struct xensim_workload *pw;
	const struct plug *pl;
	struct scn_param params[SCN_PARAMS_MAX];
};

struct plug {
	void *handle;
	char path[SCN_PLUGIN_PATH_MAX];
	const struct xensim_plugin *desc;
	bool visible;                  /* loaded by the file being parsed */
};

static struct plug plugs[SCN_PLUGINS_MAX];
static unsigned nplugs;
static struct plug_type *ptypes[SCN_PLUGIN_TYPES_MAX];
static unsigned nptypes;

struct xensim_event {
	struct xensim_wl *inst;
	struct event *ev;
	domid_t domid;
	bool dead;                     /* its domain died: the base is gone */
	void (*cb)(void *arg);
	void *arg;
	struct xensim_event *next;
};

struct xensim_wl {
	struct scn_wl *wl;
	const struct plug_type *pt;
	void *priv;
	pthread_mutex_t lock;          /* evs */
	struct xensim_event *evs;
};

static const struct plug_type *plug_type_of(const struct scn_wl *wl)
{
	return (const struct plug_type *)wl->type;
}

/* ---- the registry ---- */

void scn_plugins_parse_begin(void)
{
	for (unsigned i = 0; i < nplugs; i++)
		plugs[i].visible = false;
}

const struct scn_wl_type *scn_plugin_type_find(const char *name)
{
	for (unsigned i = 0; i < nptypes; i++)
		if (ptypes[i]->pl->visible && strcmp(ptypes[i]->t.name, name) == 0)
			return &ptypes[i]->t;
	return NULL;
}

/* ---- the trampolines: engine hooks calling the plugin's ---- */

static int tramp_start(struct scn_wl *wl)
{
	const struct plug_type *pt = plug_type_of(wl);
	struct xensim_wl *x = calloc(1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	x->wl = wl;
	x->pt = pt;
	pthread_mutex_init(&x->lock, NULL);
	wl->priv = x;
	int rc = pt->pw->start(x);
	if (rc < 0)   /* before the engine's own word on it: the first one is kept */
		scn_run_outcome(wl->run, SCN_OUT_HARNESS, "workload %s: start failed: %s (plugin %s, "
				"%s:%u)", wl->id, strerror(-rc), pt->pl->desc->name, wl->run->s->path,
				wl->run->s->wls[wl - wl->run->wls].line);
	return rc;
}

static void tramp_check(struct scn_wl *wl)
{
	const struct plug_type *pt = plug_type_of(wl);

	if (pt->pw->check)
		pt->pw->check(wl->priv);
}

static void events_mark_dead(struct xensim_wl *x, domid_t domid)
{
	pthread_mutex_lock(&x->lock);
	for (struct xensim_event *e = x->evs; e; e = e->next)
		if (e->domid == domid)
			e->dead = true;
	pthread_mutex_unlock(&x->lock);
}

static void tramp_domain_event(struct scn_wl *wl, domid_t domid, enum scn_dom_event ev)
{
	const struct plug_type *pt = plug_type_of(wl);

	if (ev == SCN_DOM_CRASHED)
		events_mark_dead(wl->priv, domid);
	if (pt->pw->domain_event)
		pt->pw->domain_event(wl->priv, domid, ev == SCN_DOM_CRASHED ? XENSIM_DOM_CRASHED
									: XENSIM_DOM_RESTARTED);
}

static void tramp_stop(struct scn_wl *wl)
{
	const struct plug_type *pt = plug_type_of(wl);
	struct xensim_wl *x = wl->priv;

	/* Free mode: the domain thread that reported the outcome last touched x
	 * before its atomic report; this load orders the frees below after it. */
	(void)atomic_load_explicit(&wl->state, memory_order_acquire);
	pt->pw->stop(x);
	while (x->evs) {
		struct xensim_event *e = x->evs;
		x->evs = e->next;
		scn_ev_free(e->ev, !e->dead && sim_domain_alive(e->domid));
		free(e);
	}
	pthread_mutex_destroy(&x->lock);
	free(x);
}

static uint64_t tramp_counter(struct scn_wl *wl, unsigned index)
{
	const struct plug_type *pt = plug_type_of(wl);

	return pt->pw->counter ? pt->pw->counter(wl->priv, index) : 0;
}

/* ---- loading ---- */

static int plug_kind(enum xensim_param_kind k, enum scn_param_kind *out)
{
	static const enum scn_param_kind map[] = {
		[XENSIM_P_UINT] = SCN_P_UINT, [XENSIM_P_SIZE] = SCN_P_SIZE,
		[XENSIM_P_TIME] = SCN_P_TIME, [XENSIM_P_BOOL] = SCN_P_BOOL,
		[XENSIM_P_PERCENT] = SCN_P_PERCENT, [XENSIM_P_DOMAIN] = SCN_P_DOMAIN,
		[XENSIM_P_STRING] = SCN_P_STRING,
	};

	if ((unsigned)k >= sizeof(map) / sizeof(map[0]))
		return -EINVAL;
	*out = map[k];
	return 0;
}

static int plug_type_make(struct scn_parser *p, struct plug *pl, const struct xensim_workload *w)
{
	const char *what = pl->desc->name;

	if (!w->name || !w->start || !w->stop || !w->params || (w->counters && !w->counter))
		return scn_perr(p, "plugin %s (%s): workload '%s' lacks a name, start, stop, params "
				"or counter", what, pl->path, w->name ? w->name : "?");
	if (scn_wl_type_find(w->name))
		return scn_perr(p, "plugin %s (%s): workload '%s' exists already", what, pl->path,
				w->name);
	if (nptypes == SCN_PLUGIN_TYPES_MAX)
		return scn_perr(p, "plugin %s: more than %u plugin workloads", what, SCN_PLUGIN_TYPES_MAX);
	struct plug_type *pt = calloc(1, sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	unsigned n = 0;
	for (; w->params[n].key; n++) {
		const struct xensim_param *q = &w->params[n];
		if (n + 1 >= SCN_PARAMS_MAX || plug_kind(q->kind, &pt->params[n].kind) < 0) {
			free(pt);
			return scn_perr(p, "plugin %s: workload %s: parameter '%s': more than %u or an "
					"unknown kind %d", what, w->name, q->key, SCN_PARAMS_MAX - 1, (int)q->kind);
		}
		pt->params[n] = (struct scn_param){q->key, pt->params[n].kind, q->dflt, q->min, q->max,
						   q->what ? q->what : ""};
	}
	pt->pw = w;
	pt->pl = pl;
	pt->t = (struct scn_wl_type){
		.name = w->name, .what = w->what ? w->what : "", .params = pt->params,
		.counters = w->counters, .start = tramp_start, .check = tramp_check,
		.domain_event = tramp_domain_event, .stop = tramp_stop, .counter = tramp_counter,
	};
	ptypes[nptypes++] = pt;
	return 0;
}

/* PATH relative to the scenario file's directory, unless absolute; a
 * leading $XENSIM is the directory of the running xensim executable (so
 * that a corpus names plugins built beside it, in build/ or build-asan/). */
static void plug_resolve(const char *file, const char *path, char *out, size_t len)
{
	const char *slash = strrchr(file, '/');
	char exe[SCN_PLUGIN_PATH_MAX / 2];

	if (strncmp(path, "$XENSIM/", 8) == 0) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		char *dir = strrchr(exe, '/');
		if (dir)
			*dir = '\0';
		snprintf(out, len, "%s/%s", exe, path + 8);
	} else if (path[0] == '/' || !slash) {
		snprintf(out, len, "%s", path);
	} else {
		snprintf(out, len, "%.*s/%s", (int)(slash - file), file, path);
	}
}

static int plug_open(struct scn_parser *p, struct plug *pl)
{
	pl->handle = dlopen(pl->path, RTLD_NOW | RTLD_LOCAL);
	if (!pl->handle)
		return scn_perr(p, "plugin %s: cannot load: %s", pl->path, dlerror());
	pl->desc = dlsym(pl->handle, "xensim_plugin");
	if (!pl->desc)
		return scn_perr(p, "plugin %s: no symbol 'xensim_plugin' (define it with "
				"XENSIM_PLUGIN of <xensim_plugin.h>)", pl->path);
	if (pl->desc->abi != XENSIM_PLUGIN_ABI)
		return scn_perr(p, "plugin %s: built for plugin ABI version %u, this xensim has "
				"version %u: rebuild it against this xensim's <xensim_plugin.h>",
				pl->path, pl->desc->abi, (unsigned)XENSIM_PLUGIN_ABI);
	if (!pl->desc->name || !pl->desc->workloads || !pl->desc->workloads[0])
		return scn_perr(p, "plugin %s: its xensim_plugin has no name or no workload", pl->path);
	for (unsigned i = 0; pl->desc->workloads[i]; i++) {
		int rc = plug_type_make(p, pl, pl->desc->workloads[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int scn_plugin_load(struct scn_parser *p, const char *path)
{
	char full[SCN_PLUGIN_PATH_MAX];

	plug_resolve(p->file, path, full, sizeof(full));
	for (unsigned i = 0; i < nplugs; i++) {
		if (strcmp(plugs[i].path, full) == 0) {
			plugs[i].visible = true;
			return 0;
		}
	}
	if (nplugs == SCN_PLUGINS_MAX)
		return scn_perr(p, "plugin %s: more than %u plugins in one process", full, SCN_PLUGINS_MAX);
	struct plug *pl = &plugs[nplugs];
	*pl = (struct plug){.visible = true};
	snprintf(pl->path, sizeof(pl->path), "%s", full);
	int rc = plug_open(p, pl);
	if (rc == 0) {
		nplugs++;
		return 0;
	}
	while (nptypes && ptypes[nptypes - 1]->pl == pl)
		free(ptypes[--nptypes]);
	if (pl->handle)
		dlclose(pl->handle);
	*pl = (struct plug){0};
	return rc;
}

/* ---- what plugins call ---- */

static struct scn_wl *wl_of(const struct xensim_wl *x)
{
	return x->wl;
}

uint64_t xensim_wl_u(const struct xensim_wl *x, unsigned param)
{
	return scn_wl_u(wl_of(x), param);
}

const char *xensim_wl_str(const struct xensim_wl *x, unsigned param)
{
	return scn_wl_s(wl_of(x), param);
}

int xensim_wl_domid(const struct xensim_wl *x, unsigned param)
{
	return scn_wl_domid(wl_of(x), param);
}

const char *xensim_wl_id(const struct xensim_wl *x)
{
	return x->wl->id;
}

uint64_t xensim_wl_seed(const struct xensim_wl *x)
{
	return scn_wl_seed(wl_of(x));
}

void xensim_wl_set_priv(struct xensim_wl *x, void *priv)
{
	x->priv = priv;
}

void *xensim_wl_priv(const struct xensim_wl *x)
{
	return x->priv;
}

void xensim_wl_done(struct xensim_wl *x)
{
	scn_wl_done(x->wl);
}

/* "MESSAGE (plugin NAME, FILE:LINE)": who said it and which line runs it. */
static void plug_report(struct xensim_wl *x, bool fail, const char *fmt, va_list ap)
{
	char msg[SCN_MSG_MAX];
	struct scn_wl *wl = x->wl;
	unsigned idx = (unsigned)(wl - wl->run->wls);

	vsnprintf(msg, sizeof(msg), fmt, ap);
	const char *file = wl->run->s->path;
	unsigned line = wl->run->s->wls[idx].line;
	if (fail)
		scn_wl_fail(wl, "%s (plugin %s, %s:%u)", msg, x->pt->pl->desc->name, file, line);
	else
		scn_wl_error(wl, "%s (plugin %s, %s:%u)", msg, x->pt->pl->desc->name, file, line);
}

void xensim_wl_error(struct xensim_wl *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	plug_report(x, false, fmt, ap);
	va_end(ap);
}

void xensim_wl_fail(struct xensim_wl *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	plug_report(x, true, fmt, ap);
	va_end(ap);
}

bool xensim_wl_finished(const struct xensim_wl *x)
{
	return scn_wl_finished(x->wl);
}

void xensim_wl_note(struct xensim_wl *x, int domid, const char *fmt, ...)
{
	char msg[SCN_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	scn_wl_note(x->wl, domid < 0 ? DOMID_INVALID : (domid_t)domid, "%s", msg);
}

/* A call's function, guarded: a memory fault fails the workload. */
struct plug_call {
	int (*fn)(void *arg);
	void *arg;
	int rc;
	struct scn_wl *wl;
};

static void plug_call_inner(void *arg)
{
	struct plug_call *c = arg;

	c->rc = c->fn(c->arg);
}

static int plug_call_guarded(void *arg)
{
	struct plug_call *c = arg;

	if (scn_wl_guard(c->wl, plug_call_inner, c))
		return -EFAULT;
	return c->rc;
}

int xensim_wl_call(struct xensim_wl *x, int domid, int (*fn)(void *arg), void *arg)
{
	struct plug_call c = {.fn = fn, .arg = arg, .wl = x->wl};

	if (domid < 0 || domid >= (int)SIM_DOMID_LIMIT)
		return -ESRCH;
	return scn_wl_call(x->wl, (domid_t)domid, plug_call_guarded, &c);
}

static void plug_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xensim_event *e = arg;

	(void)fd;
	(void)what;
	scn_wl_guard(e->inst->wl, e->cb, e->arg);
}

struct xensim_event *xensim_event_new(struct xensim_wl *x, int fd, void (*cb)(void *arg), void *arg)
{
	struct event_base *base = sim_domain_event_base();
	struct xensim_event *e = base && cb ? calloc(1, sizeof(*e)) : NULL;

	if (!e)
		return NULL;
	*e = (struct xensim_event){.inst = x, .domid = sim_current_domid(), .cb = cb, .arg = arg};
	e->ev = scn_ev_new(base, fd, fd >= 0 ? EV_READ | EV_PERSIST : 0, plug_event_cb, e);
	if (!e->ev) {
		free(e);
		return NULL;
	}
	pthread_mutex_lock(&x->lock);
	e->next = x->evs;
	x->evs = e;
	pthread_mutex_unlock(&x->lock);
	return e;
}

int xensim_event_add(struct xensim_event *e, uint64_t timeout_ns)
{
	struct timeval tv = scn_tv(timeout_ns);

	if (!e || e->dead)
		return -EINVAL;
	return event_add(e->ev, timeout_ns ? &tv : NULL) < 0 ? -EINVAL : 0;
}

void xensim_event_free(struct xensim_event *e)
{
	if (!e)
		return;
	struct xensim_wl *x = e->inst;
	pthread_mutex_lock(&x->lock);
	for (struct xensim_event **pp = &x->evs; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	pthread_mutex_unlock(&x->lock);
	scn_ev_free(e->ev, !e->dead && sim_domain_alive(e->domid));
	free(e);
}

int xensim_wl_xs_write(struct xensim_wl *x, const char *path, const char *value)
{
	return scn_wl_xs_write(x->wl, path, value);
}

int xensim_wl_xs_read(struct xensim_wl *x, const char *path, char *buf, size_t len)
{
	return scn_wl_xs_read(x->wl, path, buf, len);
}

int xensim_wl_xs_rm(struct xensim_wl *x, const char *path)
{
	return scn_wl_xs_rm(x->wl, path);
}
