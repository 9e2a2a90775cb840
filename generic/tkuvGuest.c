/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvGuest.c --
 *
 *	tkuv::guest: drive a foreign event loop (asyncio, uvloop, Trio, ...)
 *	from Tcl's event loop with its own pump (in the thread's wait mode:
 *	Tcl's notifier or a poll thread watches the foreign loop's fd, or
 *	IOCP). When it is ready or the timeout that TICKCMD returned last runs
 *	out, `{*}$TICKCMD $guest tick` runs on the owning thread, does one
 *	non-blocking iteration of the foreign loop, and returns the next
 *	timeout in ms (-1 none, 0 now). The guest's command has `wake` (any
 *	thread may call it) and the shared close, info, configure and cget.
 */

#include "tkuvInt.h"
#include <limits.h>
#include <stddef.h>
#include <string.h>

typedef struct Guest {
    TkuvHandle h;		/* Must be first; h.callback is TICKCMD. */
    TkuvPump *pump;
    Tcl_WideInt waitable;	/* The fd or HANDLE, for info. */
    int fd;			/* -fd, or -1 */
    Tcl_Obj *iocp;		/* -iocp, or NULL */
    int lastTimeout;
} Guest;

static int	CreateGuest(Tcl_Interp *interp, int objc, Tcl_Obj *const objv[]);
static int	GuestTick(void *clientData);
static int	GetTickTimeout(Tcl_Obj *obj, int *timeoutPtr);
static void	GuestClosed(TkuvHandle *h);
static TkuvOptionCheckProc CheckWaitable;
static TkuvSubcommandProc WakeCmd;
static TkuvInfoProc GuestInfo;

enum { G_COMMAND, G_FD, G_IOCP };
static const TkuvOption guestOptions[] = {
    {"-command", TKUV_OPT_CALLBACK, .flags = TKUV_OPT_REQUIRED},
    {"-fd", TKUV_OPT_INT, offsetof(Guest, fd), TKUV_OPT_CREATE_ONLY,
	.min = 0, .max = INT32_MAX, .checkProc = CheckWaitable},
    {"-iocp", TKUV_OPT_STRING, offsetof(Guest, iocp), TKUV_OPT_CREATE_ONLY,
	.checkProc = CheckWaitable},
    {NULL}
};

static const TkuvSubcommand guestSubcommands[] = {
    {"wake", WakeCmd, 0, 0, ""},
    {NULL}
};

/*
 * A guest has no libuv handle of its own: the handle layer gives it its
 * command, name, count and teardown, and GuestClosed stops its pump.
 */
static const TkuvHandleType guestType = {
    "guest", NULL, sizeof(Guest), GuestClosed, guestOptions, GuestInfo,
    guestSubcommands
};

/*
 *----------------------------------------------------------------------
 *
 * TkuvGuestObjCmd --
 *
 *	tkuv::guest create (-fd FD | -iocp HANDLE) -command TICKCMD
 *
 *----------------------------------------------------------------------
 */

int
TkuvGuestObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subcommands[] = { "create", NULL };
    int index;

    (void) clientData;
    if (TkuvGetSubcommand(interp, objc, objv, subcommands, "create ?option value ...?",
	    &index) != TCL_OK) {
	return TCL_ERROR;
    }
    return CreateGuest(interp, objc - 2, objv + 2);
}

static int
CreateGuest(
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    TkuvOptionValues vals;
    Tcl_WideInt waitable;
    TkuvBridge *bridge;
    TkuvWaitable backend;
    Guest *g;

    if (TkuvOptionsParse(interp, guestOptions, objc, objv, TKUV_PARSE_CREATE,
	    &vals) != TCL_OK) {
	return TCL_ERROR;
    }
    if (TKUVP_GUEST_IOCP) {
	if (!TKUV_OPTION_GIVEN(&vals, G_IOCP)) {
	    return TkuvUsageError(interp, "missing -iocp");
	}
	Tcl_GetWideIntFromObj(NULL, vals.v[G_IOCP].obj, &waitable);
    } else {
	if (!TKUV_OPTION_GIVEN(&vals, G_FD)) {
	    return TkuvUsageError(interp, "missing -fd");
	}
	waitable = vals.v[G_FD].i;
    }
    if (TkuvpGuestWaitable(interp, waitable, &backend) != TCL_OK) {
	return TCL_ERROR;
    }
    if (TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }

    g = TkuvHandleAlloc(&guestType);
    g->waitable = waitable;
    g->fd = -1;
    /* The first tick runs at once: the foreign loop starts its work. */
    if (TkuvPumpCreate(interp, backend, TKUV_PUMP_FOREIGN, GuestTick, g, 0,
	    &g->pump) != TCL_OK) {
	TkuvFree(g);
	return TCL_ERROR;
    }
    TkuvHandleRegister(interp, bridge, &g->h, NULL, NULL);
    TkuvOptionsApply(interp, &g->h, &vals, TKUV_APPLY_ALL);
    return TCL_OK;
}

/*
 * CheckWaitable -- -fd on Unix, -iocp (a HANDLE value) on Windows.
 */

