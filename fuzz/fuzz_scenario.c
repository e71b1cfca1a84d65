/*
 * fuzz_scenario: a scenario file's text into the real parser
 * (scn_parse_text). It must parse (0), or refuse with -EINVAL and a message
 * "NAME:LINE: ..." naming the file and a line of it; never crash, leak or
 * read past the text. A parsed scenario is also copied and freed (scn_dup),
 * which walks every line the parser kept.
 */
#include <errno.h>
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/scenario/scenario.h"

#define FZS_NAME "fuzz.scn"
#define FZS_TEXT_MAX (64u * 1024u)   /* longer inputs are cut: the parser's own line cap is far below */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return sim_init() < 0;
}

/* "fuzz.scn:N: message" with 1 <= N <= the number of lines + 1. */
static void fzs_check_error(const char *err, const char *text)
{
	const char *p = err + strlen(FZS_NAME ":");
	unsigned long line, lines = 1;
	char *end;

	if (strncmp(err, FZS_NAME ":", strlen(FZS_NAME ":")) != 0)
		FUZZ_FAIL("error does not name the file: '%s'", err);
	line = strtoul(p, &end, 10);
	if (end == p || *end != ':')
		FUZZ_FAIL("error does not name a line: '%s'", err);
	for (const char *c = text; *c; c++)
		lines += *c == '\n';
	if (line == 0 || line > lines + 1)
		FUZZ_FAIL("error names line %lu of %lu: '%s'", line, lines, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct scenario *s = NULL;
	char *text;
	int rc;

	if (size > FZS_TEXT_MAX)
		size = FZS_TEXT_MAX;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = scn_parse_text(FZS_NAME, text, &s, err, sizeof(err));
	if (rc == 0) {
		struct scenario *copy = scn_dup(s);
		if (!copy)
			FUZZ_FAIL("scn_dup of a parsed scenario failed");
		scn_free(copy);
		scn_free(s);
	} else if (rc == -EINVAL) {
		fzs_check_error(err, text);
	} else if (rc != -ENOMEM) {
		FUZZ_FAIL("scn_parse_text returned %d (%s)", rc, err);
	}
	free(text);
	return 0;
}
