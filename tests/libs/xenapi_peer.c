/*
 * A program that knows nothing of xensim: Xen's headers, Debian's libraries
 * (-lxenevtchn -lxengnttab -lxenstore). What a dom0 tool does on real Xen:
 * share a page with itself and map it, bind an interdomain event channel to
 * itself and notify both ways (waiting with poll() on the evtchn fd), and use
 * xenstore (read its home, write, watch). Run with LD_LIBRARY_PATH=build/lib
 * it runs on the sim (tests/check-libs.sh); without, on a host with no
 * /dev/xen, it must fail.
 *
 *   xenapi_peer            the checks above, everything closed at the end
 *   xenapi_peer guest N    also: dom N exists with name GUEST (XENSIM_DOMAINS),
 *                          dom0 can grant to it and offer it a port, but
 *                          cannot map a grant meant for it
 *   xenapi_peer leak       leave a shared page and a port open (XENSIM_REPORT)
 *
 * Prints "xenapi_peer: ok" and exits 0, or names the failed step and exits 1.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#define PAGE_BYTES 4096u
#define WAIT_MS 5000

static int fail(const char *step)
{
	fprintf(stderr, "xenapi_peer: %s failed: %s\n", step, strerror(errno));
	exit(1);
}

#define CHECK(cond, step) ((cond) ? (void)0 : (void)fail(step))

/* Wait for one event on the handle with poll() on its fd; returns the port. */
static evtchn_port_t wait_event(xenevtchn_handle *xce)
{
	struct pollfd pfd = {.fd = xenevtchn_fd(xce), .events = POLLIN};

	CHECK(poll(&pfd, 1, WAIT_MS) == 1, "poll on the event-channel fd");
	xenevtchn_port_or_error_t p = xenevtchn_pending(xce);
	CHECK(p >= 0, "xenevtchn_pending");
	CHECK(xenevtchn_unmask(xce, (evtchn_port_t)p) == 0, "xenevtchn_unmask");
	return (evtchn_port_t)p;
}

static void nothing_pending(xenevtchn_handle *xce)
{
	struct pollfd pfd = {.fd = xenevtchn_fd(xce), .events = POLLIN};

	errno = 0;
	CHECK(poll(&pfd, 1, 50) == 0, "no event expected");
}

static void evtchn_loop(bool leak)
{
	xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
	CHECK(xce != NULL, "xenevtchn_open");
	int a = xenevtchn_bind_unbound_port(xce, 0);
	CHECK(a > 0, "xenevtchn_bind_unbound_port(0)");
	int b = xenevtchn_bind_interdomain(xce, 0, (evtchn_port_t)a);
	CHECK(b > 0 && b != a, "xenevtchn_bind_interdomain(0, a)");
	CHECK(wait_event(xce) == (evtchn_port_t)b, "the new port starts pending");
	CHECK(xenevtchn_notify(xce, (evtchn_port_t)a) == 0, "notify a");
	CHECK(wait_event(xce) == (evtchn_port_t)b, "a -> b");
	CHECK(xenevtchn_notify(xce, (evtchn_port_t)b) == 0, "notify b");
	CHECK(wait_event(xce) == (evtchn_port_t)a, "b -> a");
	nothing_pending(xce);
	CHECK(xenevtchn_unbind(xce, (evtchn_port_t)b) == 0, "unbind b");
	/* Xen: a send on a port whose peer closed succeeds and delivers nothing. */
	CHECK(xenevtchn_notify(xce, (evtchn_port_t)a) == 0, "notify a after the peer closed");
	nothing_pending(xce);
	if (leak)
		return;
	CHECK(xenevtchn_unbind(xce, (evtchn_port_t)a) == 0, "unbind a");
	CHECK(xenevtchn_close(xce) == 0, "xenevtchn_close");
}

static void grant_loop(bool leak)
{
	xengntshr_handle *gsh = xengntshr_open(NULL, 0);
	xengnttab_handle *xgt = xengnttab_open(NULL, 0);
	uint32_t ref;

	CHECK(gsh && xgt, "xengntshr_open / xengnttab_open");
	unsigned char *mine = xengntshr_share_pages(gsh, 0, 1, &ref, 1);
	CHECK(mine != NULL, "xengntshr_share_pages(to dom0)");
	for (unsigned i = 0; i < PAGE_BYTES; i++)
		mine[i] = (unsigned char)(i * 7 + 3);
	unsigned char *map = xengnttab_map_grant_ref(xgt, 0, ref, PROT_READ | PROT_WRITE);
	CHECK(map != NULL, "xengnttab_map_grant_ref(dom0's ref)");
	CHECK(map != mine, "a second mapping");
	for (unsigned i = 0; i < PAGE_BYTES; i++)
		CHECK(map[i] == (unsigned char)(i * 7 + 3), "read the shared page through the map");
	strcpy((char *)map + 100, "written through the grant");
	CHECK(strcmp((char *)mine + 100, "written through the grant") == 0, "write seen by the sharer");
	CHECK(xengnttab_unmap(xgt, map, 1) == 0, "xengnttab_unmap");
	CHECK(xengnttab_close(xgt) == 0, "xengnttab_close");
	if (leak)
		return;
	CHECK(xengntshr_unshare(gsh, mine, 1) == 0, "xengntshr_unshare");
	CHECK(xengntshr_close(gsh) == 0, "xengntshr_close");
}

