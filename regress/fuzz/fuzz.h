/*
 * fuzz.h: what the fuzz targets of regress/fuzz/ share.
 *
 * Each fuzz_<name>.c defines its entry point with FUZZ_TARGET(name).
 * Built with -DFUZZ_LIBFUZZER (make fuzz) that is libFuzzer's
 * LLVMFuzzerTestOneInput; otherwise it is a static fuzz_<name>() so that
 * t_replay.c can include every target in one program and feed them the
 * seed corpus and its deterministic mutations.
 *
 * A target checks properties of what it parsed with FUZZ_ASSERT: a
 * broken property aborts, which libFuzzer and atf-c both report as a
 * crash.  Targets keep no state between inputs but what they set up
 * once (keys, a scratch directory) and free all they allocate per input.
 */

#ifndef CERTAOS_FUZZ_H
#define CERTAOS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef FUZZ_LIBFUZZER
#define FUZZ_TARGET(name)						\
	int LLVMFuzzerTestOneInput(const uint8_t *, size_t);		\
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#else
#define FUZZ_TARGET(name)						\
	static int fuzz_##name(const uint8_t *, size_t);		\
	static int fuzz_##name(const uint8_t *data, size_t size)
#endif

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: %s: property failed: %s\n",	\
		    __FILE__, __LINE__, __func__, #cond);		\
		abort();						\
	}								\
} while (0)

#endif
