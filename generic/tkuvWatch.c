/*
 * tkuvWatch.c --
 *
 *	tkuv::watch (placeholder: being written).
 */

#include "tkuvInt.h"

int
TkuvWatchObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) clientData;
    (void) objc;
    (void) objv;
    return TkuvUsageError(interp, "tkuv::watch is not available yet");
}
