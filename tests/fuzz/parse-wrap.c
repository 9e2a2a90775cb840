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

/* -myaddr's check, then the address it stands for ("" is the default). */
int
TkuvFuzzTcpAddress(
    Tcl_Interp *interp,
    const char *host,
    int port,
    struct sockaddr_storage *ss)
{
    Tcl_Obj *obj = Tcl_NewStringObj(host, -1);
    const TkuvOption *opt = connOptions;
    int code;

    while (strcmp(opt->name, "-myaddr") != 0) {
	opt++;
    }
    Tcl_IncrRefCount(obj);
    code = CheckAddress(interp, opt, obj, NULL);
    Tcl_DecrRefCount(obj);
    if (code == TCL_OK && !TkuvNumericAddress(host, port, ss)) {
	code = TkuvUsageError(interp, "the default address");
    }
    return code;
}

#elif defined(WRAP_FS)
#include "tkuvFs.c"

/* -mode's check, then the mode it stands for. */
int
TkuvFuzzFsMode(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    int *modePtr)
{
    if (CheckMode(interp, &mkdirOptions[1], obj, NULL) != TCL_OK) {	/* -mode */
	return TCL_ERROR;
    }
    ParseMode(Tcl_GetString(obj), modePtr);
    return TCL_OK;
}

/* -offset as tkuv::fs read parses it, through the family's option table. */
int
TkuvFuzzFsOffset(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    int64_t *valuePtr)
{
    Tcl_Obj *words[4];
    TkuvOptionValues vals;
    int i, code;

    words[0] = Tcl_NewStringObj("-offset", -1);
    words[1] = obj;
    words[2] = Tcl_NewStringObj("-command", -1);
    words[3] = Tcl_NewStringObj("cmd", -1);
    for (i = 0; i < 4; i++) {
	Tcl_IncrRefCount(words[i]);
    }
    code = TkuvOptionsParse(interp, readOptions, 4, words, TKUV_PARSE_CREATE,
	    &vals);
    if (code == TCL_OK) {
	*valuePtr = (int64_t) vals.v[O_OFFSET].w;
    }
    for (i = 0; i < 4; i++) {
	Tcl_DecrRefCount(words[i]);
    }
    return code;
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
