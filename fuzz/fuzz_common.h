/*
 * What the libFuzzer targets in fuzz/ share: a failed invariant aborts with
 * what broke, so that libFuzzer keeps the input as a crash. Each target is one
 * file with its own LLVMFuzzerInitialize (the world set up once per process)
 * and LLVMFuzzerTestOneInput (one input, the invariants checked after it).
 */
#ifndef XENSIM_FUZZ_COMMON_H
#define XENSIM_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FAIL(...)                                                         \
	do {                                                                   \
		fprintf(stderr, "fuzz invariant broken at %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
		abort();                                                       \
	} while (0)

#endif
