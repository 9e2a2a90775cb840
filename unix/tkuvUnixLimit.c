/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvUnixLimit.c --
 *
 *	tkuv::fdlimit: the process's limit on open files (RLIMIT_NOFILE).
 *	Lifting Tcl's select() wall is only useful if a script can also lift
 *	the soft limit, which is 1,024 by default on most Linux systems; Tcl
 *	itself has no command for it.
 */

#include "tkuvInt.h"
#include <errno.h>
#include <stdio.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/resource.h>

/*
 * Descriptors the process may still need to open above the highest one in
 * use when the limit is lowered: Tcl's glob and open, libc's own (dlopen of
 * libgcc_s when a thread exits), libuv's (a new loop, a spawn's pipes).
 */
#define FD_HEADROOM	64

static long	HighestOpenFd(long bound);

/*
 *----------------------------------------------------------------------
 *
 * TkuvFdLimitObjCmd --
 *
 *	tkuv::fdlimit ?N?: the soft limit and the hard limit, as a list,
 *	after raising (or lowering) the soft limit to N when given. N above
 *	the hard limit is an error naming it; so is N below the highest
 *	descriptor in use plus FD_HEADROOM (a process that cannot open a file
 *	cannot glob, load a library or even end a thread cleanly). Nothing is
 *	changed on an error.
 *
 *----------------------------------------------------------------------
 */

int
TkuvFdLimitObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    struct rlimit rl;
    Tcl_WideInt want;
    Tcl_Obj *result[2];

    (void) clientData;
    if (objc > 2) {
	return TkuvWrongNumArgs(interp, 1, objv, "?limit?");
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
	return TkuvUvError(interp, "getting the open-file limit",
		uv_translate_sys_error(errno));
    }
    if (objc == 2) {
	if (Tcl_GetWideIntFromObj(NULL, objv[1], &want) != TCL_OK
		|| want < 1) {
	    return TkuvUsageError(interp, "expected a positive number of "
		    "files but got \"%s\"", Tcl_GetString(objv[1]));
	}
	if (rl.rlim_max != RLIM_INFINITY && (rlim_t) want > rl.rlim_max) {
	    char hard[32];

	    snprintf(hard, sizeof(hard), "%llu",
		    (unsigned long long) rl.rlim_max);
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		    "cannot raise the open-file limit to %s: the hard limit "
		    "is %s", Tcl_GetString(objv[1]), hard));
	    Tcl_SetErrorCode(interp, "TKUV", "EPERM",
		    "above the hard limit", NULL);
	    return TCL_ERROR;
	}
	if (rl.rlim_cur == RLIM_INFINITY || (rlim_t) want < rl.rlim_cur) {
	    long floor = HighestOpenFd(rl.rlim_cur == RLIM_INFINITY
		    ? -1 : (long) rl.rlim_cur) + 1 + FD_HEADROOM;

	    if (want < floor) {
		Tcl_SetObjResult(interp, Tcl_ObjPrintf(
			"cannot lower the open-file limit to %s: descriptors "
			"up to %ld are in use and the process needs room for "
			"more; the least allowed now is %ld",
			Tcl_GetString(objv[1]), floor - 1 - FD_HEADROOM,
			floor));
		Tcl_SetErrorCode(interp, "TKUV", "EINVAL",
			"below the descriptors in use", NULL);
		return TCL_ERROR;
	    }
	}
	rl.rlim_cur = (rlim_t) want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
	    return TkuvUvError(interp, "setting the open-file limit",
		    uv_translate_sys_error(errno));
	}
    }
    result[0] = Tcl_NewWideIntObj(rl.rlim_cur == RLIM_INFINITY ? -1
	    : (Tcl_WideInt) rl.rlim_cur);
    result[1] = Tcl_NewWideIntObj(rl.rlim_max == RLIM_INFINITY ? -1
	    : (Tcl_WideInt) rl.rlim_max);
    Tcl_SetObjResult(interp, Tcl_NewListObj(2, result));
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * HighestOpenFd --
 *
 *	The highest descriptor number open in the process, from /proc/self/fd
 *	or /dev/fd where the system lists them, else by asking fcntl about
 *	every number below `bound` (the soft limit; -1: none, then the first
 *	65,536). Other threads may open more meanwhile: the headroom is for
 *	them too.
 *
 * Results:
 *	The number, or -1 when nothing is open.
 *
 *----------------------------------------------------------------------
 */

static long
HighestOpenFd(
    long bound)
{
    static const char *const dirs[] = { "/proc/self/fd", "/dev/fd" };
    struct dirent *ent;
    long highest = -1, fd;
    size_t i;
    DIR *dir;

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
	dir = opendir(dirs[i]);
	if (dir == NULL) {
	    continue;
	}
	while ((ent = readdir(dir)) != NULL) {
	    char *end;

	    fd = strtol(ent->d_name, &end, 10);
	    if (end != ent->d_name && *end == '\0' && fd > highest) {
		highest = fd;	/* Includes the listing's own descriptor. */
	    }
	}
	closedir(dir);
	if (highest >= 0) {
	    return highest;
	}
    }

    /* No listing (or no descriptor left to read one with): probe. */
    if (bound < 0 || bound > 65536) {
	bound = 65536;
    }
    for (fd = 0; fd < bound; fd++) {
	if (fcntl((int) fd, F_GETFD) != -1 || errno != EBADF) {
	    highest = fd;
	}
    }
    return highest;
}
