/*
 * tkuvGuest.c --
 *
 *	tkuv::guest: drive a foreign event loop (asyncio, uvloop, Trio, ...)
 *	from Tcl's event loop with its own pump. The poll thread waits until
 *	the foreign loop's fd (or IOCP) is ready or the timeout that TICKCMD
 *	returned last runs out; then `{*}$TICKCMD $guest tick` runs on the
 *	owning thread, does one non-blocking iteration of the foreign loop, and
 *	returns the next timeout in ms (-1 none, 0 now).
 */

#include "tkuvInt.h"
#include <string.h>
#ifndef _WIN32
#include <fcntl.h>
#endif

typedef struct Guest {
    Tcl_Interp *interp;		/* Valid until `closed` (see tkuvHandle.c). */
    Tcl_Command token;
    Tcl_Obj *nameObj;
    Tcl_Obj *tickCmd;
    TkuvBridge *bridge;		/* For the live-handle count. */
    TkuvPump *pump;
    Tcl_WideInt waitable;	/* The fd or HANDLE, for info. */
    int closed;
    int lastTimeout;
} Guest;

static int	CreateGuest(Tcl_Interp *interp, int objc, Tcl_Obj *const objv[]);
static int	GuestTick(void *clientData);
static int	GuestHandleCmd(ClientData clientData, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[]);
static void	GuestCmdDeleted(ClientData clientData);
static void	FreeGuest(char *blockPtr);

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
    if (objc < 2) {
	return TkuvWrongNumArgs(interp, 1, objv, "create ?option value ...?");
    }
    if (TkuvGetIndex(interp, objv[1], subcommands, "subcommand", &index)
	    != TCL_OK) {
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
    static const char *const options[] = { "-command", "-fd", "-iocp", NULL };
    enum { O_COMMAND, O_FD, O_IOCP };
    Tcl_Obj *tickCmd = NULL;
    Tcl_WideInt waitable = -1;
    int i, index, haveWaitable = 0, err;
    TkuvBridge *bridge;
    TkuvWaitable backend;
    Guest *g;
    char name[64];
    Tcl_CmdInfo info;

    if (objc % 2 != 0) {
	return TkuvUsageError(interp, "option \"%s\" has no value; usage: "
		"tkuv::guest create -fd FD -command TICKCMD",
		Tcl_GetString(objv[objc - 1]));
    }
    for (i = 0; i < objc; i += 2) {
	if (TkuvGetIndex(interp, objv[i], options, "option", &index) != TCL_OK) {
	    return TCL_ERROR;
	}
	switch (index) {
	case O_COMMAND:
	    if (TkuvCheckCallback(interp, objv[i + 1]) != TCL_OK) {
		return TCL_ERROR;
	    }
	    tickCmd = objv[i + 1];
	    break;
	case O_FD:
	case O_IOCP:
#ifdef _WIN32
	    if (index == O_FD) {
		return TkuvUsageError(interp,
			"-fd is not available on Windows: use -iocp HANDLE");
	    }
#else
	    if (index == O_IOCP) {
		return TkuvUsageError(interp,
			"-iocp is only available on Windows: use -fd FD");
	    }
#endif
	    if (Tcl_GetWideIntFromObj(NULL, objv[i + 1], &waitable) != TCL_OK
		    || waitable < 0 || (index == O_FD && waitable > INT32_MAX)) {
		return TkuvUsageError(interp,
			"expected a %s but got \"%s\"", index == O_FD
			? "file descriptor (an integer >= 0)" : "HANDLE value",
			Tcl_GetString(objv[i + 1]));
	    }
	    haveWaitable = 1;
	    break;
	}
    }
    if (!haveWaitable || tickCmd == NULL) {
	return TkuvUsageError(interp, "missing %s; usage: tkuv::guest create "
		"-fd FD -command TICKCMD", tickCmd == NULL ? "-command" : "-fd");
    }
#ifdef _WIN32
    backend = (HANDLE) (intptr_t) waitable;
#else
    backend = (int) waitable;
    if (fcntl(backend, F_GETFD) < 0) {
	return TkuvUvError(interp, "guest -fd", UV_EBADF);
    }
#endif
    if (TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }

    g = TkuvAlloc(sizeof(Guest));
    memset(g, 0, sizeof(Guest));
    /* The first tick runs at once: the foreign loop starts its work. */
    err = TkuvPumpCreate(backend, GuestTick, g, 0, &g->pump);
    if (err != 0) {
	TkuvFree(g);
	return TkuvUvError(interp, "guest -fd", err);
    }
    do {
	snprintf(name, sizeof(name), "::tkuv::guest%lu", ++bridge->nextId);
    } while (Tcl_GetCommandInfo(interp, name, &info));
    g->interp = interp;
    g->bridge = bridge;
    g->waitable = waitable;
    g->lastTimeout = 0;
    g->nameObj = Tcl_NewStringObj(name, -1);
    Tcl_IncrRefCount(g->nameObj);
    g->tickCmd = tickCmd;
    Tcl_IncrRefCount(tickCmd);
    bridge->numHandles++;
    g->token = Tcl_CreateObjCommand(interp, name, GuestHandleCmd, g,
	    GuestCmdDeleted);
    Tcl_SetObjResult(interp, g->nameObj);
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
    Tcl_Interp *interp = g->interp;
    Tcl_Obj *cmd;
    int code, timeout = -1;

    if (g->closed || Tcl_InterpDeleted(interp)) {
	return -1;
    }
    Tcl_Preserve(g);
    Tcl_Preserve(interp);
    cmd = Tcl_DuplicateObj(g->tickCmd);
    Tcl_IncrRefCount(cmd);
    Tcl_ListObjAppendElement(NULL, cmd, g->nameObj);
    Tcl_ListObjAppendElement(NULL, cmd, Tcl_NewStringObj("tick", 4));
    code = Tcl_EvalObjEx(interp, cmd, TCL_EVAL_GLOBAL);
    Tcl_DecrRefCount(cmd);
    if (code == TCL_OK && Tcl_GetIntFromObj(NULL, Tcl_GetObjResult(interp),
	    &timeout) != TCL_OK) {
	TkuvUsageError(interp, "guest %s: TICKCMD returned \"%s\", expected "
		"the next timeout in ms (an integer, -1 for none)",
		Tcl_GetString(g->nameObj),
		Tcl_GetString(Tcl_GetObjResult(interp)));
	code = TCL_ERROR;
    }
    if (code != TCL_OK) {
	Tcl_BackgroundException(interp, code);
	timeout = -1;
    }
    Tcl_ResetResult(interp);
    if (timeout < -1) {
	timeout = -1;
    }
    g->lastTimeout = timeout;
    Tcl_Release(interp);
    Tcl_Release(g);
    return timeout;
}

