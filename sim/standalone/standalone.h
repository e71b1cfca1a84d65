/*
 * sim/standalone: a process that uses Xen's API without setting up the sim
 * gets one: dom0 for every thread outside a domain (see standalone.c for the
 * rules and the XENSIM_* environment knobs). The shared libraries switch it on
 * by themselves.
 */
#ifndef SIM_STANDALONE_H
#define SIM_STANDALONE_H

/* Switch the standalone mode on for this process (idempotent): from the next
 * Xen API call on a thread outside every domain, unless sim_init() was called
 * before that call. */
void sim_standalone_enable(void);

#endif
