/*
 * drivers/xenbus: what the split-driver pairs share. XenbusState read/switch,
 * typed key access, a watch dispatcher that runs on a libevent loop (fed by
 * xs_fileno()), backend discovery (watch on backend/<type>), the frontend's
 * lookup of its backend, an event channel with late unmask (storm limit), a
 * backend's device lifecycle (blkback's and netback's handshake, one code),
 * and the toolstack role: creating and destroying a device's xenstore nodes
 * the way libxl does.
 *
 * Only Xen's API (xenstore.h, xenevtchn.h) and libevent underneath, so the
 * same code runs on the sim and on real Xen. Functions return 0 or a negative
 * errno unless they say otherwise; xenstore failures pass errno through
 * (-ENOENT missing node, -EACCES, -EAGAIN transaction conflict, ...).
 * Nothing here may be called from another thread than the one running the
 * event_base given to xenbus_open().
 */
#ifndef XENSIM_DRIVERS_XENBUS_H
#define XENSIM_DRIVERS_XENBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xenevtchn.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

struct event_base;
struct event;

/* ---- limits ---- */
#define XENBUS_PATH_MAX 256u            /* our device paths; xenstore allows 3072 */
#define XENBUS_DIR_MAX 192u             /* a device directory: room for keys below */
#define XENBUS_VALUE_MAX 2048u          /* xenstored's default value quota */
#define XENBUS_WATCHES_MAX 128u         /* per handle: xenstored's default quota */
#define XENBUS_EVENTS_PER_DISPATCH 64u  /* watch events handled per loop turn */
#define XENBUS_TX_RETRIES 16u           /* EAGAIN at commit: redo this many times */
#define XENBUS_DEVID_ANY UINT32_MAX     /* discovery: "every device under here" */

/* ---- states ---- */

/* "Connected", ... or "invalid" for a value outside the enum. Never NULL. */
const char *xenbus_state_name(unsigned state);
/* Read <dir>/state. -ENOENT if absent, -EINVAL if not a decimal 0..8. */
int xenbus_state_read(struct xs_handle *xs, const char *dir, XenbusState *out);
/* The same in transaction t (a change before the commit makes it fail). */
int xenbus_state_read_in(struct xs_handle *xs, xs_transaction_t t, const char *dir, XenbusState *out);
/* Write <dir>/state, only if <dir> still exists (never resurrects a removed
 * device directory): -ENOENT then. Re-writing the same state is a write too
 * (a backend re-writes Connected to signal a resize). */
int xenbus_state_switch(struct xs_handle *xs, const char *dir, XenbusState state);

/* Write <dir>/error = msg and <dir>/state = Closing in one transaction, if
 * <dir> still exists (like Linux's xenbus_dev_fatal). */
int xenbus_dev_fatal(struct xs_handle *xs, const char *dir, const char *msg);

/* ---- keys ---- */

/* <dir>/<key> as an unsigned decimal <= max. -ENOENT absent, -EINVAL
 * malformed or over max. */
int xenbus_read_uint(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		     const char *key, uint64_t max, uint64_t *out);
/* Like xenbus_read_uint, but an absent key gives dflt. */
int xenbus_read_uint_or(struct xs_handle *xs, xs_transaction_t t, const char *dir,
			const char *key, uint64_t max, uint64_t dflt, uint64_t *out);
