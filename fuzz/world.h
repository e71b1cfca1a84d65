/*
 * The world the four driver targets (fuzz_blkback, fuzz_netback,
 * fuzz_blkfront, fuzz_netfront) share: dom0 and guest1 on the real sim, each
 * with an event loop (a libevent event_base) that the fuzzer's own thread
 * runs, acting for that domain (sim_thread_enter) while it does.
 *
 * Why one thread: a driver is written for one loop, "every function runs on
 * the thread of cfg->base's loop" (drivers/blk/blkback.h and the others), and
 * anything that thread runs is the driver's real code: the handlers the
 * domain thread would run, run from the same event_base, on the same
 * primitives (event channels and xenstore reach it through their file
 * descriptors). Driving both loops from the fuzzer's thread makes an input a
 * few loop passes instead of a round trip between three threads (tens of
 * thousands of context switches a second on a loaded machine): the domains'
 * own threads are created but stay idle. Nothing in drivers/ changes.
 *
 * Identity: a Xen API call is made by the domain the calling thread acts for.
 * fw_pump() runs each loop as its domain; fw_call() runs harness code as a
 * domain (what sim_domain_call did on the domain's thread); the toolstack's
 * xenstore handle (fw_xs) belongs to dom0: fw_state() acts as dom0 for it.
 */
#ifndef XENSIM_FUZZ_WORLD_H
#define XENSIM_FUZZ_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include <xenstore.h>
#include <xen/io/xenbus.h>

struct event_base;

#define FW_DOMAINS 2u           /* dom0 (backend, toolstack) and guest1 (frontend) */
#define FW_WAIT_MS 20000u       /* a bounded wait that runs out is a hang */
#define FW_SETTLE_PASSES 4096u  /* a settle that takes more passes is a live-lock */
#define FW_TIMER_SOON_US 500u   /* a timer this close to due still counts as work */

/* Set up the sim, dom0 (privileged) and guest1, their home directories, the
 * toolstack's xenstore handle and both loops. Fails the process if it cannot. */
void fw_init(void);
/* The loop of domain d (0 or 1): give it to the driver that d runs. */
struct event_base *fw_base(unsigned d);
/* The toolstack's xenstore handle (dom0's). */
struct xs_handle *fw_xs(void);
/* Act for domain d on this thread from now on. */
void fw_as(unsigned d);
/* Run fn(arg) acting for domain d: the harness's side of a domain. */
int fw_call(unsigned d, int (*fn)(void *arg), void *arg);
/* One pass of each loop (the ready handlers run); the identity is kept. */
void fw_pump(void);
/* Pass both loops until nothing is ready: no active event, no readable
 * descriptor, no timer due within FW_TIMER_SOON_US. false if that took
 * FW_SETTLE_PASSES passes (something keeps itself busy). */
bool fw_settle(void);
/* Pump until done(arg); false if FW_WAIT_MS went by first. */
bool fw_wait(bool (*done)(void *arg), void *arg);
/* Pump until done(arg). When both loops are idle and it is not done, poke(arg)
 * (the peer's good answers to what is outstanding; may be NULL); poke returns
 * whether it changed anything. Returns true once done; false after
 * idle_rounds idle rounds in a row where poke changed nothing (0: no such
 * bound), or after ms milliseconds. */
bool fw_drive(bool (*done)(void *arg), bool (*poke)(void *arg), void *arg,
	      unsigned idle_rounds, unsigned ms);
/* Monotonic milliseconds (free mode: real time). */
uint64_t fw_ms(void);
/* <dir>/state as the toolstack reads it; XenbusStateUnknown if absent. */
XenbusState fw_state(const char *dir);
/* Pump until <dir>/state is want, else fail naming dir and both states. */
void fw_wait_state(const char *dir, XenbusState want);
/* The sim's whole-state checks: gnttab_check, evtchn_check, xs_store_check. */
void fw_check(void);

#endif