static char *read_str(struct xs_handle *xs, const char *path)
{
	unsigned len = 0;
	char *v = xs_read(xs, XBT_NULL, path, &len);

	CHECK(v != NULL, path);
	return v;
}

/* The next watch event's path (poll on xs_fileno first, bounded). */
static char *next_watch(struct xs_handle *xs, const char *token)
{
	struct pollfd pfd = {.fd = xs_fileno(xs), .events = POLLIN};
	unsigned n = 0;

	CHECK(poll(&pfd, 1, WAIT_MS) == 1, "poll on xs_fileno");
	char **ev = xs_read_watch(xs, &n);
	CHECK(ev && n >= 2 && strcmp(ev[XS_WATCH_TOKEN], token) == 0, "xs_read_watch");
	char *path = strdup(ev[XS_WATCH_PATH]);
	free(ev);
	return path;
}

static void xenstore_loop(void)
{
	struct xs_handle *xs = xs_open(0);
	const char *key = "/local/domain/0/data/xenapi-peer";

	CHECK(xs != NULL, "xs_open");
	char *id = read_str(xs, "domid");   /* relative: our own home */
	CHECK(strcmp(id, "0") == 0, "our domid is 0");
	free(id);
	CHECK(xs_write(xs, XBT_NULL, key, "", 0), "xs_write");
	CHECK(xs_watch(xs, key, "tok"), "xs_watch");
	char *p = next_watch(xs, "tok");     /* a watch fires once when set */
	CHECK(strcmp(p, key) == 0, "first watch event names the key");
	free(p);
	CHECK(xs_write(xs, XBT_NULL, key, "hello", 5), "xs_write hello");
	p = next_watch(xs, "tok");
	CHECK(strcmp(p, key) == 0, "watch event for the write");
	free(p);
	char *v = read_str(xs, key);
	CHECK(strcmp(v, "hello") == 0, "read back what was written");
	free(v);
	CHECK(xs_unwatch(xs, key, "tok"), "xs_unwatch");
	CHECK(xs_rm(xs, XBT_NULL, key), "xs_rm");
	xs_close(xs);
}

/* dom0 and a guest named by XENSIM_DOMAINS. */
static void guest_checks(const char *name, unsigned domid)
{
	struct xs_handle *xs = xs_open(0);
	char path[64];

	CHECK(xs != NULL, "xs_open");
	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	char *v = read_str(xs, path);
	CHECK(strcmp(v, name) == 0, "the guest's name in its home");
	free(v);
	xs_close(xs);
	xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
	int port = xce ? xenevtchn_bind_unbound_port(xce, domid) : -1;
	CHECK(port > 0, "xenevtchn_bind_unbound_port(guest)");
	xenevtchn_close(xce);
	xengntshr_handle *gsh = xengntshr_open(NULL, 0);
	xengnttab_handle *xgt = xengnttab_open(NULL, 0);
	uint32_t ref;
	void *page = gsh ? xengntshr_share_pages(gsh, domid, 1, &ref, 1) : NULL;
	CHECK(page != NULL, "xengntshr_share_pages(to the guest)");
	errno = 0;
	void *map = xgt ? xengnttab_map_grant_ref(xgt, 0, ref, PROT_READ) : NULL;
	CHECK(map == NULL, "dom0 must not map a grant meant for the guest");
	xengntshr_unshare(gsh, page, 1);
	xengntshr_close(gsh);
	xengnttab_close(xgt);
}

int main(int argc, char **argv)
{
	bool leak = argc > 1 && strcmp(argv[1], "leak") == 0;

	if (argc > 3 && strcmp(argv[1], "guest") == 0)
		guest_checks(argv[2], (unsigned)atoi(argv[3]));
	xenstore_loop();
	grant_loop(leak);
	evtchn_loop(leak);
	printf("xenapi_peer: ok\n");
	return 0;
}
