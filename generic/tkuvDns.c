/*
 * tkuvDns.c --
 *
 *	tkuv::resolve (placeholder: being written).
 */

#include "tkuvInt.h"

int
TkuvResolveObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) clientData;
    (void) objc;
    (void) objv;
    return TkuvUsageError(interp, "tkuv::resolve is not available yet");
}