/* <dir>/<key> into buf (NUL-terminated). -ENOENT absent, -E2BIG too long. */
/* Is path there (a node or a directory)? 0, -ENOENT, or another -errno. */
int xenbus_exists(struct xs_handle *xs, xs_transaction_t t, const char *path);
int xenbus_read_str(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		    const char *key, char *buf, size_t len);
int xenbus_write_fmt(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		     const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Remove <dir>/<key> (key NULL: dir itself); an absent node is not an error. */
int xenbus_rm(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key);
/* Run fn inside a transaction; a conflict at commit (EAGAIN) reruns it, up to
 * XENBUS_TX_RETRIES times. fn's negative return aborts the transaction if
 * fn wrote in it; if it only read, the transaction is committed anyway and
 * a conflict reruns it (its reads may have seen a mixed view), else fn's
 * error is returned. Writes in t that do not go through xenbus_write_fmt or
 * xenbus_rm must call xenbus_tx_note_write(t) first. */
typedef int xenbus_tx_fn(struct xs_handle *xs, xs_transaction_t t, void *arg);
int xenbus_transact(struct xs_handle *xs, xenbus_tx_fn *fn, void *arg);
void xenbus_tx_note_write(xs_transaction_t t);

/* A frontend answers its backend's offer: setup makes the rings from the
 * backend's keys as they are; then, in one transaction, check reads the
 * offer again and publish writes the rings' keys. check says -EINPROGRESS
 * if the backend no longer waits for us (a restarted driver domain
 * recreates its directory, its keys only before its own InitWait), -ESTALE
 * if the offer is not what the rings were made for, or another error (a
 * refusal). Its verdict counts only once the transaction commits (nothing
 * written): reads that a change made inconsistent are read again.
 * Returns 0 (published), -EINPROGRESS (rings torn down: the backend's next
 * state brings the frontend back), -ESTALE (torn down: the offer changed
 * XENBUS_OFFER_TRIES times), or another error with the rings still set up. */
#define XENBUS_OFFER_TRIES 4u
struct xenbus_offer_ops {
	int (*setup)(void *arg);
	void (*teardown)(void *arg);
	xenbus_tx_fn *check, *publish;
};
int xenbus_offer_answer(struct xs_handle *xs, const struct xenbus_offer_ops *ops, void *arg);

/* ---- the watch dispatcher ---- */

struct xenbus;
struct xenbus_watch;
/* Called from the loop with the path the event names (relative watches get
 * relative paths). Events may be coalesced: re-read, never count on them. */
typedef void xenbus_watch_fn(void *arg, const char *path);

/* Open a xenstore connection (xs_open(0)) and serve its watches from base.
 * -ENOMEM, or errno of xs_open. */
int xenbus_open(struct event_base *base, struct xenbus **out);
/* Remove every watch and close. Not from inside one of its own callbacks. */
void xenbus_close(struct xenbus *xb);
struct xs_handle *xenbus_xs(struct xenbus *xb);
struct event_base *xenbus_base(struct xenbus *xb);
/* Watch path; fn runs once soon (xenstore fires on registration) and on every
 * change at or below it. -ENOSPC past XENBUS_WATCHES_MAX. */
int xenbus_watch(struct xenbus *xb, const char *path, xenbus_watch_fn *fn, void *arg,
		 struct xenbus_watch **out);
/* Safe from inside fn of this or another watch; NULL is ignored. */
void xenbus_unwatch(struct xenbus *xb, struct xenbus_watch *w);

/* ---- devices ---- */

/* Backend discovery: watch backend/<type> (relative to the calling domain).
 * fn(arg, fe, devid) is called for each device directory under a changed
 * path, and with XENBUS_DEVID_ANY (and fe XENBUS_DEVID_ANY too for the top)
 * when a whole level changed or went away: the callee re-reads what it owns. */
typedef void xenbus_device_fn(void *arg, uint32_t fe_domid, uint32_t devid);
int xenbus_discover(struct xenbus *xb, const char *type, xenbus_device_fn *fn, void *arg,
		    struct xenbus_watch **out);

/* The frontend's view of its device: read device/<type>/<devid>/backend and
 * backend-id and check they agree (backend path under that domain's
 * backend/<type>/). -ENOENT no such device, -EINVAL inconsistent keys. */
struct xenbus_otherend {
	char path[XENBUS_DIR_MAX];    /* the backend directory, absolute */
	uint32_t domid;               /* the backend domain */
};
int xenbus_frontend_lookup(struct xs_handle *xs, const char *type, uint32_t devid,
			   struct xenbus_otherend *out);

/* ---- the toolstack role ---- */

/* One device as a toolstack creates it. Key lists are NULL-terminated
 * {key, value, key, value, ..., NULL} arrays (may be NULL). */
struct xenbus_device {
	const char *type;             /* "vbd", "vif" */
	uint32_t fe_domid, be_domid, devid;
	const char *const *fe_keys;   /* e.g. virtual-device, device-type */
	const char *const *be_keys;   /* e.g. mode, params, type */
};
/* /local/domain/<fe>/device/<type>/<devid> and
 * /local/domain/<be>/backend/<type>/<fe>/<devid>. -ENAMETOOLONG. */
int xenbus_device_paths(const struct xenbus_device *dev, char *fe_path, char *be_path,
			size_t len);
/* Write both directories in one transaction, as libxl does: the frontend dir
 * owned by the guest with read access for the backend domain, the backend dir
 * owned by the backend domain with read access for the guest; keys backend,
 * backend-id, state=1 (front) and frontend, frontend-id, online=1, state=1
 * (back), plus the given keys. Replaces leftovers of an earlier device there. */
int xenbus_device_create(struct xs_handle *xs, const struct xenbus_device *dev);
/* After the backend domain restarted (its home went with it): the backend
 * directory again, as xenbus_device_create writes it. The frontend's is left
 * alone: the guest lives on, and its keys (rings, channel, state) are what
 * the new backend must find to reconnect; only the new backend domain's read
 * access to them is given again (xenstored dropped the dead one's). */
int xenbus_device_backend_recreate(struct xs_handle *xs, const struct xenbus_device *dev);
/* Ask for an orderly removal: backend online=0 and state=Closing. */
int xenbus_device_close(struct xs_handle *xs, const struct xenbus_device *dev);
/* Remove both directories and the parents left empty below the domains'
 * home directories (libxl's path cleanup). Absent directories are fine. */
int xenbus_device_remove(struct xs_handle *xs, const struct xenbus_device *dev);
/* The whole destroy, asynchronously on xb's loop: close, wait until the
 * backend reports Closed (or its directory is gone), then remove; after
 * timeout_ms remove anyway (done gets -ETIMEDOUT). done(arg, rc) runs once. */
typedef void xenbus_done_fn(void *arg, int rc);
int xenbus_device_destroy(struct xenbus *xb, const struct xenbus_device *dev,
			  unsigned timeout_ms, xenbus_done_fn *done, void *arg);

/* ---- a backend's device: the lifecycle blkback and netback share ---- */

/* One device a backend serves, driven by xenstore alone: every event (the
 * frontend's state, the device's keys, a violation, a timeout) leads to
 * xenbus_backend_sync(), which reads the frontend's state and online and does
 * what (phase, state) asks, calling the driver's ops. Transitions written are
 * only legal ones: a connection that ends goes Closing or Closed, and a new
 * one starts from Closed (Closed -> InitWait), never from Connected. A
 * connection is made on one consistent view of the frontend's directory:
 * its keys are read (as a digest) with its state in one transaction before
 * connect(), and again in the transaction that announces Connected; if they
 * changed (a frontend that restarted meanwhile, whose grant refs may now
 * mean other pages), the rings are let go and we wait in InitWait. Once
 * Connected, a frontend showing its rings with other keys than those
 * (it reconnected between two of our looks, taking our Connected for its
 * new rings) is connected to again, in place: its new rings are served. */
enum xenbus_backend_phase {
	XENBUS_BE_NEW,        /* found, nothing published */
	XENBUS_BE_INITWAIT,   /* features published, waiting for the frontend's rings */
	XENBUS_BE_CONNECTED,
	XENBUS_BE_CLOSING,    /* asked the frontend to close, waiting (bounded) */
	XENBUS_BE_CLOSED,     /* disconnected; a frontend back at Initialising reconnects */
	XENBUS_BE_REFUSED,    /* nothing we can serve: left alone until removed */
};

struct xenbus_backend_ops {
	/* Publish the features and state InitWait (one transaction). */
	int (*publish)(void *arg);
	/* Map the rings and bind the channels the frontend's keys name. On
	 * failure, why (may stay empty) says what the frontend got wrong. */
	int (*connect)(void *arg, char *why, size_t why_len);
	/* Inside transaction t: write what the frontend reads once we are
	 * Connected, and state Connected. The helper commits it only if the
	 * frontend's keys are still those connect() used. */
	int (*announce)(struct xs_handle *xs, xs_transaction_t t, void *arg);
	/* Connected and announced (counters, the link); may be NULL. */
	void (*up)(void *arg);
	/* Let go of the rings and channels; called whenever a connection may
	 * have ended (idempotent). */
	void (*disconnect)(void *arg);
	/* The toolstack removed the device: unlink and free it (from the loop,
	 * never inside the sync that found it). */
	void (*gone)(void *arg);
	/* A line for the log (the driver bounds and prefixes it). */
	void (*log)(void *arg, const char *line);
	uint32_t ready_states;   /* 1u << XenbusState the frontend shows its rings in */
	unsigned close_timeout_ms;   /* the frontend's answer to Closing */
};

struct xenbus_backend_dev {
	struct xenbus *bd_xb;
	const struct xenbus_backend_ops *bd_ops;
	void *bd_arg;
	uint32_t bd_fe_domid, bd_devid;
	char bd_dir[XENBUS_DIR_MAX];      /* backend/<type>/<fe>/<devid> (relative) */
	char bd_fe_dir[XENBUS_DIR_MAX];   /* the frontend's, absolute, as the toolstack wrote it */
	enum xenbus_backend_phase bd_phase;
	struct xenbus_watch *bd_fe_watch;
	struct event *bd_defer_ev;        /* sync or free, later from the loop */
	struct event *bd_close_timer;
	bool bd_fatal_pending, bd_gone;
	uint64_t bd_fe_keys;              /* Connected: digest of the frontend's keys used */
	bool bd_fe_served;                /* Connected: to those keys (not between two tries) */
};

/* Read frontend and frontend-id (they must name device/<type>/<devid> of
 * fe_domid), make the events and watch the frontend's state (the first sync
 * comes from the loop). -ENOENT keys not all written yet, -EINVAL they
 * disagree, -ENOMEM. On failure, xenbus_backend_fini() still cleans up. */
int xenbus_backend_init(struct xenbus_backend_dev *bd, struct xenbus *xb, const char *type,
			uint32_t fe_domid, uint32_t devid, const struct xenbus_backend_ops *ops, void *arg);
/* Unwatch and free the events; the driver disconnected first. */
void xenbus_backend_fini(struct xenbus_backend_dev *bd);
void xenbus_backend_sync(struct xenbus_backend_dev *bd);
/* For a backend's publish transaction: write <dir>/state = InitWait, unless
 * the toolstack has taken the device offline (online != 1): -ESHUTDOWN, and
 * the lifecycle goes Closed instead of a Closing -> InitWait step. */
int xenbus_backend_initwait_tx(struct xs_handle *xs, xs_transaction_t t, const char *dir);
/* Sync later, from the loop (discovery saw a change under the device). */
void xenbus_backend_kick(struct xenbus_backend_dev *bd);
/* The frontend broke the protocol: write msg as the device's error with
 * state Closing, disconnect from the loop. false if one was pending already. */
bool xenbus_backend_fatal(struct xenbus_backend_dev *bd, const char *msg);
void xenbus_backend_refuse(struct xenbus_backend_dev *bd);
/* The backend stops: disconnect and say Closed (if anything was published);
 * the device stays in xenstore for a successor. */
void xenbus_backend_stop(struct xenbus_backend_dev *bd);

/* ---- event channels with a storm limit ---- */

/* One interdomain port on its own xenevtchn handle, served from a libevent
 * loop. fn runs with the port masked and returns whether the event found work;
 * the port is unmasked after it returns, at once, or after a delay that grows
 * while events keep finding nothing (XSA-332: a peer cannot make us spin). */
struct xenbus_evtchn;
typedef bool xenbus_evtchn_fn(void *arg);
#define XENBUS_EVTCHN_SPURIOUS_FREE 16u   /* empty events in a row before delays */
#define XENBUS_EVTCHN_DELAY_US_MIN 100u
#define XENBUS_EVTCHN_DELAY_US_MAX 50000u
struct xenbus_evtchn_stats {
	uint64_t events, spurious, delayed, notifies;
};
/* Frontend side: a fresh unbound port that remote_domid may bind. */
int xenbus_evtchn_alloc(struct event_base *base, uint32_t remote_domid, xenbus_evtchn_fn *fn,
			void *arg, struct xenbus_evtchn **out);
/* Backend side: bind to the peer's port. */
int xenbus_evtchn_bind(struct event_base *base, uint32_t remote_domid, uint32_t remote_port,
		       xenbus_evtchn_fn *fn, void *arg, struct xenbus_evtchn **out);
evtchn_port_t xenbus_evtchn_port(const struct xenbus_evtchn *ch);
/* -errno of xenevtchn_notify (the peer may have closed its end). */
int xenbus_evtchn_notify(struct xenbus_evtchn *ch);
void xenbus_evtchn_stats(const struct xenbus_evtchn *ch, struct xenbus_evtchn_stats *out);
/* Unbind and close the handle. Safe from inside its own fn (freed after it
 * returns). NULL is ignored. */
void xenbus_evtchn_close(struct xenbus_evtchn *ch);

#endif
