/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvError.c --
 *
 *	One place that builds tkuv's errors, so every failure carries a
 *	message naming the bad value and an errorCode starting with TKUV:
 *	{TKUV USAGE message} for bad arguments, {TKUV <UV_ERRNAME> <text>} for
 *	libuv failures. Also the small argument parsers that use them, and the
 *	allocator wrappers.
 */

#include "tkuvInt.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 *----------------------------------------------------------------------
 *
 * TkuvUsageError --
 *
 *	printf-style message; errorCode {TKUV USAGE message}.
 *
 * Results:
 *	Always TCL_ERROR.
 *
 *----------------------------------------------------------------------
 */

int
TkuvUsageError(
    Tcl_Interp *interp,
    const char *format,
    ...)
{
    va_list ap;
    char buf[1024];		/* Long values are cut, not copied whole. */

    va_start(ap, format);
    vsnprintf(buf, sizeof(buf), format, ap);
    va_end(ap);
    Tcl_SetObjResult(interp, Tcl_NewStringObj(buf, -1));
    Tcl_SetErrorCode(interp, "TKUV", "USAGE", buf, NULL);
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvUvError --
 *
 *	"what: libuv message"; errorCode {TKUV ENAME {libuv message}}.
 *
 *----------------------------------------------------------------------
 */

int
TkuvUvError(
    Tcl_Interp *interp,
    const char *what,
    int err)
{
    Tcl_SetObjResult(interp, Tcl_ObjPrintf("%s: %s", what, uv_strerror(err)));
    Tcl_SetErrorCode(interp, "TKUV", uv_err_name(err), uv_strerror(err), NULL);
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvWrongNumArgs, TkuvGetIndex --
 *
 *	Tcl_WrongNumArgs and Tcl_GetIndexFromObj with a TKUV errorCode.
 *
 *----------------------------------------------------------------------
 */

int
TkuvWrongNumArgs(
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[],
    const char *message)
{
    Tcl_WrongNumArgs(interp, objc, objv,
	    (message != NULL && *message) ? message : NULL);
    Tcl_SetErrorCode(interp, "TKUV", "USAGE", Tcl_GetStringResult(interp),
	    NULL);
    return TCL_ERROR;
}

int
TkuvGetIndex(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    const char *const *table,
    const char *what,
    int *indexPtr)
{
    if (Tcl_GetIndexFromObj(interp, obj, table, what, 0, indexPtr)
	    != TCL_OK) {
	Tcl_SetErrorCode(interp, "TKUV", "USAGE", Tcl_GetStringResult(interp),
		NULL);
	return TCL_ERROR;
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvAppendChoices --
 *
 *	Appends "a, b, or c" (Tcl's wording: "a or b" for two) to msg: the
 *	names in alphabetical order, leaving out those whose bit is set in
 *	`unlisted` (aliases).
 *
 *----------------------------------------------------------------------
 */

void
TkuvAppendChoices(
    Tcl_Obj *msg,
    const char *const *names,
    int count,
    uint64_t unlisted)
{
    const char *sorted[TKUV_MAX_OPTIONS * 2];
    int i, j, n = 0;

    for (i = 0; i < count && n < (int) (sizeof(sorted) / sizeof(*sorted));
	    i++) {
	if (i < 64 && ((unlisted >> i) & 1)) {
	    continue;
	}
	for (j = n; j > 0 && strcmp(sorted[j - 1], names[i]) > 0; j--) {
	    sorted[j] = sorted[j - 1];
	}
	sorted[j] = names[i];
	n++;
    }
    for (i = 0; i < n; i++) {
	Tcl_AppendStringsToObj(msg, (i == 0) ? "" : (i < n - 1) ? ", "
		: (n == 2) ? " or " : ", or ", sorted[i], (char *) NULL);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvLookup --
 *
 *	Finds obj among `count` names (any order): an exact match, or else a
 *	unique prefix, as Tcl_GetIndexFromObj accepts. The names need not
 *	sit in a NULL-terminated array of their own, so one call can search
 *	shared and family subcommands together (see TkuvHandleObjCmd).
 *
 * Results:
 *	TCL_OK with *indexPtr, or TCL_ERROR with `bad WHAT "x": must be
 *	...` (unlisted names left out) and errorCode {TKUV USAGE message}.
 *
 *----------------------------------------------------------------------
 */

int
TkuvLookup(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    const char *what,
    const char *const *names,
    int count,
    uint64_t unlisted,
    int *indexPtr)
{
    Tcl_Size length;
    const char *key = Tcl_GetStringFromObj(obj, &length);
    int i, found = -1, matches = 0;
    Tcl_Obj *msg;

    for (i = 0; i < count; i++) {
	if (strcmp(key, names[i]) == 0) {
	    *indexPtr = i;
	    return TCL_OK;
	}
	if (length > 0 && strncmp(key, names[i], (size_t) length) == 0) {
	    found = i;
	    matches++;
	}
    }
    if (matches == 1) {
	*indexPtr = found;
	return TCL_OK;
    }
    msg = Tcl_ObjPrintf("%s %s \"%s\": must be ",
	    matches > 1 ? "ambiguous" : "bad", what, key);
    TkuvAppendChoices(msg, names, count, unlisted);
    Tcl_SetObjResult(interp, msg);
    Tcl_SetErrorCode(interp, "TKUV", "USAGE", Tcl_GetString(msg), NULL);
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvBadValue --
 *
 *	The one form of a bad option value: `expected EXPECTED for OPTION but
 *	got "VALUE"`, errorCode {TKUV USAGE message}.
 *
 * Results:
 *	Always TCL_ERROR.
 *
 *----------------------------------------------------------------------
 */

int
TkuvBadValue(
    Tcl_Interp *interp,
    const char *option,
    const char *expected,
    Tcl_Obj *valueObj)
{
    return TkuvUsageError(interp, "expected %s for %s but got \"%s\"",
	    expected, option, Tcl_GetString(valueObj));
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvGetSubcommand --
 *
 *	The subcommand of a command (objv[1]) from a sorted table; a missing
 *	one is a wrong-# error with `usage`.
 *
 *----------------------------------------------------------------------
 */

int
TkuvGetSubcommand(
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[],
    const char *const *table,
    const char *usage,
    int *indexPtr)
{
    if (objc < 2) {
	return TkuvWrongNumArgs(interp, 1, objv, usage);
    }
    return TkuvGetIndex(interp, objv[1], table, "subcommand", indexPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvGetPort --
 *
 *	Parses a port number from `minimum` (0 or 1) to 65535.
 *
 *----------------------------------------------------------------------
 */

int
TkuvGetPort(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    int minimum,
    int *portPtr)
{
    int port;

    if (Tcl_GetIntFromObj(NULL, obj, &port) != TCL_OK
	    || port < minimum || port > 65535) {
	return TkuvUsageError(interp, "expected a port number (%d-65535) but "
		"got \"%s\"", minimum, Tcl_GetString(obj));
    }
    *portPtr = port;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvGetMilliseconds --
 *
 *	Parses a whole number of milliseconds >= minimum.
 *
 *----------------------------------------------------------------------
 */

#define TKUV_MAX_MS ((Tcl_WideInt) 1 << 50)	/* ~35,000 years */

int
TkuvGetMilliseconds(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    int minimum,
    uint64_t *msPtr)
{
    Tcl_WideInt ms;

    if (Tcl_GetWideIntFromObj(NULL, obj, &ms) != TCL_OK
	    || ms < minimum || ms > TKUV_MAX_MS) {
	return TkuvUsageError(interp,
		"expected an integer number of milliseconds >= %d but got \"%s\"",
		minimum, Tcl_GetString(obj));
    }
    *msPtr = (uint64_t) ms;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * NotBytes --
 *
 *	Finds the first character above U+00FF of a value and reports it.
 *
 * Results:
 *	1 with a {TKUV USAGE} error naming the character, or 0 when every
 *	character is a byte.
 *
 *----------------------------------------------------------------------
 */

static int
NotBytes(
    Tcl_Interp *interp,
    Tcl_Obj *obj)
{
    Tcl_Size length, i;
    const char *s = Tcl_GetStringFromObj(obj, &length);
    Tcl_UniChar ch = 0;

    for (i = 0; i < length; ) {
	if ((unsigned char) s[i] < 0x80) {
	    i++;
	    continue;
	}
	i += Tcl_UtfToUniChar(s + i, &ch);
	if (ch > 0xFF) {
	    TkuvUsageError(interp, "expected bytes but got a string with "
		    "the character U+%04X: convert it with encoding "
		    "convertto first", (unsigned) ch);
	    return 1;
	}
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvGetBytes --
 *
 *	The bytes of a value that is to be written. A string holding a
 *	character above U+00FF has no byte form (Tcl 8.6 would silently keep
 *	only its low byte; Tcl 9 gives none), so it is refused: convert text
 *	with `encoding convertto` first.
 *
 *	A Tcl 9 value may hold 4 GiB or more, which libuv's buffers (their
 *	length an unsigned int) cannot carry: such a value is refused too.
 *
 * Results:
 *	The bytes and *lengthPtr, or NULL with a {TKUV USAGE} error.
 *
 *----------------------------------------------------------------------
 */

const unsigned char *
TkuvGetBytes(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    Tcl_Size *lengthPtr)
{
#if TCL_MAJOR_VERSION > 8
    /* Tcl 9 refuses such a string itself (and registers no "bytearray"). */
    const unsigned char *bytes = Tcl_GetBytesFromObj(NULL, obj, lengthPtr);

    if (bytes == NULL && !NotBytes(interp, obj)) {
	TkuvUsageError(interp, "expected bytes but got \"%s\"",
		Tcl_GetString(obj));
    }
    if (bytes != NULL && (size_t) *lengthPtr > UINT_MAX) {
	TkuvUsageError(interp, "%" TCL_SIZE_MODIFIER "d bytes are too many "
		"for one write: at most %u", *lengthPtr, UINT_MAX);
	return NULL;
    }
    return bytes;
#else
    /* Looked up each time: a static cache would be shared by threads. */
    if (obj->typePtr != Tcl_GetObjType("bytearray") && NotBytes(interp, obj)) {
	return NULL;
    }
    return Tcl_GetByteArrayFromObj(obj, lengthPtr);
#endif
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvAlloc, TkuvFree --
 *
 *	malloc/free for tkuv's own records (see tkuvInt.h for why).
 *
 *----------------------------------------------------------------------
 */

void *
TkuvAlloc(
    size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL) {
	Tcl_Panic("tkuv: out of memory allocating %lu bytes",
		(unsigned long) size);
    }
    return p;
}

void
TkuvFree(
    void *ptr)
{
    free(ptr);
}
