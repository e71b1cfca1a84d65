/*
 * xensim-xsbench: the client half of `xensim bench xenstore` over the socket.
 * Linked against Debian's libxenstore.so.4, so it speaks xs_wire exactly as
 * the real tools do, to whatever $XENSTORED_PATH names. Writes N values under
 * /bench-socket, reads them back (checking each), removes the tree, and prints
 * "reads/s writes/s" on stdout.
 *
 * usage: XENSTORED_PATH=SOCK xensim-xsbench N
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xenstore.h>

#define XSB_KEYS 64u

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int xsb_writes(struct xs_handle *xs, unsigned long n)
{
	char path[64], val[32];

	for (unsigned long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/bench-socket/key%lu", i % XSB_KEYS);
		int len = snprintf(val, sizeof(val), "%lu", i);
		if (!xs_write(xs, XBT_NULL, path, val, (unsigned)len)) {
			fprintf(stderr, "xensim-xsbench: write %s: %s\n", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Key k holds the last i written with i % XSB_KEYS == k. */
static int xsb_reads(struct xs_handle *xs, unsigned long n, unsigned long writes)
{
	char path[64];

	for (unsigned long i = 0; i < n; i++) {
		unsigned long k = i % XSB_KEYS, len_expect = writes - 1 - ((writes - 1 - k) % XSB_KEYS);
		unsigned len;
		snprintf(path, sizeof(path), "/bench-socket/key%lu", k);
		char *v = xs_read(xs, XBT_NULL, path, &len);
		if (!v || strtoul(v, NULL, 10) != len_expect) {
			fprintf(stderr, "xensim-xsbench: read %s: %s (expected %lu)\n", path,
				v ? v : strerror(errno), len_expect);
			free(v);
			return -1;
		}
		free(v);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long n = argc == 2 ? strtoul(argv[1], NULL, 10) : 0;
	struct xs_handle *xs;

	if (n < XSB_KEYS) {
		fprintf(stderr, "usage: XENSTORED_PATH=SOCK xensim-xsbench N (N >= %u)\n", XSB_KEYS);
		return 2;
	}
	if (!(xs = xs_open(0))) {
		fprintf(stderr, "xensim-xsbench: xs_open: %s\n", strerror(errno));
		return 1;
	}
	double t0 = now_s();
	int rc = xsb_writes(xs, n);
	double t1 = now_s();
	if (rc == 0)
		rc = xsb_reads(xs, n, n);
	double t2 = now_s();
	if (rc == 0 && !xs_rm(xs, XBT_NULL, "/bench-socket"))
		rc = -1;
	xs_close(xs);
	if (rc == 0)
		printf("%.1f %.1f\n", (double)n / (t2 - t1), (double)n / (t1 - t0));
	return rc == 0 ? 0 : 1;
}
