/*
 * tkuvLimit.c --
 *
 *	tkuv::fdlimit: the process's limit on open files (RLIMIT_NOFILE).
 *	Lifting Tcl's select() wall is only useful if a script can also lift
 *	the soft limit, which is 1,024 by default on most Linux systems; Tcl
 *	itself has no command for it.
 */

#include "tkuvInt.h"
#include <errno.h>
#include <stdio.h>
#ifndef _WIN32
#include <sys/resource.h>
#endif

/*
 *----------------------------------------------------------------------
 *
 * TkuvFdLimitObjCmd --
 *
 *	tkuv::fdlimit ?N?: the soft limit and the hard limit, as a list,
 *	after raising (or lowering) the soft limit to N when given. N above
 *	the hard limit is an error naming it; nothing is changed then.
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
#ifdef _WIN32
    (void) clientData;
    (void) objc;
    (void) objv;
    return TkuvUsageError(interp,
	    "tkuv::fdlimit is not available on Windows (it has no fd limit)");
#else
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
#endif
}
