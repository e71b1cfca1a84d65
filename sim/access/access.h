/*
 * sim/access: shared-memory access tracing. In the instrumented build
 * (`make access`, build-access/) every load and store of the driver objects
 * calls into this module (gcc's -fsanitize=kernel-address with outlined
 * checks: __asan_load4_noabort(addr), ...; no sanitizer runtime is linked).
 * An access outside the reserved mapping range (sim_mem_in_range) returns at
 * once; one inside a live grant mapping is recorded with the mapping domain,
 * grantor, grant ref, offset, size, read/write and the code location, and
 *  - feeds the double-fetch detector: a domain that reads the same bytes of
 *    a shared page twice between two pushes of its own producer index
 *    (a 4-byte write at offset 0 or 8 of a page: req_prod, rsp_prod) is a
 *    finding; reads of the sring header (req_prod, req_event, rsp_prod,
 *    rsp_event: bytes 0..15 of a page) are not, and a
 *    read of bytes the domain itself wrote since is not either;
 *  - counts toward the attack surface: every code location that touches
 *    shared memory, with its reads, writes and sizes;
 *  - with access points on (det mode), is a scheduling point just before it
 *    happens, so the scheduler interleaves the domains at access granularity
 *    (every shared access, or only the ring indices: enum sim_access_points).
 *
 * In the other builds nothing calls the entry points: sim_access_built() is
 * false and the module does nothing.
 *
 * Conventions: 0 or a negative errno unless said otherwise.
 */
#ifndef SIM_ACCESS_H
#define SIM_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>

/* ---- limits ---- */
#define SIM_ACCESS_RECORDS_MAX 1024u   /* per domain, between two pushes */
#define SIM_ACCESS_FINDINGS_MAX 32u    /* distinct (first, second) location pairs */
#define SIM_ACCESS_SITES_MAX 4096u     /* code locations of the attack surface */
#define SIM_ACCESS_HEADER_BYTES 16u    /* the sring indices, never findings */
#define SIM_ACCESS_LOC_MAX 160u        /* "function file:line", symbolized */

/* Which shared accesses are scheduling points (det mode). */
enum sim_access_points {
	SIM_ACCESS_POINTS_OFF,
	SIM_ACCESS_POINTS_RING,    /* the sring header words: req_prod, req_event,
				    * rsp_prod, rsp_event (4-byte accesses to bytes
				    * 0..15 of a page): a consumer's check-then-arm
				    * window opens, bulk data adds no steps */
	SIM_ACCESS_POINTS_ALL,     /* every shared access */
};

struct sim_access_config {
	enum sim_access_points points;
	/* n > 0: at the n-th re-read of a peer's producer index by its consumer
	 * in this run, move the index 2^30 ahead just before the read; the
	 * consumer reading that ring's slots while it holds the value is a
	 * finding (jump.c). */
	uint32_t jump;
};

/* The drivers of this binary are instrumented (built by `make access`). */
bool sim_access_built(void);
/* A new run: forget records, findings and the attack surface; set points. */
void sim_access_configure(const struct sim_access_config *cfg);

/* Shared accesses seen since sim_access_configure (reads, writes). */
uint64_t sim_access_reads(void);
uint64_t sim_access_writes(void);

/* The index jump moved an index of a ring that domain `grantor` granted
 * (DOMID_INVALID: of any ring) in this run: from there on, that ring's
 * peer broke the protocol, and its consumer ending the connection is right. */
bool sim_access_jumped(domid_t grantor);

/* Double fetches found so far. */
unsigned sim_access_findings(void);
/* Finding i as one line: "domain 2 read grant ref 8 of domain 1 offset 0x58
 * (4 bytes) twice between two pushes: first at F file:line, again at G
 * file:line". -ENOENT past the last. */
int sim_access_finding_text(unsigned i, char *buf, size_t len);

/* The attack surface: every code location that touched shared memory, one
 * line each, grouped by source file (the driver), as text; or JSON when the
 * path ends in .json. -errno if the file cannot be written. */
int sim_access_report_write(const char *path);

/* What the instrumented code calls (the __asan_* entry points and the
 * memcpy family, see access.c); tests call it directly. pc: the code
 * location (a return address into the caller). */
void sim_access_hit(const void *addr, size_t n, bool write, const void *pc);

/* The memcpy family of the instrumented objects (objcopy renames their
 * calls to these): the shared bytes they touch are recorded like loads and
 * stores, then the real function runs. */
void *sim_access_memcpy(void *dst, const void *src, size_t n);
void *sim_access_memmove(void *dst, const void *src, size_t n);
void *sim_access_memset(void *dst, int c, size_t n);
int sim_access_memcmp(const void *a, const void *b, size_t n);

#endif