static int
CheckWaitable(
    Tcl_Interp *interp,
    const TkuvOption *opt,
    Tcl_Obj *valueObj,
    TkuvOptionValue *value)
{
    Tcl_WideInt handle;

    (void) value;
    if (opt == &guestOptions[TKUVP_GUEST_IOCP ? G_FD : G_IOCP]) {
	return TkuvUsageError(interp, TKUVP_GUEST_IOCP
		? "-fd is not available on Windows: use -iocp HANDLE"
		: "-iocp is only available on Windows: use -fd FD");
    }
    if (opt == &guestOptions[G_IOCP] && (Tcl_GetWideIntFromObj(NULL,
	    valueObj, &handle) != TCL_OK || handle < 0)) {
	return TkuvBadValue(interp, opt->name, "a HANDLE value", valueObj);
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * GuestTick --
 *
 *	The pump's tick: run TICKCMD, read the next timeout from its result.
 *	Errors and non-integer results go to bgerror, and the guest then waits
 *	for its fd or a wake only (timeout -1): it keeps running.
 *
 *----------------------------------------------------------------------
 */

static int
GuestTick(
    void *clientData)
{
    Guest *g = clientData;
    Tcl_Interp *interp = g->h.interp;
    Tcl_Obj *tickArgs;
    int code, timeout = -1;

    if (g->h.closed || Tcl_InterpDeleted(interp)) {
	return -1;
    }
    TkuvHandleRetain(&g->h);		/* TICKCMD may close the guest. */
    Tcl_Preserve(interp);
    tickArgs = Tcl_NewStringObj("tick", 4);
    Tcl_IncrRefCount(tickArgs);
    code = TkuvHandleInvoke(&g->h, tickArgs);
    Tcl_DecrRefCount(tickArgs);
    if (code == TCL_OK && GetTickTimeout(Tcl_GetObjResult(interp), &timeout)
	    != TCL_OK) {
	TkuvUsageError(interp, "guest %s: TICKCMD returned \"%s\", expected "
		"the next timeout in ms (an integer, -1 for none)",
		Tcl_GetString(g->h.nameObj),
		Tcl_GetString(Tcl_GetObjResult(interp)));
	code = TCL_ERROR;
    }
    if (code != TCL_OK) {
	/* An interp deleted during the tick (from a nested loop) is past
	 * reporting to: its commands all fail now. */
	if (!Tcl_InterpDeleted(interp)) {
	    Tcl_BackgroundException(interp, code);
	}
	timeout = -1;
    }
    Tcl_ResetResult(interp);
    Tcl_Release(interp);
    g->lastTimeout = timeout;
    TkuvHandleRelease(&g->h);
    return timeout;
}

/*
 *----------------------------------------------------------------------
 *
 * GetTickTimeout --
 *
 *	Reads TICKCMD's result: any integer, of any size. Negative means no
 *	timeout (-1); a timeout longer than the pump can count (INT_MAX ms,
 *	about 24.8 days) is cut to that, which only brings a tick early.
 *	Tcl_GetIntFromObj would not do: it takes 2^31..2^32-1 as negative
 *	(wrapped) numbers and refuses wider ones.
 *
 * Results:
 *	TCL_OK and *timeoutPtr set, or TCL_ERROR for a non-integer.
 *
 *----------------------------------------------------------------------
 */

static int
GetTickTimeout(
    Tcl_Obj *obj,
    int *timeoutPtr)
{
    Tcl_WideInt ms;
    double d;

    /*
     * The double gives the sign of any number, and parsing it leaves a
     * bignum internal rep when (and only when) the value is an integer too
     * wide for 64 bits, which tells "1e30" and "1.5" apart from those. The
     * sign check also catches 2^63..2^64-1, which Tcl_GetWideIntFromObj
     * returns wrapped to negative numbers.
     */
    if (Tcl_GetDoubleFromObj(NULL, obj, &d) != TCL_OK) {
	return TCL_ERROR;
    }
    if (Tcl_GetWideIntFromObj(NULL, obj, &ms) != TCL_OK || (ms < 0) != (d < 0)) {
	if (obj->typePtr == NULL || strcmp(obj->typePtr->name, "bignum") != 0) {
	    return TCL_ERROR;
	}
	ms = (d < 0) ? -1 : INT_MAX;
    }
    *timeoutPtr = (ms < 0) ? -1 : (ms > INT_MAX) ? INT_MAX : (int) ms;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * WakeCmd, GuestInfo --
 *
 *	$guest wake (from any thread's interp: the pump wakes its owner);
 *	$guest info.
 *
 *----------------------------------------------------------------------
 */

static int
WakeCmd(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) interp;
    (void) objc;
    (void) objv;
    TkuvPumpWakeAnyThread(((Guest *) h)->pump);
    return TCL_OK;
}

static void
GuestInfo(
    TkuvHandle *h,
    Tcl_Obj *d)
{
    Guest *g = (Guest *) h;

    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("waitable", -1),
	    Tcl_NewWideIntObj(g->waitable));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("ticks", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) TkuvPumpTicks(g->pump)));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("wakeups", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) TkuvPumpWakeups(g->pump)));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("timeout", -1),
	    Tcl_NewIntObj(g->lastTimeout));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("wait", -1),
	    Tcl_NewStringObj(TkuvPumpWaitName(g->pump), -1));
}

/*
 *----------------------------------------------------------------------
 *
 * GuestClosed --
 *
 *	$g close, rename $g {}, interp deletion or thread exit: stop the pump
 *	(join its poll thread, or delete its file handler). Safe from inside
 *	the guest's own TICKCMD: the pump frees itself after that tick, the
 *	record when the tick releases it.
 *
 *----------------------------------------------------------------------
 */

static void
GuestClosed(
    TkuvHandle *h)
{
    Guest *g = (Guest *) h;

    TkuvPumpDestroy(g->pump);
    g->pump = NULL;
}
