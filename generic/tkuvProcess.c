/*
 * tkuvProcess.c --
 *
 *	tkuv::spawn (placeholder: being written).
 */

#include "tkuvInt.h"

int
TkuvSpawnObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) clientData;
    (void) objc;
    (void) objv;
    return TkuvUsageError(interp, "tkuv::spawn is not available yet");
}