/*
 *----------------------------------------------------------------------
 *
 * GuestHandleCmd --
 *
 *	$guest wake | info | close
 *
 *----------------------------------------------------------------------
 */

static int
GuestHandleCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subcommands[] = { "close", "info", "wake", NULL };
    enum { G_CLOSE, G_INFO, G_WAKE };
    Guest *g = clientData;
    Tcl_Obj *d;
    int index;

    if (objc != 2) {
	return TkuvWrongNumArgs(interp, 1, objv, "close|info|wake");
    }
    if (TkuvGetIndex(interp, objv[1], subcommands, "subcommand", &index)
	    != TCL_OK) {
	return TCL_ERROR;
    }
    switch (index) {
    case G_CLOSE:
	Tcl_DeleteCommandFromToken(interp, g->token);
	break;
    case G_WAKE:
	TkuvPumpWakeAnyThread(g->pump);
	break;
    case G_INFO:
	d = Tcl_NewDictObj();
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("waitable", -1),
		Tcl_NewWideIntObj(g->waitable));
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("ticks", -1),
		Tcl_NewWideIntObj((Tcl_WideInt) TkuvPumpTicks(g->pump)));
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("wakeups", -1),
		Tcl_NewWideIntObj((Tcl_WideInt) TkuvPumpWakeups(g->pump)));
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("timeout", -1),
		Tcl_NewIntObj(g->lastTimeout));
	Tcl_SetObjResult(interp, d);
	break;
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * GuestCmdDeleted --
 *
 *	$g close, rename $g {} or interp deletion: stop and join the poll
 *	thread. Safe from inside the guest's own TICKCMD (the record and pump
 *	live until that tick returns).
 *
 *----------------------------------------------------------------------
 */

static void
GuestCmdDeleted(
    ClientData clientData)
{
    Guest *g = clientData;

    g->closed = 1;
    g->token = NULL;
    TkuvPumpDestroy(g->pump);
    g->bridge->numHandles--;
    Tcl_EventuallyFree(g, FreeGuest);
}

static void
FreeGuest(
    char *blockPtr)
{
    Guest *g = (Guest *) blockPtr;

    Tcl_DecrRefCount(g->nameObj);
    Tcl_DecrRefCount(g->tickCmd);
    TkuvFree(g);
}
