/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * parse-wrap.c --
 *
 *	For the libFuzzer harness (parse-fuzz.c): exports the static parsers of
 *	one generic/ file. Compiled once per file with -DWRAP_UDP, -DWRAP_TCP,
 *	-DWRAP_FS or -DWRAP_SIGNAL; each object stands in for that file's own
 *	object in the harness.
 */

#if defined(WRAP_UDP)
#include "tkuvUdp.c"

/* tkuv's objects call Tcl through the stubs table, which this fills. */
int
TkuvFuzzInitStubs(
    Tcl_Interp *interp)
{
    return Tcl_InitStubs(interp, "8.6", 0) != NULL;
}

int
TkuvFuzzUdpAddress(
    Tcl_Interp *interp,
    const char *host,
    int port,
    struct sockaddr_storage *ss)
{
    return GetAddress(interp, host, port, ss);
}

void
TkuvFuzzUdpAddressObjs(
    const struct sockaddr *sa,
    Tcl_Obj **hostPtr,
    Tcl_Obj **portPtr)
{
    AddressToObjs(sa, hostPtr, portPtr);
}

#elif defined(WRAP_TCP)
#include "tkuvTcp.c"

int
TkuvFuzzTcpAddress(
    Tcl_Interp *interp,
    const char *host,
    int port,
    struct sockaddr_storage *ss)
{
    return ParseAddress(interp, "fuzz", host, port, ss);
}

#elif defined(WRAP_FS)
#include "tkuvFs.c"

int
TkuvFuzzFsMode(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    int *modePtr)
{
    return GetMode(interp, obj, modePtr);
}

int
TkuvFuzzFsOffset(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    int64_t *valuePtr)
{
    return GetOffset(interp, obj, "offset", valuePtr);
}

int
TkuvFuzzFsPath(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    Tcl_DString *dsPtr)
{
    return GetNativePath(interp, obj, dsPtr);
}

#elif defined(WRAP_SIGNAL)
#include "tkuvSignal.c"

int
TkuvFuzzSignal(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    int *signumPtr,
    const char **namePtr)
{
    return ParseSignal(interp, obj, signumPtr, namePtr);
}

#else
#error "define one of WRAP_UDP, WRAP_TCP, WRAP_FS, WRAP_SIGNAL"
#endif
