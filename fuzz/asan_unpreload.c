/*
 * asan_unpreload.c - preloaded right after libasan by build/asan/lua5.4
 * (see check.mk, check-asan).
 *
 * libasan must be in LD_PRELOAD so that it comes first in the lua5.4
 * process that later dlopen()s the ASan-built core.so. By the time this
 * constructor runs, the loader has read LD_PRELOAD and mapped both
 * libraries; putting LD_PRELOAD back to its value before the wrapper
 * keeps libasan out of every child the specs start (python3, the aws
 * CLI, sh, openssl), however they are started. Not part of the library.
 */
#include <stdlib.h>

static void pz_asan_unpreload(void) __attribute__((constructor));

static void pz_asan_unpreload(void)
{
	const char *saved = getenv("PZ_ASAN_SAVED_PRELOAD");

	if (saved != NULL && saved[0] != '\0')
		setenv("LD_PRELOAD", saved, 1);
	else
		unsetenv("LD_PRELOAD");
	unsetenv("PZ_ASAN_SAVED_PRELOAD");
}
