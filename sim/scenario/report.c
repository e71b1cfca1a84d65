/*
 * Reports: JUnit XML for CI (a testcase per scenario run, <failure> with the
 * reason and the replay command, <error> for a harness error) and one HTML
 * page: a row per scenario with verdict, seed, times and the replay command,
 * and for each failure its timeline, inline. Also the corpus listing.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sim/scenario/scn_internal.h"

#define CORPUS_FILES_MAX 4096u

int scn_report_junit(const char *path, const struct scn_report_row *rows, unsigned n)
{
	FILE *f = fopen(path, "w");
	unsigned failures = 0, errors = 0;
	double total = 0;

	if (!f)
		return -errno;
	for (unsigned i = 0; i < n; i++) {
		failures += rows[i].result.verdict == SCN_VERDICT_FAIL;
		errors += rows[i].result.verdict == SCN_VERDICT_HARNESS;
		total += rows[i].result.wall_s;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
		"<testsuite name=\"scenarios\" tests=\"%u\" failures=\"%u\" errors=\"%u\" time=\"%.3f\">\n",
		n, failures, errors, total);
	for (unsigned i = 0; i < n; i++) {
		const struct scn_report_row *r = &rows[i];
		fputs("  <testcase classname=\"scenarios.", f);
		scn_xml_escape(f, r->category);
		fputs("\" name=\"", f);
		scn_xml_escape(f, r->path);
		fprintf(f, " seed=%lu\" time=\"%.3f\">", r->result.seed, r->result.wall_s);
		if (r->result.verdict != SCN_VERDICT_PASS) {
			bool err = r->result.verdict == SCN_VERDICT_HARNESS;
			fprintf(f, "\n    <%s message=\"", err ? "error" : "failure");
			scn_xml_escape(f, r->result.reason);
			fprintf(f, "\" type=\"%s\">", scn_outcome_name(r->result.outcome));
			scn_xml_escape(f, r->result.reason);
			fputs("\nreplay: ", f);
			scn_xml_escape(f, r->replay);
			fprintf(f, "\ntrace-hash: 0x%016lx</%s>\n  ", r->result.trace_hash,
				err ? "error" : "failure");
		}
		fputs("</testcase>\n", f);
	}
	fputs("</testsuite>\n</testsuites>\n", f);
	return fclose(f) == 0 ? 0 : -EIO;
}

static const char html_head[] =
	"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>xensim scenarios</title>\n"
	"<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
	"td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}"
	"th{background:#f6f8fa}.PASS{color:#1a7f37;font-weight:bold}.FAIL{color:#cf222e;"
	"font-weight:bold}.ERROR{color:#9a6700;font-weight:bold}code{font-size:90%}"
	".tl{overflow:auto;max-height:700px;border:1px solid #d0d7de;margin:8px 0}"
	".legend span{margin-right:1.5em}.filter label{margin-right:1em}"
	".hide-notify .tl-notify,.hide-map .tl-map,.hide-unmap .tl-unmap,.hide-copy .tl-copy,"
	".hide-xs .tl-xs,.hide-state .tl-state,.hide-fault .tl-fault,.hide-domain .tl-domain,"
	".hide-note .tl-note{display:none}</style>\n"
	"<script>function tlHide(k,on){document.body.classList.toggle('hide-'+k,on)}\n"
	"function tlFail(i){var e=document.querySelector('#tl'+i+' .tl-failing');"
	"if(e)e.scrollIntoView({block:'center'})}\n"
	"window.addEventListener('load',function(){var m=location.hash.match(/hide=([a-z,]+)/);"
	"if(m)m[1].split(',').forEach(function(k){var c=document.getElementById('hide-'+k);"
	"if(c){c.checked=true;tlHide(k,true)}})});</script></head><body>\n";

/* One checkbox per event kind: hide grant copies to read the protocol. */
static void html_filter(FILE *f)
{
	static const char *const kinds[] = {"notify", "map", "unmap", "copy", "xs", "state",
					    "fault", "domain", "note"};

	fputs("<p class=\"filter\">Hide:", f);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		fprintf(f, " <label><input type=\"checkbox\" id=\"hide-%s\" onchange=\"tlHide('%s',"
			"this.checked)\">%s</label>", kinds[i], kinds[i], kinds[i]);
	fputs("</p>\n", f);
}

static void html_row(FILE *f, const struct scn_report_row *r, unsigned i)
{
	char t[32];
	const char *v = scn_verdict_name(r->result.verdict);

	fprintf(f, "<tr><td class=\"%s\">%s</td><td>", v, v);
	scn_xml_escape(f, r->path);
	fputs("<br><small>", f);
	scn_xml_escape(f, r->description ? r->description : "");
	fputs("</small></td><td>", f);
	scn_xml_escape(f, r->category);
	fprintf(f, "</td><td>%lu</td><td>%s</td><td>%s</td><td>%.2fs</td><td><code>0x%016lx</code></td><td>",
		r->result.seed, scn_outcome_name(r->result.outcome),
		scn_time_str(r->result.vt_ns, t, sizeof(t)), r->result.wall_s, r->result.trace_hash);
	if (r->result.verdict != SCN_VERDICT_PASS || r->result.outcome != SCN_OUT_PASS) {
		fprintf(f, "<a href=\"#f%u\">", i);
		scn_xml_escape(f, r->result.reason[0] ? r->result.reason : "(details)");
		fputs("</a><br>", f);
	}
	fputs("<code>", f);
	scn_xml_escape(f, r->replay);
	fputs("</code></td></tr>\n", f);
}

