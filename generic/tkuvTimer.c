/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvTimer.c --
 *
 *	tkuv::timer after|every MS ?CMD? ?-command CMD?, tkuv::timer
 *	cancel|info, and the timer handle command: the shared subcommands
 *	(close, info, configure, cget) and cancel, another name for close.
 *
 *	A timer's callback runs as {*}CMD $timer fire. An `every` timer never
 *	queues a second fire event while one is still waiting to run, so a slow
 *	script sees fewer fires instead of a growing backlog.
 */

#include "tkuvInt.h"

typedef struct Timer {
    TkuvHandle h;		/* Must be first. */
    uv_timer_t uv;
    uint64_t interval;		/* ms */
    int repeat;			/* `every` */
    int firePending;		/* A fire event is queued or running. */
} Timer;

static TkuvInfoProc TimerInfo;

/* The callback runs as {*}CMD $timer fire. */
static const TkuvOption timerOptions[] = {
    {"-command", TKUV_OPT_CALLBACK, .flags = TKUV_OPT_REQUIRED},
    {NULL}
};

static const TkuvSubcommand timerSubcommands[] = {
    {"cancel", TkuvHandleCloseCmd, 0, 0, ""},	/* Another name for close. */
    {NULL}
};

static const TkuvHandleType timerType = {
    "timer", NULL, sizeof(Timer), NULL, timerOptions, TimerInfo,
    timerSubcommands
};

static void	OnTimer(uv_timer_t *uv);
static void	AfterFire(TkuvHandle *h, void *clientData, size_t size);
static int	CreateTimer(Tcl_Interp *interp, int repeat, int objc,
		    Tcl_Obj *const objv[]);

/*
 *----------------------------------------------------------------------
 *
 * TkuvTimerObjCmd --
 *
 *	tkuv::timer after|every MS ?CMD? ?-command CMD? | cancel TIMER |
 *	    info ?TIMER?
 *
 *----------------------------------------------------------------------
 */

int
TkuvTimerObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subcommands[] = {
	"after", "cancel", "every", "info", NULL
    };
    enum { T_AFTER, T_CANCEL, T_EVERY, T_INFO };
    int index;
    TkuvHandle *h;
    Tcl_Obj *d;

    (void) clientData;
    if (TkuvGetSubcommand(interp, objc, objv, subcommands, "subcommand ?arg ...?",
	    &index) != TCL_OK) {
	return TCL_ERROR;
    }
    switch (index) {
    case T_AFTER:
    case T_EVERY:
	/* tkuv::timer after|every MS ?CMD? ?-command CMD? */
	if (objc < 4) {
	    return TkuvWrongNumArgs(interp, 2, objv,
		    "ms ?command? ?-command command?");
	}
	return CreateTimer(interp, index == T_EVERY, objc - 2, objv + 2);
    case T_CANCEL:
	/* tkuv::timer cancel TIMER */
	if (objc != 3) {
	    return TkuvWrongNumArgs(interp, 2, objv, "timer");
	}
	if ((h = TkuvHandleFromObj(interp, objv[2], &timerType)) == NULL) {
	    return TCL_ERROR;
	}
	TkuvHandleClose(h);
	return TCL_OK;
    case T_INFO:
	/* tkuv::timer info ?TIMER? */
	if (objc == 2) {
	    return TkuvHandleList(interp, "timer");
	}
	if (objc != 3) {
	    return TkuvWrongNumArgs(interp, 2, objv, "?timer?");
	}
	if ((h = TkuvHandleFromObj(interp, objv[2], &timerType)) == NULL) {
	    return TCL_ERROR;
	}
	d = Tcl_NewDictObj();
	TimerInfo(h, d);
	Tcl_SetObjResult(interp, d);
	return TCL_OK;
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * CreateTimer --
 *
 *	objv: MS, then the command prefix (the short form) or options.
 *
 *----------------------------------------------------------------------
 */

static int
CreateTimer(
    Tcl_Interp *interp,
    int repeat,
    int objc,
    Tcl_Obj *const objv[])
{
    TkuvOptionValues vals;
    TkuvBridge *bridge;
    uint64_t ms;
    Timer *t;
    int err;

    if (TkuvGetMilliseconds(interp, objv[0], repeat ? 1 : 0, &ms) != TCL_OK
	    || TkuvOptionsParse(interp, timerOptions, objc - 1, objv + 1,
		    TKUV_PARSE_CREATE | TKUV_PARSE_TRAILING_COMMAND, &vals)
		    != TCL_OK
	    || TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }
    t = TkuvHandleAlloc(&timerType);
    t->interval = ms;
    t->repeat = repeat;
    uv_timer_init(&bridge->loop, &t->uv);
    TkuvHandleRegister(interp, bridge, &t->h, (uv_handle_t *) &t->uv, NULL);
    TkuvOptionsApply(interp, &t->h, &vals, TKUV_APPLY_ALL);

    /*
     * The loop's clock is only refreshed by uv_run; outside a tick it may be
     * long stale, and a timer measured from it would fire early.
     */
    uv_update_time(&bridge->loop);
    err = uv_timer_start(&t->uv, OnTimer, ms, repeat ? ms : 0);
    if (err != 0) {
	TkuvHandleClose(&t->h);
	return TkuvUvError(interp, "starting timer", err);
    }
    TkuvBridgeKickDue(bridge, uv_now(&bridge->loop) + ms);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * OnTimer, AfterFire --
 *
 *	libuv's timer callback queues the fire event; after the script has
 *	run, a one-shot timer closes and a repeating one may fire again.
 *
 *----------------------------------------------------------------------
 */

static void
OnTimer(
    uv_timer_t *uv)
{
    Timer *t = uv->data;

    if (t->h.closed || t->firePending) {
	return;
    }
    t->firePending = 1;
    TkuvHandleQueueEvent(&t->h, Tcl_NewStringObj("fire", 4), AfterFire,
	    NULL, 0);
}

static void
AfterFire(
    TkuvHandle *h,
    void *clientData,
    size_t size)
{
    Timer *t = (Timer *) h;

    (void) clientData;
    (void) size;
    t->firePending = 0;
    if (!t->repeat) {
	TkuvHandleClose(h);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TimerInfo --
 *
 *	$timer info: the kind, interval, time left and command.
 *
 *----------------------------------------------------------------------
 */

static void
TimerInfo(
    TkuvHandle *h,
    Tcl_Obj *d)
{
    Timer *t = (Timer *) h;

    uv_update_time(&t->h.bridge->loop);
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("type", -1),
	    Tcl_NewStringObj(t->repeat ? "every" : "after", -1));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("ms", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) t->interval));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("remaining", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) uv_timer_get_due_in(&t->uv)));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("command", -1), t->h.callback);
}

