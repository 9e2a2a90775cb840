/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuv.c --
 *
 *	Package entry points (Tkuv_Init, and Tkuv_SafeInit for safe interps)
 *	and tkuv::info.
 */

#include "tkuvInt.h"


#ifdef __cplusplus
extern "C" {
#endif
DLLEXPORT int	Tkuv_Init(Tcl_Interp *interp);
DLLEXPORT int	Tkuv_SafeInit(Tcl_Interp *interp);
#ifdef __cplusplus
}
#endif

/*
 *----------------------------------------------------------------------
 *
 * Tkuv_Init --
 *
 *	Loads tkuv into an interp: makes sure this thread has its loop (and
 *	its pump), creates the ::tkuv commands, provides the package.
 *	Tk is not needed.
 *
 *----------------------------------------------------------------------
 */

typedef struct {
    const char *name;
    Tcl_ObjCmdProc *proc;
} CommandDef;

static int	InitCommands(Tcl_Interp *interp, const CommandDef *defs,
		    size_t numDefs);

static const CommandDef commands[] = {
    {"::tkuv::info",	TkuvInfoObjCmd},
    {"::tkuv::handles",	TkuvHandlesObjCmd},
    {"::tkuv::timer",	TkuvTimerObjCmd},
    {"::tkuv::guest",	TkuvGuestObjCmd},
    {"::tkuv::tcp",	TkuvTcpObjCmd},
    {"::tkuv::udp",	TkuvUdpObjCmd},
    {"::tkuv::spawn",	TkuvSpawnObjCmd},
    {"::tkuv::signal",	TkuvSignalObjCmd},
    {"::tkuv::watch",	TkuvWatchObjCmd},
    {"::tkuv::resolve",	TkuvResolveObjCmd},
    {"::tkuv::fs",	TkuvFsObjCmd},
    {"::tkuv::socket",	TkuvSocketObjCmd},
    {"::tkuv::compat::socket", TkuvSocketCompatObjCmd},
    {"::tkuv::fdlimit",	TkuvFdLimitObjCmd},
    {"::tkuv::notifier",	TkuvNotifierObjCmd},
    {"::tkuv::waitmode",	TkuvWaitModeObjCmd},
};

int
Tkuv_Init(
    Tcl_Interp *interp)
{
#ifdef USE_TCL_STUBS
    if (Tcl_InitStubs(interp, "8.6-", 0) == NULL) {
	return TCL_ERROR;
    }
#endif
    if (Tcl_IsSafe(interp)) {
	/* Whoever calls Tkuv_Init directly still gets only the safe set. */
	return Tkuv_SafeInit(interp);
    }
    if (InitCommands(interp, commands,
	    sizeof(commands) / sizeof(commands[0])) != TCL_OK) {
	return TCL_ERROR;
    }
    TkuvSocketInterpAdd(interp);	/* Where a moved server may accept. */
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * Tkuv_SafeInit --
 *
 *	Loads tkuv into a safe interp (Tcl's `load` calls this one there):
 *	only tkuv::timer, tkuv::info and tkuv::handles. Timers give a safe
 *	script nothing that `after` does not; every other command reaches the
 *	network, the file system, other processes, process-wide signal
 *	dispositions and descriptor limits (tkuv::fdlimit) or raw file
 *	descriptors (tkuv::guest -fd), so none of them exists in a safe
 *	interp. Handles are commands of the interp that made them: a safe
 *	child never sees its parent's, nor lists them.
 *
 *----------------------------------------------------------------------
 */

static const CommandDef safeCommands[] = {
    {"::tkuv::info",	TkuvInfoObjCmd},
    {"::tkuv::handles",	TkuvHandlesObjCmd},
    {"::tkuv::timer",	TkuvTimerObjCmd},
};

int
Tkuv_SafeInit(
    Tcl_Interp *interp)
{
#ifdef USE_TCL_STUBS
    if (Tcl_InitStubs(interp, "8.6-", 0) == NULL) {
	return TCL_ERROR;
    }
#endif
    return InitCommands(interp, safeCommands,
	    sizeof(safeCommands) / sizeof(safeCommands[0]));
}

/*
 *----------------------------------------------------------------------
 *
 * InitCommands --
 *
 *	Makes sure this thread has its loop and pump, creates the
 *	given ::tkuv commands and provides the package.
 *
 *----------------------------------------------------------------------
 */

static int
InitCommands(
    Tcl_Interp *interp,
    const CommandDef *defs,
    size_t numDefs)
{
    TkuvBridge *bridge;
    size_t i;

    if (TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }
    if (Tcl_CreateNamespace(interp, "::tkuv", NULL, NULL) == NULL
	    && Tcl_FindNamespace(interp, "::tkuv", NULL, 0) == NULL) {
	return TCL_ERROR;
    }
    for (i = 0; i < numDefs; i++) {
	Tcl_CreateObjCommand(interp, defs[i].name, defs[i].proc, NULL, NULL);
    }
    return Tcl_PkgProvide(interp, "tkuv", TKUV_VERSION);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvInfoObjCmd --
 *
 *	tkuv::info: a dict describing this thread's bridge.
 *
 *----------------------------------------------------------------------
 */

int
TkuvInfoObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    TkuvBridge *bridge;
    Tcl_Obj *d;

    (void) clientData;
    if (objc != 1) {
	return TkuvWrongNumArgs(interp, 1, objv, "");
    }
    if (TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }
    d = Tcl_NewDictObj();
#define PUT(key, value) \
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj(key, -1), value)
    PUT("version", Tcl_NewStringObj(TKUV_VERSION, -1));
    PUT("libuv", Tcl_NewStringObj(uv_version_string(), -1));
    PUT("poller", Tcl_NewStringObj(TkuvPollerName(), -1));
    PUT("handles", Tcl_NewIntObj(bridge->numHandles));
    PUT("alive", Tcl_NewBooleanObj(uv_loop_alive(&bridge->loop)));
    PUT("ticks", Tcl_NewWideIntObj((Tcl_WideInt) TkuvPumpTicks(bridge->pump)));
    PUT("wakeups",
	    Tcl_NewWideIntObj((Tcl_WideInt) TkuvPumpWakeups(bridge->pump)));
    PUT("timeout", Tcl_NewIntObj(TkuvPumpTimeout(bridge->pump)));
    PUT("wait", Tcl_NewStringObj(TkuvPumpWaitName(bridge->pump), -1));
#undef PUT
    Tcl_SetObjResult(interp, d);
    return TCL_OK;
}