static void html_failure(FILE *f, const struct scn_report_row *r, unsigned i)
{
	fprintf(f, "<h3 id=\"f%u\">", i);
	scn_xml_escape(f, r->path);
	fprintf(f, " (seed %lu): %s %s</h3>\n<p>", r->result.seed, scn_outcome_name(r->result.outcome),
		r->result.verdict == SCN_VERDICT_PASS ? "as expected" : "unexpected");
	scn_xml_escape(f, r->result.reason);
	fputs("</p>\n<p>Replay: <code>", f);
	scn_xml_escape(f, r->replay);
	fputs("</code></p>\n", f);
	if (r->timeline_svg)
		fprintf(f, "<p><button onclick=\"tlFail(%u)\">show where it failed</button> (the picture "
			"starts a few events before the first fault)</p><div class=\"tl\" id=\"tl%u\">%s"
			"</div>\n", i, i, r->timeline_svg);
	else
		fputs("<p><i>no timeline (the run died or recorded no events)</i></p>\n", f);
}

int scn_report_html(const char *path, const struct scn_report_row *rows, unsigned n)
{
	FILE *f = fopen(path, "w");
	unsigned pass = 0, fail = 0, err = 0;
	time_t now = time(NULL);

	if (!f)
		return -errno;
	for (unsigned i = 0; i < n; i++) {
		pass += rows[i].result.verdict == SCN_VERDICT_PASS;
		fail += rows[i].result.verdict == SCN_VERDICT_FAIL;
		err += rows[i].result.verdict == SCN_VERDICT_HARNESS;
	}
	fputs(html_head, f);
	fprintf(f, "<h1>xensim scenarios</h1>\n<p>%u runs: %u passed, %u failed, %u harness errors. "
		"Generated %s</p>\n", n, pass, fail, err, ctime(&now));
	fputs("<table><tr><th>verdict</th><th>scenario</th><th>category</th><th>seed</th>"
	      "<th>outcome</th><th>virtual time</th><th>wall</th><th>trace hash</th>"
	      "<th>reason / replay</th></tr>\n", f);
	for (unsigned i = 0; i < n; i++)
		html_row(f, &rows[i], i);
	fputs("</table>\n", f);
	unsigned shown = 0;
	for (unsigned i = 0; i < n; i++)
		shown += rows[i].result.verdict != SCN_VERDICT_PASS || rows[i].result.outcome != SCN_OUT_PASS;
	if (shown) {
		fputs("<h2>Failures, hangs and errors (expected or not)</h2>\n<p class=\"legend\">Timelines: one lane per domain, time going "
		      "down; <span style=\"color:#1f6feb\">notifications</span><span style=\"color:#2da44e\">"
		      "grant map / unmap / copy</span><span style=\"color:#cf222e\">faults</span>"
		      "<span style=\"color:#8250df\">state changes</span><span style=\"color:#bc4c00\">"
		      "domains</span><span style=\"color:#57606a\">notes</span>. Hover for details.</p>\n", f);
		html_filter(f);
		for (unsigned i = 0; i < n; i++)
			if (rows[i].result.verdict != SCN_VERDICT_PASS || rows[i].result.outcome != SCN_OUT_PASS)
				html_failure(f, &rows[i], i);
	}
	fputs("</body></html>\n", f);
	return fclose(f) == 0 ? 0 : -EIO;
}

/* ---- the corpus ---- */

struct corpus {
	char **paths;
	unsigned n;
};

static int corpus_walk(const char *dir, struct corpus *c, unsigned depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return -errno;
	while (rc == 0 && (e = readdir(d))) {
		char p[512];
		struct stat st;
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (stat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 8)
			rc = corpus_walk(p, c, depth + 1);
		else if (S_ISREG(st.st_mode) && len > 4 && strcmp(e->d_name + len - 4, ".scn") == 0) {
			if (c->n == CORPUS_FILES_MAX)
				rc = -E2BIG;
			else if (!(c->paths[c->n++] = strdup(p)))
				rc = -ENOMEM;
		}
	}
	closedir(d);
	return rc;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int scn_corpus_list(const char *dir, char ***paths, unsigned *count)
{
	struct corpus c = {.paths = calloc(CORPUS_FILES_MAX, sizeof(char *))};
	int rc;

	*paths = NULL;
	*count = 0;
	if (!c.paths)
		return -ENOMEM;
	rc = corpus_walk(dir, &c, 0);
	if (rc < 0) {
		for (unsigned i = 0; i < c.n; i++)
			free(c.paths[i]);
		free(c.paths);
		return rc;
	}
	qsort(c.paths, c.n, sizeof(char *), path_cmp);
	*paths = c.paths;
	*count = c.n;
	return 0;
}
