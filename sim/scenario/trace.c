/*
 * The run's trace: the one sink of the hypervisor's trace events. Each event
 * goes to the --trace file as a text line, into a ring of the last few for
 * the timeline picture, and, for a dropped send while evtchn.notify.delay is
 * armed, into the queue of notifications to replay. XenbusState writes go
 * through the legal-transition oracle here, as they happen. The timeline is drawn as
 * a sequence diagram: one lane per domain, time going down, notifications,
 * grant operations, faults and state changes as arrows between lanes.
 */
#include <stdarg.h>
#include <string.h>

#include "drivers/xenbus/xenbus.h"
#include "sim/scenario/scn_internal.h"
#include <xen/io/xs_wire.h>   /* after stdint.h: XS_WRITE and the other op types */

static const char *const scn_kind_names[] = {
	[SIM_TR_NOTIFY] = "notify", [SIM_TR_GRANT_MAP] = "map", [SIM_TR_GRANT_UNMAP] = "unmap",
	[SIM_TR_GRANT_COPY] = "copy", [SIM_TR_XS] = "xs", [SIM_TR_STATE] = "state",
	[SIM_TR_FAULT] = "fault", [SIM_TR_DOMAIN] = "domain", [SIM_TR_NOTE] = "note",
};

static const char *kind_name(unsigned k)
{
	return k < sizeof(scn_kind_names) / sizeof(scn_kind_names[0]) && scn_kind_names[k]
		       ? scn_kind_names[k] : "?";
}

/* A xenstore operation: "write /local/domain/1/x", "commit EAGAIN". */
static void xs_text(const struct scn_trace_rec *e, char *buf, size_t len, bool lbl)
{
	const char *op = e->a == XS_WRITE ? "write" : e->a == XS_RM ? "rm" :
			 e->a == XS_WATCH_EVENT ? "watch-event" :
			 e->a == XS_TRANSACTION_END ? "commit" : "op";
	const char *leaf = strrchr(e->text, '/');

	if (e->a == XS_TRANSACTION_END && e->text[0])   /* a partial commit */
		snprintf(buf, len, lbl ? "commit PARTIAL" : "dom%u xenstore commit after its %s", e->domid,
			 e->text);
	else if (lbl)
		snprintf(buf, len, "%s %s%s", op, leaf && leaf[1] ? leaf + 1 : e->text,
			 e->b ? " EAGAIN" : "");
	else
		snprintf(buf, len, "dom%u xenstore %s%s%s%s%s", e->domid, op, e->text[0] ? " " : "",
			 e->text, e->b ? ": " : "", e->b ? strerror((int)e->b) : "");
}

/* What one event says, in words: in full (trace file, hover text) or as a
 * short label next to its arrow. */
static void rec_text(const struct scn_trace_rec *e, char *buf, size_t len, bool lbl)
{
	static const char *const dom_what[] = {"destroyed", "created", "crashed"};
	const char *k = kind_name(e->kind);

	switch (e->kind) {
	case SIM_TR_NOTIFY:
		if (lbl)
			snprintf(buf, len, "notify p%u>p%u", e->a, e->b);
		else
			snprintf(buf, len, "dom%u port %u -> dom%u port %u", e->domid, e->a, e->peer, e->b);
		break;
	case SIM_TR_GRANT_MAP:
	case SIM_TR_GRANT_UNMAP:
	case SIM_TR_GRANT_COPY:
		if (lbl)
			snprintf(buf, len, "%s ref %u", k, e->a);
		else
			snprintf(buf, len, "dom%u %s dom%u's ref %u (%s %u)", e->domid, k, e->peer, e->a,
				 e->kind == SIM_TR_GRANT_COPY ? "bytes" : "ro", e->b);
		break;
	case SIM_TR_STATE:
		if (lbl)
			snprintf(buf, len, "%s>%s", xenbus_state_name(e->a), xenbus_state_name(e->b));
		else
			snprintf(buf, len, "dom%u %s -> %s %s", e->domid, xenbus_state_name(e->a),
				 xenbus_state_name(e->b), e->text);
		break;
	case SIM_TR_XS:
		xs_text(e, buf, len, lbl);
		break;
	case SIM_TR_DOMAIN:
		snprintf(buf, len, "%s %s", e->text, dom_what[e->a < 3 ? e->a : 0]);
		break;
	case SIM_TR_FAULT:
		if (lbl)
			snprintf(buf, len, "%s", e->text);
		else
			snprintf(buf, len, "%s dom%u -> dom%u (%u, %u)", e->text, e->domid, e->peer, e->a,
				 e->b);
		if (!lbl && e->peer == DOMID_INVALID)   /* no other end: say nothing of one */
			snprintf(buf, len, "%s dom%u (%u, %u)", e->text, e->domid, e->a, e->b);
		break;
	default:
		snprintf(buf, len, "%s", e->text);
		break;
	}
}

