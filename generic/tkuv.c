/*
 * tkuv.c --
 *
 *	Package entry point (Tkuv_Init) and tkuv::info.
 */

#include "tkuvInt.h"


#ifdef __cplusplus
extern "C" {
#endif
DLLEXPORT int	Tkuv_Init(Tcl_Interp *interp);
#ifdef __cplusplus
}
#endif

/*
 *----------------------------------------------------------------------
 *
 * Tkuv_Init --
 *
 *	Loads tkuv into an interp: makes sure this thread has its loop and
 *	poll thread, creates the ::tkuv commands, provides the package.
 *	Tk is not needed.
 *
 *----------------------------------------------------------------------
 */

static const struct {
    const char *name;
    Tcl_ObjCmdProc *proc;
} commands[] = {
    {"::tkuv::info",	TkuvInfoObjCmd},
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
    {"::tkuv::fdlimit",	TkuvFdLimitObjCmd},
};

int
Tkuv_Init(
    Tcl_Interp *interp)
{
    TkuvBridge *bridge;
    size_t i;

#ifdef USE_TCL_STUBS
    if (Tcl_InitStubs(interp, "8.6-", 0) == NULL) {
	return TCL_ERROR;
    }
#endif
    if (TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }
    if (Tcl_CreateNamespace(interp, "::tkuv", NULL, NULL) == NULL
	    && Tcl_FindNamespace(interp, "::tkuv", NULL, 0) == NULL) {
	return TCL_ERROR;
    }
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
	Tcl_CreateObjCommand(interp, commands[i].name, commands[i].proc,
		NULL, NULL);
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
#undef PUT
    Tcl_SetObjResult(interp, d);
    return TCL_OK;
}
