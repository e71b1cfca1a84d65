/*
 * The client's grant mappings and its memory-fault report (maps.c).
 */
#ifndef SIM_REMOTE_CLIENT_RC_MAPS_H
#define SIM_REMOTE_CLIENT_RC_MAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/remote/remote_proto.h"

#define RM_MEMFDS_MAX 256u    /* memories one handle has seen */

/* The memfds a handle was passed, by the sim's id. */
struct rm_memfds {
	unsigned n;
	uint64_t id[RM_MEMFDS_MAX];
	int fd[RM_MEMFDS_MAX];
};

struct rm_map {
	struct rm_map *next;
	const void *owner;         /* the handle */
	uint8_t *addr;
	uint32_t count;
	int prot;
	bool shared;               /* the grantor's own view (xengntshr) */
	bool unmapped;
	uint64_t sim_addr;         /* the sim's address: the map's name there */
	uint32_t domid;            /* the mapping domain (this process) */
	char name[RMT_NAME_MAX];
	struct rmt_page *pages;    /* count, malloc'd; the map owns them */
};

/* The fd for pg's memory (taken from fds[] the first time); -1 if unknown. */
int rm_memfd_take(struct rm_memfds *m, const struct rmt_page *pg, const int *fds, unsigned nfds);
void rm_memfds_close(struct rm_memfds *m);
/* Map m's pages (m->count, prot, pages set; m owned by the registry from
 * here on success). NULL with errno on failure. */
void *rm_map(struct rm_map *m, struct rm_memfds *mf, const int *fds, unsigned nfds);
/* See maps.c. */
bool rm_unmap(const void *owner, void *addr, uint32_t count, uint64_t *sim_addr);

#endif