static void trace_write_locked(struct scn_run *run, const struct scn_trace_rec *e)
{
	char what[160], t[32];

	if (!run->trace)
		return;
	rec_text(e, what, sizeof(what), false);
	fprintf(run->trace, "%10lu %12s  %-8s %s\n", e->step,
		scn_time_str(e->vt_ns - run->t0_ns, t, sizeof(t)), kind_name(e->kind), what);
}

/* The XenbusState oracle: the moves a frontend or backend may make. Skipped
 * states are fine (a peer re-reads); going back is not, but for a
 * reconnect after Closed and the Reconfiguring cycle. */
static bool xb_transition_legal(unsigned from, unsigned to)
{
	enum { UNKNOWN, INITIALISING, INITWAIT, INITIALISED, CONNECTED, CLOSING, CLOSED,
	       RECONFIGURING, RECONFIGURED };

	if (to < INITIALISING || to > RECONFIGURED)
		return false;
	if (from == UNKNOWN || from == to || to == CLOSING || to == CLOSED)
		return true;   /* a new node, a re-write (resize), or going away */
	if (from == CLOSED)
		return to == INITIALISING || to == INITWAIT;   /* reconnect */
	if (from == CONNECTED && to == RECONFIGURING)
		return true;
	if (from == RECONFIGURING || from == RECONFIGURED)
		return to == RECONFIGURED || to == CONNECTED;
	return from < to && to <= CONNECTED;
}

/* The transaction oracle: a client committed after one of its own changes
 * in the transaction was refused, publishing half of an update (xenstored
 * commits it; the client should have aborted). An attacker's does not count. */
static void scn_trace_partial(struct scn_run *run, const struct sim_trace_event *ev)
{
	char dom[64];

	if (scn_dom_hostile(run, ev->domid))
		return;
	scn_run_outcome(run, SCN_OUT_FAIL, "xenstore: %s committed a transaction after its %s: a "
			"partial update published (abort it instead)",
			scn_dom_label(run, ev->domid, dom, sizeof(dom)), ev->text);
}

/* The entry of a state node the file wrote, or NULL; with add, a free one
 * is taken for it (NULL when the table is full). Caller holds trace_lock. */
static struct scn_state_fake *state_fake_locked(struct scn_run *run, const char *path, bool add)
{
	for (unsigned i = 0; i < SCN_FAKED_STATES_MAX; i++) {
		struct scn_state_fake *f = &run->state_fakes[i];
		if (!f->path[0]) {
			if (!add)
				return NULL;
			snprintf(f->path, sizeof(f->path), "%s", path);
			return f;
		}
		if (strcmp(f->path, path) == 0)
			return f;
	}
	return NULL;
}

/* A state node's value the file wrote, faking its owner (xs-write, as the
 * toolstack in dom0): the next write there by another domain is judged as a
 * fresh start (a value in range), not as a move from the fake, which its
 * writer never made. The file's own moves are judged as any. Caller holds
 * trace_lock. */
static bool state_after_fake_locked(struct scn_run *run, const char *path, domid_t writer)
{
	struct scn_state_fake *f = writer ? state_fake_locked(run, path, false) : NULL;

	if (!f || !f->pending)
		return false;
	f->pending = false;
	return true;
}

void scn_trace_faked_state(struct scn_run *run, const char *path)
{
	size_t n = strlen(path);

	if (n < 6 || strcmp(path + n - 6, "/state") != 0)
		return;
	pthread_mutex_lock(&run->trace_lock);
	struct scn_state_fake *f = state_fake_locked(run, path, true);
	if (f) {
		f->writes++;
		f->pending = true;
	}
	pthread_mutex_unlock(&run->trace_lock);
}

unsigned scn_trace_faked_state_writes(struct scn_run *run, const char *path)
{
	pthread_mutex_lock(&run->trace_lock);
	const struct scn_state_fake *f = state_fake_locked(run, path, false);
	unsigned n = f ? f->writes : 0;
	pthread_mutex_unlock(&run->trace_lock);
	return n;
}

