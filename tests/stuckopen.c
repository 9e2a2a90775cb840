/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * stuckopen.c --
 *
 *	An LD_PRELOAD shim for shutdown.test: threadpool work that does not
 *	finish. libuv opens files on its threadpool; an open of a path whose
 *	last component starts with "tkuv-stuck" blocks in the pool thread
 *	until a file named PATH.release exists (never, if nobody makes it),
 *	then opens as usual. Everything else goes straight to libc.
 *
 *	cc -shared -fPIC -o stuckopen.so stuckopen.c -ldl
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
WaitForRelease(
    const char *path)
{
    const char *base = strrchr(path, '/');
    char release[4096];

    base = (base == NULL) ? path : base + 1;
    if (strncmp(base, "tkuv-stuck", 10) != 0
	    || snprintf(release, sizeof(release), "%s.release", path)
		>= (int) sizeof(release)) {
	return;
    }
    while (access(release, F_OK) != 0) {
	usleep(20000);
    }
}

int
open64(
    const char *path,
    int flags,
    ...)
{
    static int (*real)(const char *, int, ...);
    mode_t mode = 0;
    va_list ap;

    va_start(ap, flags);
    if (flags & O_CREAT) {
	mode = va_arg(ap, mode_t);
    }
    va_end(ap);
    if (real == NULL) {
	real = (int (*)(const char *, int, ...)) dlsym(RTLD_NEXT, "open64");
    }
    WaitForRelease(path);
    return real(path, flags, mode);
}

/* What open64 becomes under _FORTIFY_SOURCE (libuv is built with it). */
int
__open64_2(
    const char *path,
    int flags)
{
    return open64(path, flags);
}
