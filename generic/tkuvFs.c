/*
 * tkuvFs.c --
 *
 *	tkuv::fs (placeholder: being written).
 */

#include "tkuvInt.h"

int
TkuvFsObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) clientData;
    (void) objc;
    (void) objv;
    return TkuvUsageError(interp, "tkuv::fs is not available yet");
}