static void scn_trace_state(struct scn_run *run, const struct sim_trace_event *ev)
{
	char dom[64];

	pthread_mutex_lock(&run->trace_lock);
	bool fresh = state_after_fake_locked(run, ev->text, ev->domid);
	pthread_mutex_unlock(&run->trace_lock);
	if (xb_transition_legal(fresh ? 0 : ev->a, ev->b))
		return;
	scn_run_outcome(run, SCN_OUT_FAIL, "illegal XenbusState transition by %s on %s: %s -> %s",
			scn_dom_label(run, ev->domid, dom, sizeof(dom)), ev->text,
			xenbus_state_name(ev->a), xenbus_state_name(ev->b));
}

/* The picture shows the story's start too: the events around the first
 * fault (a few before it), which the ring of the last ones has lost by the
 * time a long run fails. */
static void tl_head_keep(struct scn_run *run, const struct scn_trace_rec *e)
{
	if (run->tl_head_n == 0 && e->kind == SIM_TR_FAULT) {
		uint64_t from = e->seq >= SCN_TIMELINE_HEAD_BEFORE ? e->seq - SCN_TIMELINE_HEAD_BEFORE : 0;
		for (uint64_t q = from; q < e->seq; q++)
			run->tl_head[run->tl_head_n++] = run->timeline[q % SCN_TIMELINE_EVENTS_MAX];
	} else if (run->tl_head_n == 0 || run->tl_head_n == SCN_TIMELINE_HEAD_MAX) {
		return;
	}
	run->tl_head[run->tl_head_n++] = *e;
}

static void scn_trace_sink(const struct sim_trace_event *ev, void *ctx)
{
	struct scn_run *run = ctx;

	pthread_mutex_lock(&run->trace_lock);
	uint64_t seq = atomic_load(&run->timeline_count);
	struct scn_trace_rec *e = &run->timeline[seq % SCN_TIMELINE_EVENTS_MAX];
	*e = (struct scn_trace_rec){.seq = seq, .step = ev->step, .vt_ns = ev->vt_ns,
				    .kind = (uint8_t)ev->kind, .domid = ev->domid, .peer = ev->peer,
				    .a = ev->a, .b = ev->b};
	/* As snprintf "%s" would, without its cost on every event. */
	size_t n = strnlen(ev->text, sizeof(e->text) - 1);
	memcpy(e->text, ev->text, n);
	e->text[n] = '\0';
	atomic_store(&run->timeline_count, seq + 1);
	tl_head_keep(run, e);
	trace_write_locked(run, e);
	if (ev->kind == SIM_TR_FAULT && strcmp(ev->text, "evtchn.notify.drop") == 0)
		scn_delay_capture_locked(run, ev->domid, ev->a);
	pthread_mutex_unlock(&run->trace_lock);
	if (ev->kind == SIM_TR_STATE)
		scn_trace_state(run, ev);
	if (ev->kind == SIM_TR_XS && ev->a == XS_TRANSACTION_END && ev->b == 0 && ev->text[0])
		scn_trace_partial(run, ev);
}

void scn_trace_start(struct scn_run *run)
{
	if (run->o->trace_path) {
		run->trace = fopen(run->o->trace_path, "w");
		if (!run->trace)
			sim_log("scenario: cannot write the trace to %s", run->o->trace_path);
		else
			fprintf(run->trace, "# %s seed %lu\n#       step         time  kind     what\n",
				run->s->path, run->seed);
	}
	sim_trace_set_sink(scn_trace_sink, run);
}

void scn_trace_stop(struct scn_run *run)
{
	sim_trace_set_sink(NULL, NULL);
	if (run->trace)
		fclose(run->trace);
	run->trace = NULL;
}

void scn_trace_line(struct scn_run *run, const char *fmt, ...)
{
	va_list ap;
	char t[32];

	pthread_mutex_lock(&run->trace_lock);
	if (run->trace) {
		fprintf(run->trace, "%10lu %12s  %-8s ", sim_sched_steps(),
			scn_time_str(sim_now_ns() - run->t0_ns, t, sizeof(t)), "harness");
		va_start(ap, fmt);
		vfprintf(run->trace, fmt, ap);
		va_end(ap);
		fputc('\n', run->trace);
	}
	pthread_mutex_unlock(&run->trace_lock);
}

void scn_note(struct scn_run *run, domid_t domid, const char *fmt, ...)
{
	char msg[SCN_TEXT_MAX];
	va_list ap;

	(void)run;   /* the note reaches the run through the trace sink */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sim_trace_event(SIM_TR_NOTE, domid, DOMID_INVALID, 0, 0, msg);
}

/* ---- the timeline picture ---- */

