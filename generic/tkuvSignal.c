/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvSignal.c --
 *
 *	tkuv::signal SIGNAME ?CMD? ?-command CMD? and the signal handle
 *	command (the shared close, info, configure, cget). The callback runs
 *	as {*}CMD $s signal SIGNAME.
 *
 *	libuv catches the signal with a process-wide handler that only writes
 *	to a pipe; the loop reads the pipe in a tick and our callback queues a
 *	Tcl event. Arrivals that one pass of the loop reads together become one
 *	event (the handle's `received` count has them all); an arrival after an
 *	event was queued always gets an event of its own, so a script never
 *	misses a signal that came while it was running.
 *
 *	When the last libuv handle for a signal stops, libuv sets the signal's
 *	disposition to SIG_DFL. If the process had something else before the
 *	first tkuv handle for it (Tcl ignores SIGPIPE; nohup ignores SIGHUP; a
 *	Python host has its own SIGINT handler), that is put back instead, so a
 *	closed SIGPIPE handle does not turn EPIPE into a fatal signal. SIGCHLD
 *	is left to libuv: tkuv::spawn's child watcher shares it.
 */

#include "tkuvInt.h"
#include <signal.h>
#include <string.h>


typedef struct Signal {
    TkuvHandle h;		/* Must be first. */
    uv_signal_t uv;
    int signum;
    Tcl_Obj *nameObj;		/* "SIGUSR1", or the number if unnamed. */
    uint64_t received;		/* Arrivals seen by the loop. */
    uint64_t delivered;		/* Events queued. */
    uint64_t lastTick;		/* Pump tick of the last queued event. */
    int started;		/* uv_signal_start succeeded. */
} Signal;

static void	SignalClosed(TkuvHandle *h);
static TkuvInfoProc SignalInfo;

static const TkuvOption signalOptions[] = {
    {"-command", TKUV_OPT_CALLBACK, .flags = TKUV_OPT_REQUIRED},
    {NULL}
};

static const TkuvHandleType signalType = {
    "signal", NULL, sizeof(Signal), SignalClosed, signalOptions, SignalInfo,
    NULL
};

static int	ParseSignal(Tcl_Interp *interp, Tcl_Obj *obj, int *signumPtr,
		    const char **namePtr);
static int	StartSignal(Signal *s);
static void	OnSignal(uv_signal_t *uv, int signum);

/*
 *----------------------------------------------------------------------
 *
 * TkuvSignalObjCmd --
 *
 *	tkuv::signal SIGNAME ?CMD? ?-command CMD?
 *
 * Results:
 *	The new handle's name, or a TKUV USAGE error naming a bad signal or
 *	command, or {TKUV <UV_ERRNAME> ...} if libuv refuses the signal.
 *
 * Side effects:
 *	Installs libuv's handler for the signal (process-wide).
 *
 *----------------------------------------------------------------------
 */

int
TkuvSignalObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    TkuvOptionValues vals;
    TkuvBridge *bridge;
    Signal *s;
    const char *name = NULL;
    int signum = 0, err;

    (void) clientData;
    if (objc < 3) {
	return TkuvWrongNumArgs(interp, 1, objv,
		"signal ?command? ?-command command?");
    }
    if (ParseSignal(interp, objv[1], &signum, &name) != TCL_OK
	    || TkuvOptionsParse(interp, signalOptions, objc - 2, objv + 2,
		    TKUV_PARSE_CREATE | TKUV_PARSE_TRAILING_COMMAND, &vals)
		    != TCL_OK
	    || TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }

    s = TkuvHandleAlloc(&signalType);
    s->signum = signum;
    s->nameObj = (name != NULL) ? Tcl_NewStringObj(name, -1)
	    : Tcl_NewIntObj(signum);
    Tcl_IncrRefCount(s->nameObj);
    s->lastTick = UINT64_MAX;
    err = uv_signal_init(&bridge->loop, &s->uv);
    if (err != 0) {
	Tcl_DecrRefCount(s->nameObj);
	TkuvFree(s);
	return TkuvUvError(interp, "creating signal handle", err);
    }
    TkuvHandleRegister(interp, bridge, &s->h, (uv_handle_t *) &s->uv, NULL);
    TkuvOptionsApply(interp, &s->h, &vals, TKUV_APPLY_ALL);
    err = StartSignal(s);
    if (err != 0) {
	Tcl_Obj *whatObj = Tcl_ObjPrintf("catching signal \"%s\"",
		Tcl_GetString(objv[1]));

	TkuvHandleClose(&s->h);
	Tcl_IncrRefCount(whatObj);
	TkuvUvError(interp, Tcl_GetString(whatObj), err);
	Tcl_DecrRefCount(whatObj);
	return TCL_ERROR;
    }
    /* The loop's signal pipe may be new: epoll learns of it in uv_run. */
    TkuvBridgeKick(bridge);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * ParseSignal --
 *
 *	SIGUSR1, USR1, usr1, sigusr1 or a number. Signals that cannot be
 *	caught (SIGKILL, SIGSTOP) and synchronous faults (a handler that
 *	returns from SIGSEGV would re-run the faulting instruction forever)
 *	are refused.
 *
 * Results:
 *	TCL_OK with *signumPtr and *namePtr (NULL for a number without a
 *	name), or a TKUV USAGE error naming the value.
 *
 *----------------------------------------------------------------------
 */

static int
ParseSignal(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    int *signumPtr,
    const char **namePtr)
{
    const char *str = Tcl_GetString(obj);
    int signum;

    if (TkuvGetSignal(interp, obj, 1, &signum) != TCL_OK) {
	return TCL_ERROR;
    }
    *namePtr = TkuvSignalName(signum);

    switch (signum) {
#ifdef SIGKILL
    case SIGKILL:
#endif
#ifdef SIGSTOP
    case SIGSTOP:
#endif
	return TkuvUsageError(interp, "signal \"%s\" cannot be caught", str);
#ifdef SIGSEGV
    case SIGSEGV:
#endif
#ifdef SIGBUS
    case SIGBUS:
#endif
#ifdef SIGFPE
    case SIGFPE:
#endif
#ifdef SIGILL
    case SIGILL:
#endif
#ifdef SIGTRAP
    case SIGTRAP:
#endif
	return TkuvUsageError(interp, "signal \"%s\" reports a fault in the "
		"process itself and cannot be turned into an event", str);
    }
    *signumPtr = signum;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * StartSignal, SignalClosed --
 *
 *	Start and stop the libuv handle, keeping the process-wide count of
 *	tkuv handles per signal; the last one to stop puts back the
 *	disposition the first one found (see the file comment).
 *
 * Results:
 *	StartSignal: 0 or a libuv error code.
 *
 *----------------------------------------------------------------------
 */

static int
StartSignal(
    Signal *s)
{
    int err;

    err = TkuvpSignalStart(&s->uv, OnSignal, s->signum);
    if (err == 0) {
	s->started = 1;
    }
    return err;
}

static void
SignalClosed(
    TkuvHandle *h)
{
    Signal *s = (Signal *) h;

    /*
     * nameObj is freed here although queued events may still refer to the
     * record: they only use the handle layer's fields.
     */
    Tcl_DecrRefCount(s->nameObj);
    s->nameObj = NULL;
    if (!s->started) {
	return;
    }
    s->started = 0;
    /* Stopped here, not by uv_close, so the disposition is restored after. */
    TkuvpSignalStop(&s->uv, s->signum);
}

/*
 *----------------------------------------------------------------------
 *
 * OnSignal --
 *
 *	libuv's callback, once per arrival read from the signal pipe. Queues
 *	`signal NAME` unless this pass of the loop already did for the handle.
 *
 *----------------------------------------------------------------------
 */

static void
OnSignal(
    uv_signal_t *uv,
    int signum)
{
    Signal *s = uv->data;
    uint64_t tick;
    Tcl_Obj *args;

    (void) signum;
    if (s->h.closed || s->h.bridge->pump == NULL) {
	return;
    }
    s->received++;
    tick = TkuvPumpTicks(s->h.bridge->pump);
    if (tick == s->lastTick) {
	return;			/* Merged into the event queued this pass. */
    }
    s->lastTick = tick;
    s->delivered++;
    args = Tcl_NewListObj(0, NULL);
    Tcl_ListObjAppendElement(NULL, args, Tcl_NewStringObj("signal", 6));
    Tcl_ListObjAppendElement(NULL, args, s->nameObj);
    TkuvHandleQueueEvent(&s->h, args, NULL, NULL, 0);
}

/*
 *----------------------------------------------------------------------
 *
 * SignalInfo --
 *
 *	$signal info: the signal, its number, arrivals and events.
 *
 *----------------------------------------------------------------------
 */

static void
SignalInfo(
    TkuvHandle *h,
    Tcl_Obj *d)
{
    Signal *s = (Signal *) h;

    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("signal", -1), s->nameObj);
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("number", -1),
	    Tcl_NewIntObj(s->signum));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("received", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) s->received));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("events", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) s->delivered));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("command", -1), s->h.callback);
}
