/* Private to the `blk` workload (wl_blk.c, wl_blk_hooks.c). */
#ifndef SIM_SCENARIO_WL_BLK_INTERNAL_H
#define SIM_SCENARIO_WL_BLK_INTERNAL_H

#include "drivers/blk/blkfront.h"
#include "drivers/blk/blkwork.h"
#include "sim/scenario/toolstack.h"
#include "sim/scenario/wl_blk.h"

#define BW_STATE_CHECK_SLICES 8u          /* backend state read every N slices */
#define BW_POOL_SLACK_PAGES 64u           /* blkfront's pool grows by chunks of this */
#define BW_FRONT_ORDER_MAX 4u              /* front-order=: blkfront's ring order limit */
#define BW_FRONT_INDIRECT_MAX 512u         /* front-indirect=: as indirect= */
#define BW_SIZE_BYTES_MAX (1ull << 34)      /* size= and the resize action */

enum bw_param { BW_P_FRONT, BW_P_BACK, BW_P_DEVID, BW_P_SIZE, BW_P_SECTOR, BW_P_IOS, BW_P_QD,
		BW_P_MIN, BW_P_MAX, BW_P_READ, BW_P_FLUSH, BW_P_DISCARD, BW_P_PERSISTENT,
		BW_P_INDIRECT, BW_P_ORDER, BW_P_PGRANTS, BW_P_MODE, BW_P_ERRORS, BW_P_SLOW,
		BW_P_DRAIN, BW_P_PLUG_WAIT, BW_P_SELFTEST, BW_P_FGRANTS, BW_P_FORDER, BW_P_FINDIRECT,
		BW_P_QUEUES, BW_P_FEATURES, BW_P_AT, BW_P_DISK, BW_P_COUNT };
_Static_assert(BW_P_COUNT <= SCN_PARAMS_MAX, "blk parameters fit the table");

enum bw_counter { BW_C_DONE, BW_C_CONNECTS, BW_C_IO_ERRORS, BW_C_DISK_ERRORS, BW_C_UNPLUGS,
		  BW_C_PLUGS, BW_C_SUSPENDS, BW_C_IDLE_CHECKS, BW_C_CANCELED, BW_C_RESIZES, BW_C_COUNT };

/* Where the device stands for the toolstack hooks. */
enum bw_plug {
	BW_PLUGGED,
	BW_CLOSING,      /* asked the backend to close; waiting for Closed */
	BW_UNPLUGGED,    /* nodes gone, blkfront closed; waiting for a plug */
	BW_ENDED,        /* unplugged and no plug came: the workload ended */
};

enum bw_selftest { BW_ST_NONE, BW_ST_UNPLUG, BW_ST_REPLUG, BW_ST_SUSPEND, BW_ST_RELOAD };

struct bw {
	struct scn_wl *wl;
	domid_t fe, be;
	bool fe_alive, be_alive, be_ref;
	bool readonly, cont;              /* readonly: mode=r or disk=ro, the vbd must be read-only */
	bool mode_ro, disk_ro;            /* mode=r (the toolstack's mode key), disk=ro (the store) */
	struct xenbus_device dev;
	const char *fe_keys[5], *be_keys[7];
	char vdev[16], disk[SCN_NAME_MAX + 8];
	struct blkback_config bcfg;
	domid_t home_be;                  /* back=: features= before '>'; any other, or restarted: after */
	bool home_set;
	bool offers_all;                  /* every backend so far offered the flushes and discards asked for */
	struct blk_store *store;
	uint64_t sum_start;               /* read-only: the disk's checksum before */
	struct blkfront_config fcfg;
	struct blkfront *bf;
	struct blkwork_config wcfg;
	struct blkwork *work;
	unsigned slices;
	uint64_t grants_max;              /* the guest's most grants active at once */
	uint8_t probe[4096];              /* a read-only vbd's write probe (never sent) */
	/* toolstack hooks */
	enum bw_plug plug;
	bool plug_pending;                /* re-attach once detached */
	domid_t plug_to;                  /* ... to this backend */
	struct scn_destroy *destroy;      /* the toolstack's, under way */
	bool detach_paused;               /* the backend was paused meanwhile */
	struct event *plug_wait_ev;       /* on the front's loop */
	atomic_bool plug_wait_over;
	/* selftest= */
	enum bw_selftest st;
	uint64_t st_at;
	domid_t st_to;
	bool st_done;
	/* resize (wl_blk_resize.c) */
	_Atomic uint64_t disk_bytes;      /* the disk's size as the toolstack last set it */
	_Atomic uint64_t front_size;      /* what blkfront last reported (front thread) */
	struct event *resize_ev;          /* on the front's loop: the end waited too long */
	atomic_bool resize_waiting;
	_Atomic uint64_t c[BW_C_COUNT];
};

/* wl_blk.c */
void bw_count_set(struct bw *w, enum bw_counter c, uint64_t v);
void bw_count_add(struct bw *w, enum bw_counter c);
bool bw_exact(const struct bw *w);
void bw_device(struct bw *w, domid_t be);
int bw_attach(struct bw *w, domid_t be);
int bw_front_open(void *arg);
int bw_front_close(void *arg);
void bw_finished(void *arg);

/* wl_blk_resize.c */
int bw_resize(struct scn_wl *wl, uint64_t size_bytes);
void bw_resize_follow(struct bw *w);
bool bw_resize_hold(struct bw *w);

/* wl_blk_hooks.c */
int bw_unplug(struct scn_wl *wl);
int bw_plug(struct scn_wl *wl);
int bw_suspend(struct scn_wl *wl, domid_t guest, domid_t new_back);
void bw_hooks_check(struct bw *w);
void bw_hooks_stop(struct bw *w);
int bw_selftest_validate(const char *s, char *err, size_t len);
int bw_selftest_parse(struct bw *w);

#endif
