/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvWinPort.c --
 *
 *	The platform layer's Windows functions (win/tkuvPort.h). libuv takes
 *	and gives UTF-8 strings there; its errors are not errno values; pipes
 *	are HANDLEs; a guest loop's waitable is an IOCP; there is no open-file
 *	limit.
 */

#include "tkuvInt.h"
#include <errno.h>

/*
 *----------------------------------------------------------------------
 *
 * TkuvpNativeEncoding, TkuvpUtfToNative, TkuvpNativeToUtf, TkuvpFsPath --
 *
 *	Strings for and from libuv. TkuvpNativeEncoding returns a reference
 *	the caller frees (Tcl_FreeEncoding); the others take and free their
 *	own, so no encoding is held between calls.
 *
 *----------------------------------------------------------------------
 */

Tcl_Encoding
TkuvpNativeEncoding(void)
{
    return Tcl_GetEncoding(NULL, "utf-8");
}

void
TkuvpUtfToNative(
    const char *utf,
    Tcl_DString *dsPtr)
{
    Tcl_DStringInit(dsPtr);
    Tcl_DStringAppend(dsPtr, utf, -1);
}

void
TkuvpNativeToUtf(
    const char *native,
    Tcl_DString *dsPtr)
{
    Tcl_Encoding utf8 = Tcl_GetEncoding(NULL, "utf-8");

    Tcl_ExternalToUtfDString(utf8, native, -1, dsPtr);
    Tcl_FreeEncoding(utf8);
}

void
TkuvpFsPath(
    Tcl_Obj *pathObj,
    const char *native,
    Tcl_DString *dsPtr)
{
    Tcl_Encoding utf8 = Tcl_GetEncoding(NULL, "utf-8");

    /* Tcl's native form is UTF-16 there; libuv takes UTF-8. */
    (void) native;
    Tcl_UtfToExternalDString(utf8,
	    Tcl_GetString(Tcl_FSGetNormalizedPath(NULL, pathObj)), -1, dsPtr);
    Tcl_FreeEncoding(utf8);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvpErrno --
 *
 *	The errno value a Tcl channel reports for a libuv error (not 0).
 *
 *----------------------------------------------------------------------
 */

int
TkuvpErrno(
    int uvErr)
{
    switch (uvErr) {
    case UV_EPIPE: return EPIPE;
    case UV_EAGAIN: return EAGAIN;
    case UV_ECONNREFUSED: return ECONNREFUSED;
    case UV_ECONNRESET: return ECONNRESET;
    default: return EIO;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvpInputWaiting --
 *
 *	Whether reading the pipe would not block.
 *
 *----------------------------------------------------------------------
 */

int
TkuvpInputWaiting(
    uv_os_fd_t fd)
{
    DWORD avail = 0;

    /* A broken pipe means end-of-file is still to be read. */
    return !PeekNamedPipe(fd, NULL, 0, NULL, &avail, NULL) || avail > 0;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvpGuestWaitable --
 *
 *	A guest's -iocp value as the waitable the pump waits on.
 *
 *----------------------------------------------------------------------
 */

int
TkuvpGuestWaitable(
    Tcl_Interp *interp,
    Tcl_WideInt value,
    TkuvWaitable *waitablePtr)
{
    (void) interp;
    *waitablePtr = (HANDLE) (intptr_t) value;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvFdLimitObjCmd --
 *
 *	tkuv::fdlimit (unix/tkuvUnixLimit.c): refused here.
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
    (void) clientData;
    (void) objc;
    (void) objv;
    return TkuvUsageError(interp,
	    "tkuv::fdlimit is not available on Windows (it has no fd limit)");
}
