/*
 * tkuvUdp.c --
 *
 *	tkuv::udp (placeholder: being written).
 */

#include "tkuvInt.h"

int
TkuvUdpObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) clientData;
    (void) objc;
    (void) objv;
    return TkuvUsageError(interp, "tkuv::udp is not available yet");
}
