/*
 * tkuvSignal.c --
 *
 *	tkuv::signal (placeholder: being written).
 */

#include "tkuvInt.h"

int
TkuvSignalObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) clientData;
    (void) objc;
    (void) objv;
    return TkuvUsageError(interp, "tkuv::signal is not available yet");
}
