/*
 * nettap (nettap.h): a Linux TAP device as a port for netpkt frames.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <event2/event.h>

#include "drivers/net/nettap.h"
#include "drivers/platform.h"

struct nettap {
	int tap_fd;
	struct event *tap_ev;
	nettap_rx_fn *tap_rx;
	void *tap_arg;
	char tap_name[IFNAMSIZ];
	struct nettap_stats tap_st;
	uint8_t tap_buf[NETPKT_FRAME_MAX + 1];   /* + 1: a frame too large for a netpkt shows */
};

static void nettap_ready(evutil_socket_t fd, short what, void *arg)
{
	struct nettap *t = arg;

	(void)what;
	for (unsigned n = 0; n < NETTAP_READS_PER_EVENT; n++) {
		ssize_t len = read(fd, t->tap_buf, sizeof(t->tap_buf));
		if (len <= 0)
			break;
		struct netpkt *p = len > NETPKT_FRAME_MAX ? NULL : netpkt_alloc((uint32_t)len);
		if (!p) {
			t->tap_st.rx_dropped++;
			continue;
		}
		memcpy(p->np_data, t->tap_buf, (size_t)len);
		p->np_flags = NETPKT_F_DATA_VALIDATED;   /* Linux checksummed it */
		t->tap_st.rx_frames++;
		t->tap_st.rx_bytes += (uint64_t)len;
		t->tap_rx(t->tap_arg, p);
	}
}

/* /dev/net/tun, attached to interface `name` as a TAP without packet info. */
static int nettap_attach(struct nettap *t, const char *name)
{
	struct ifreq ifr;
	int rc = 0;

	t->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->tap_fd < 0) {
		rc = -errno;
		xd_log("nettap %s: opening /dev/net/tun failed: %s", name, strerror(-rc));
		return rc;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(t->tap_fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		xd_log("nettap %s: TUNSETIFF failed: %s", name, strerror(-rc));
		return rc;
	}
	snprintf(t->tap_name, sizeof(t->tap_name), "%s", ifr.ifr_name);
	return rc;
}

int nettap_open(const char *name, struct event_base *base, nettap_rx_fn *rx, void *arg, struct nettap **out)
{
	struct nettap *t;
	int rc;

	if (!name || !name[0] || strlen(name) >= IFNAMSIZ || !base || !rx)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->tap_rx = rx;
	t->tap_arg = arg;
	rc = nettap_attach(t, name);
	if (rc == 0) {
		t->tap_ev = event_new(base, t->tap_fd, EV_READ | EV_PERSIST, nettap_ready, t);
		rc = t->tap_ev && event_add(t->tap_ev, NULL) == 0 ? 0 : -ENOMEM;
	}
	if (rc < 0) {
		nettap_close(t);
		return rc;
	}
	*out = t;
	return 0;
}

static int nettap_write(struct nettap *t, const struct netpkt *p)
{
	ssize_t n = write(t->tap_fd, p->np_data, p->np_len);

	if (n == (ssize_t)p->np_len) {
		t->tap_st.tx_frames++;
		t->tap_st.tx_bytes += p->np_len;
		return 0;
	}
	if (t->tap_st.tx_errors++ == 0)
		xd_log("nettap %s: write of a %u-byte frame failed: %s", t->tap_name, p->np_len,
		       n < 0 ? strerror(errno) : "short write");
	return -EIO;
}

/* A segment of a cut: completed, written, freed. */
static int nettap_emit(void *arg, struct netpkt *seg)
{
	struct nettap *t = arg;
	int rc = netpkt_csum_complete(seg);

	if (rc == 0)
		rc = nettap_write(t, seg);
	netpkt_free(seg);
	return rc;
}

int nettap_send(struct nettap *t, const struct netpkt *p)
{
	struct netpkt *c;
	int rc;

	if (p->np_gso_type != NETPKT_GSO_NONE) {
		rc = netpkt_gso_segment(p, nettap_emit, t);
		t->tap_st.tx_gso_cut += rc == 0;
	} else if (p->np_flags & NETPKT_F_CSUM_PARTIAL) {
		c = netpkt_clone(p);
		rc = c ? nettap_emit(t, c) : -ENOMEM;
	} else {
		rc = nettap_write(t, p);
	}
	if (rc < 0 && rc != -EIO)   /* -EIO is counted where it happened */
		t->tap_st.tx_errors++;
	return rc;
}

void nettap_stats(const struct nettap *t, struct nettap_stats *out)
{
	*out = t->tap_st;
}

const char *nettap_name(const struct nettap *t)
{
	return t->tap_name;
}

void nettap_close(struct nettap *t)
{
	if (!t)
		return;
	if (t->tap_ev)
		event_free(t->tap_ev);
	if (t->tap_fd >= 0)
		close(t->tap_fd);
	free(t);
}
