/*
 * tkuvTcp.c --
 *
 *	tkuv::tcp (placeholder: being written).
 */

#include "tkuvInt.h"

int
TkuvTcpObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) clientData;
    (void) objc;
    (void) objv;
    return TkuvUsageError(interp, "tkuv::tcp is not available yet");
}