#define TL_LANE_W 170
#define TL_ROW_H 18
#define TL_LEFT 150
#define TL_TOP 56
#define TL_CHAR_W 7   /* monospace 11px: the verdict wraps at the picture's width */

void scn_xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
	}
}

/* Lane 0 is the harness; domains follow in declaration order. */
static int tl_lane(struct scn_run *run, domid_t domid)
{
	for (unsigned i = 0; i < run->s->ndoms; i++)
		if (run->domids[i] == domid)
			return (int)i + 1;
	return domid == DOMID_INVALID ? 0 : -1;
}

static int tl_x(int lane)
{
	return TL_LEFT + lane * TL_LANE_W;
}

static const char *tl_color(unsigned kind)
{
	switch (kind) {
	case SIM_TR_NOTIFY: return "#1f6feb";
	case SIM_TR_GRANT_MAP: case SIM_TR_GRANT_UNMAP: case SIM_TR_GRANT_COPY: return "#2da44e";
	case SIM_TR_FAULT: return "#cf222e";
	case SIM_TR_STATE: return "#8250df";
	case SIM_TR_DOMAIN: return "#bc4c00";
	default: return "#57606a";
	}
}

/* Marker ids are per picture: several pictures share one HTML page. */
static unsigned tl_id(const struct scn_run *run)
{
	return (unsigned)(run->seed * 2654435761u + run->timeline_count) & 0xffffffu;
}

static void tl_header(FILE *f, struct scn_run *run, int width, int height)
{
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"font-family=\"monospace\" font-size=\"11\">\n<defs>", width, height);
	static const unsigned kinds[] = {SIM_TR_NOTIFY, SIM_TR_GRANT_MAP, SIM_TR_FAULT, SIM_TR_STATE,
					 SIM_TR_DOMAIN, SIM_TR_NOTE};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		fprintf(f, "<marker id=\"m%x_%u\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" "
			"refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"%s\"/></marker>",
			tl_id(run), kinds[i], tl_color(kinds[i]));
	fputs("</defs>\n<text x=\"4\" y=\"34\" font-weight=\"bold\">step</text>"
	      "<text x=\"60\" y=\"34\" font-weight=\"bold\">time</text>\n", f);
	for (unsigned lane = 0; lane <= run->s->ndoms; lane++) {
		int x = tl_x((int)lane);
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d0d7de\"/>", x,
			TL_TOP - 8, x, height - 4);
		fprintf(f, "<text x=\"%d\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">", x);
		if (lane == 0)
			fputs("harness</text>", f);
		else {
			scn_xml_escape(f, run->s->doms[lane - 1].name);
			fprintf(f, "</text><text x=\"%d\" y=\"34\" text-anchor=\"middle\">dom%u</text>", x,
				run->domids[lane - 1]);
		}
		fputc('\n', f);
	}
}

static void tl_event(FILE *f, struct scn_run *run, const struct scn_trace_rec *e, int y, bool failing)
{
	char full[160], lbl[64], t[32];
	int from = tl_lane(run, e->domid), to = e->peer == DOMID_INVALID ? -1 : tl_lane(run, e->peer);
	const char *c = tl_color(e->kind);

	if (from < 0)
		from = 0;
	rec_text(e, full, sizeof(full), false);
	rec_text(e, lbl, sizeof(lbl), true);
	fprintf(f, "<g class=\"tl-%s%s\"><title>step %lu, t=%s: %s ", kind_name(e->kind),
		failing ? " tl-failing" : "", e->step, scn_time_str(e->vt_ns - run->t0_ns, t, sizeof(t)),
		kind_name(e->kind));
	scn_xml_escape(f, full);
	fputs("</title>", f);
	if (failing)   /* the last event before the verdict: where to start reading */
		fprintf(f, "<rect x=\"1\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
			"stroke=\"#cf222e\" stroke-width=\"2\"/><text x=\"%d\" y=\"%d\" fill=\"#cf222e\" "
			"font-weight=\"bold\">&lt; failed here</text>", y - TL_ROW_H / 2, tl_x((int)run->s->ndoms) + 250,
			TL_ROW_H, tl_x((int)run->s->ndoms) + 150, y + 4);
	fprintf(f, "<text x=\"4\" y=\"%d\" fill=\"#57606a\">%lu</text><text x=\"60\" y=\"%d\" "
		"fill=\"#57606a\">%s</text>", y + 4, e->step, y + 4, t);
	int x1 = tl_x(from);
	if (to >= 0 && to != from) {
		int x2 = tl_x(to);
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\"%s "
			"marker-end=\"url(#m%x_%u)\"/>", x1, y, x2 + (x2 > x1 ? -3 : 3), y, c,
			e->kind == SIM_TR_GRANT_MAP || e->kind == SIM_TR_GRANT_UNMAP ? " stroke-dasharray=\"4 2\"" : "",
			tl_id(run), e->kind >= SIM_TR_GRANT_MAP && e->kind <= SIM_TR_GRANT_COPY ? (unsigned)SIM_TR_GRANT_MAP
										      : e->kind);
		fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"%s\">", (x1 < x2 ? x1 : x2) + 6, y - 3, c);
	} else {
		fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"%s\"/>", x1, y, c);
		fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"%s\">", x1 + 8, y + 4, c);
	}
	scn_xml_escape(f, e->kind == SIM_TR_NOTE || e->kind == SIM_TR_DOMAIN ? full : lbl);
	fputs("</text></g>\n", f);
}

