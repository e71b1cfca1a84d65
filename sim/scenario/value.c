/*
 * Values in scenario files: counts with k/M/G multipliers, sizes in bytes,
 * virtual times with a unit (a bare number is refused: "5" could be 5 s or
 * 5 ms, and a scenario must read one way), probabilities, booleans and
 * XenbusState names.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "drivers/xenbus/xenbus.h"
#include "sim/scenario/scn_internal.h"

/* Digits only, no sign, no overflow. */
static int parse_digits(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*end = p;
	*out = v;
	return 0;
}

static int apply_mult(uint64_t v, uint64_t mult, uint64_t *out)
{
	if (mult && v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int scn_parse_uint(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} mults[] = {{"", 1}, {"k", 1000}, {"K", 1000}, {"M", 1000000}, {"G", 1000000000}};
	const char *end;
	uint64_t v;
	int rc = parse_digits(s, &end, &v);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sizeof(mults) / sizeof(mults[0]); i++)
		if (strcmp(end, mults[i].suffix) == 0)
			return apply_mult(v, mults[i].mult, out);
	return -EINVAL;
}

int scn_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} mults[] = {
		{"", 1}, {"B", 1}, {"k", 1ull << 10}, {"K", 1ull << 10}, {"KiB", 1ull << 10},
		{"M", 1ull << 20}, {"MiB", 1ull << 20}, {"G", 1ull << 30}, {"GiB", 1ull << 30},
	};
	const char *end;
	uint64_t v;
	int rc = parse_digits(s, &end, &v);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sizeof(mults) / sizeof(mults[0]); i++)
		if (strcmp(end, mults[i].suffix) == 0)
			return apply_mult(v, mults[i].mult, out);
	return -EINVAL;
}

/* "1.25" -> 1 and 250000000 parts per 1e9: a decimal without floating point,
 * so that the same text gives the same nanoseconds everywhere. */
static int parse_decimal(const char *s, const char **end, uint64_t *whole, uint64_t *frac_e9)
{
	int rc = parse_digits(s, end, whole);
	uint64_t scale = 100000000ull;

	*frac_e9 = 0;
	if (rc < 0 || **end != '.')
		return rc;
	const char *p = *end + 1;
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		*frac_e9 += (uint64_t)(*p - '0') * scale;
		scale /= 10;
	}
	*end = p;
	return 0;
}

int scn_parse_time(const char *s, uint64_t *out_ns)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}, {"m", 60000000000ull}};
	const char *end;
	uint64_t whole, frac;
	int rc = parse_decimal(s, &end, &whole, &frac);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		uint64_t ns;
		if (apply_mult(whole, units[i].ns, &ns) < 0)
			return -ERANGE;
		/* frac is in 1e-9 units of the unit: / 1000 first keeps it in 64 bits. */
		uint64_t f = frac / 1000ull * units[i].ns / 1000000ull;
		if (ns > UINT64_MAX - f)
			return -ERANGE;
		*out_ns = ns + f;
		return 0;
	}
	return -EDOM;   /* a number without a (known) unit */
}

int scn_parse_prob(const char *s, uint32_t *out_ppm)
{
	const char *end;
	uint64_t whole, frac, num, den;
	size_t n = strlen(s);

	if (n > 1 && s[n - 1] == '%') {
		char tmp[32];
		if (n >= sizeof(tmp))
			return -EINVAL;
		memcpy(tmp, s, n - 1);
		tmp[n - 1] = '\0';
		if (parse_decimal(tmp, &end, &whole, &frac) < 0 || *end || whole > 100 ||
		    (whole == 100 && frac))
			return -EINVAL;
		*out_ppm = (uint32_t)(whole * 10000 + frac / 100000);
		return 0;
	}
	if (strchr(s, '/')) {
		if (sscanf(s, "%lu/%lu", &num, &den) != 2 || den == 0 || num > den)
			return -EINVAL;
		*out_ppm = (uint32_t)(num * 1000000ull / den);
		return 0;
	}
	if (parse_decimal(s, &end, &whole, &frac) < 0 || *end || whole > 1 || (whole == 1 && frac))
		return -EINVAL;
	*out_ppm = (uint32_t)(whole * 1000000 + frac / 1000);
	return 0;
}

int scn_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "yes", "on", "true"};
	static const char *const no[] = {"0", "no", "off", "false"};

	for (size_t i = 0; i < 4; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

const char *scn_time_str(uint64_t ns, char *buf, size_t len)
{
	if (ns % SCN_NS_PER_S == 0)
		snprintf(buf, len, "%lus", ns / SCN_NS_PER_S);
	else if (ns >= SCN_NS_PER_S)
		snprintf(buf, len, "%lu.%06lus", ns / SCN_NS_PER_S, ns % SCN_NS_PER_S / 1000);
	else if (ns % SCN_NS_PER_MS == 0)
		snprintf(buf, len, "%lums", ns / SCN_NS_PER_MS);
	else if (ns >= SCN_NS_PER_MS)
		snprintf(buf, len, "%lu.%03lums", ns / SCN_NS_PER_MS, ns % SCN_NS_PER_MS / 1000);
	else if (ns % 1000 == 0)
		snprintf(buf, len, "%luus", ns / 1000);
	else
		snprintf(buf, len, "%luns", ns);
	return buf;
}

int scn_xenbus_state(const char *s)
{
	for (int i = 0; i <= SCN_XENBUS_STATE_LAST; i++)
		if (strcmp(s, xenbus_state_name((unsigned)i)) == 0)
			return i;
	return -1;
}
