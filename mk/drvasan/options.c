/*
 * build-drvasan/xensim only: the sanitizer's defaults for a scenario engine.
 * A driver's memory error aborts the run's process (its isolated child: the
 * run dies with the report as its log, the next run goes on); no leak report
 * at exit (leaks are the resource oracles' business, per domain and per run).
 */
const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
	return "detect_leaks=0:abort_on_error=1";
}