/* The rows of the picture: the head (around the first fault), then the
 * last events not already in it; *gap: records skipped between the two. */
static unsigned tl_rows(struct scn_run *run, const struct scn_trace_rec **rows, uint64_t *gap)
{
	uint64_t count = atomic_load(&run->timeline_count);
	uint64_t n = count < SCN_TIMELINE_EVENTS_MAX ? count : SCN_TIMELINE_EVENTS_MAX;
	uint64_t first = count - n;
	unsigned k = 0;

	for (unsigned i = 0; i < run->tl_head_n; i++)
		rows[k++] = &run->tl_head[i];
	uint64_t after = k ? rows[k - 1]->seq + 1 : 0;
	if (first < after)
		first = after;
	*gap = k && first > after ? first - after : 0;
	for (uint64_t q = first; q < count; q++)
		rows[k++] = &run->timeline[q % SCN_TIMELINE_EVENTS_MAX];
	return k;
}

/* The verdict under the last row, the whole reason, wrapped to the width. */
static int tl_verdict(FILE *f, struct scn_run *run, int y, int width)
{
	const char *r = run->reason;
	unsigned cols = (unsigned)(width - 8) / TL_CHAR_W;

	fprintf(f, "<g class=\"tl-verdict\"><text x=\"4\" y=\"%d\" fill=\"#cf222e\" "
		"font-weight=\"bold\">%s:</text>\n", y, scn_outcome_name(run->outcome));
	while (*r) {
		size_t len = strlen(r), take = len < cols ? len : cols;
		if (take < len)
			for (size_t c = take; c > cols / 2; c--)
				if (r[c] == ' ') {
					take = c;
					break;
				}
		y += TL_ROW_H;
		fprintf(f, "<text x=\"4\" y=\"%d\" fill=\"#24292f\">", y);
		char line[512];
		snprintf(line, sizeof(line), "%.*s", (int)(take < sizeof(line) ? take : sizeof(line) - 1), r);
		scn_xml_escape(f, line);
		fputs("</text>\n", f);
		r += take;
		while (*r == ' ')
			r++;
	}
	fputs("</g>\n", f);
	return y;
}

char *scn_timeline_svg(struct scn_run *run)
{
	const struct scn_trace_rec *rows[SCN_TIMELINE_EVENTS_MAX + SCN_TIMELINE_HEAD_MAX];
	char *buf = NULL;
	size_t len = 0;
	uint64_t gap;
	unsigned n = tl_rows(run, rows, &gap);
	int width = TL_LEFT + (int)run->s->ndoms * TL_LANE_W + 260;
	unsigned reason_rows = (unsigned)strlen(run->reason) / ((unsigned)(width - 8) / TL_CHAR_W) + 3;
	int height = TL_TOP + (int)(n + (gap ? 1 : 0) + reason_rows) * TL_ROW_H + 10;
	uint64_t fail_seq = atomic_load(&run->outcome_seq);
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	tl_header(f, run, width, height);
	int y = TL_TOP;
	for (unsigned i = 0; i < n; i++, y += TL_ROW_H) {
		if (i > 0 && rows[i]->seq != rows[i - 1]->seq + 1) {
			fprintf(f, "<text x=\"4\" y=\"%d\" fill=\"#57606a\">... %lu events not shown "
				"...</text>\n", y + 4, gap);
			y += TL_ROW_H;
		}
		bool failing = run->outcome != SCN_OUT_PASS && rows[i]->seq + 1 == fail_seq;
		tl_event(f, run, rows[i], y, failing);
	}
	if (run->outcome != SCN_OUT_PASS && run->reason[0])
		tl_verdict(f, run, y + 6, width);
	fputs("</svg>\n", f);
	fclose(f);
	return buf;
}
