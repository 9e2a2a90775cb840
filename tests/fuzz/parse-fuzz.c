/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * parse-fuzz.c --
 *
 *	libFuzzer harness for tkuv's parsers of addresses and options (issue
 *	9): numeric addresses (tkuv::udp, tkuv::tcp -bind), ports, milliseconds,
 *	file modes, offsets and paths (tkuv::fs), signal names, byte values and
 *	option tables. `make fuzz-parse` builds it with clang and runs it.
 *
 *	Input: byte 0 picks the parser, bytes 1-2 give a number (a port, a
 *	minimum), the rest is the value, read as UTF-8 the way Tcl reads a
 *	script (invalid bytes become the characters U+0080-U+00FF).
 *
 *	Besides the sanitizers, each parser's contract is checked, and a
 *	breach aborts: a result in its documented range, an accepted address
 *	that reads back (tkuv's own text form parses to the same address),
 *	a signal name that maps back to its number, and every refusal a
 *	TCL_ERROR with a message and an errorCode starting with TKUV.
 */

#include <tcl.h>
#include <uv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>

/* The parsers, exported by parse-wrap.c or shared in generic/. */
int	TkuvFuzzUdpAddress(Tcl_Interp *interp, const char *host, int port,
	    struct sockaddr_storage *ss);
void	TkuvFuzzUdpAddressObjs(const struct sockaddr *sa, Tcl_Obj **hostPtr,
	    Tcl_Obj **portPtr);
int	TkuvFuzzTcpAddress(Tcl_Interp *interp, const char *host, int port,
	    struct sockaddr_storage *ss);
int	TkuvFuzzFsMode(Tcl_Interp *interp, Tcl_Obj *obj, int *modePtr);
int	TkuvFuzzFsOffset(Tcl_Interp *interp, Tcl_Obj *obj, int64_t *valuePtr);
int	TkuvFuzzFsPath(Tcl_Interp *interp, Tcl_Obj *obj, Tcl_DString *dsPtr);
int	TkuvFuzzSignal(Tcl_Interp *interp, Tcl_Obj *obj, int *signumPtr,
	    const char **namePtr);
int	TkuvGetPort(Tcl_Interp *interp, Tcl_Obj *obj, int minimum,
	    int *portPtr);
int	TkuvGetMilliseconds(Tcl_Interp *interp, Tcl_Obj *obj, int minimum,
	    uint64_t *msPtr);
int	TkuvGetSignal(Tcl_Interp *interp, Tcl_Obj *obj, int minimum,
	    int *signumPtr);
const char *TkuvSignalName(int signum);
const unsigned char *TkuvGetBytes(Tcl_Interp *interp, Tcl_Obj *obj,
	    int *lengthPtr);
int	TkuvGetIndex(Tcl_Interp *interp, Tcl_Obj *obj,
	    const char *const *table, const char *what, int *indexPtr);
int	TkuvSockaddrName(const struct sockaddr *sa, char *name, size_t size);
int	TkuvFuzzInitStubs(Tcl_Interp *interp);

static Tcl_Interp *interp;
static Tcl_Encoding utf8;

static void
Fail(
    const char *what,
    const char *value)
{
    fprintf(stderr, "parse-fuzz: %s (value \"%s\")\n", what, value);
    abort();
}

/* A refusal must be TCL_ERROR with a message and errorCode {TKUV ...}. */
static void
CheckError(
    const char *value)
{
    Tcl_Obj *opts = Tcl_GetReturnOptions(interp, TCL_ERROR), *key, *code;
    Tcl_Obj *first;
    const char *msg = Tcl_GetStringResult(interp);

    Tcl_IncrRefCount(opts);
    key = Tcl_NewStringObj("-errorcode", -1);
    Tcl_IncrRefCount(key);
    if (Tcl_DictObjGet(NULL, opts, key, &code) != TCL_OK || code == NULL
	    || Tcl_ListObjIndex(NULL, code, 0, &first) != TCL_OK
	    || first == NULL || strcmp(Tcl_GetString(first), "TKUV") != 0) {
	Fail("refused without errorCode TKUV", value);
    }
    if (msg[0] == '\0') {
	Fail("refused without a message", value);
    }
    Tcl_DecrRefCount(key);
    Tcl_DecrRefCount(opts);
    Tcl_ResetResult(interp);
}

/* An accepted address must read back as itself. */
static void
CheckAddress(
    int (*parse)(Tcl_Interp *, const char *, int, struct sockaddr_storage *),
    const struct sockaddr_storage *ss,
    int port,
    const char *value)
{
    char name[128];
    struct sockaddr_storage again;
    int got = TkuvSockaddrName((const struct sockaddr *) ss, name,
	    sizeof(name));

    if (got != port) {
	Fail("accepted address lost its port", value);
    }
    if (parse(NULL, name, port, &again) != TCL_OK) {
	Fail("an accepted address's text form is refused", value);
    }
    if (ss->ss_family == AF_INET6 && again.ss_family == AF_INET) {
	/* ::ffff:a.b.c.d is named in its IPv4 form, on purpose. */
	static const unsigned char mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	const unsigned char *b =
		((const struct sockaddr_in6 *) ss)->sin6_addr.s6_addr;

	if (memcmp(b, mapped, 12) != 0 || memcmp(b + 12,
		&((struct sockaddr_in *) &again)->sin_addr, 4) != 0) {
	    Fail("an accepted IPv6 address reads back as IPv4", value);
	}
	return;
    }
    if (ss->ss_family != again.ss_family) {
	Fail("an accepted address reads back in another family", value);
    }
    if (ss->ss_family == AF_INET
	    ? memcmp(&((const struct sockaddr_in *) ss)->sin_addr,
		&((struct sockaddr_in *) &again)->sin_addr, 4) != 0
	    : memcmp(&((const struct sockaddr_in6 *) ss)->sin6_addr,
		&((struct sockaddr_in6 *) &again)->sin6_addr, 16) != 0) {
	Fail("an accepted address reads back as another address", value);
    }
}

/* TkuvFuzzTcpAddress with a NULL interp would write a message into it. */
static int
TcpAddressNoInterp(
    Tcl_Interp *ip,
    const char *host,
    int port,
    struct sockaddr_storage *ss)
{
    return TkuvFuzzTcpAddress(ip != NULL ? ip : interp, host, port, ss);
}

int
LLVMFuzzerInitialize(
    int *argcPtr,
    char ***argvPtr)
{
    (void) argcPtr;
    Tcl_FindExecutable((*argvPtr)[0]);
    interp = Tcl_CreateInterp();
    if (!TkuvFuzzInitStubs(interp)) {
	fprintf(stderr, "parse-fuzz: no Tcl stubs\n");
	exit(1);
    }
    utf8 = Tcl_GetEncoding(NULL, "utf-8");
    return 0;
}

int
LLVMFuzzerTestOneInput(
    const uint8_t *data,
    size_t size)
{
    static const char *const table[] = {
	"-command", "-host", "-port", "-recvsize", NULL
    };
    Tcl_DString ds;
    Tcl_Obj *obj;
    const char *value;
    int which, number, code, i;

    if (size < 3) {
	return 0;
    }
    which = data[0] % 11;
    if (getenv("PARSE_FUZZ_ONLY") != NULL) {
	/* Debugging: one parser only. */
	which = atoi(getenv("PARSE_FUZZ_ONLY"));
    }
    number = data[1] | (data[2] << 8);
    Tcl_ExternalToUtfDString(utf8,
	    (const char *) data + 3, (int) size - 3, &ds);
    obj = Tcl_NewStringObj(Tcl_DStringValue(&ds), Tcl_DStringLength(&ds));
    Tcl_IncrRefCount(obj);
    value = Tcl_GetString(obj);

    switch (which) {
    case 0: case 1: {
	struct sockaddr_storage ss;
	int (*parse)(Tcl_Interp *, const char *, int,
		struct sockaddr_storage *) = which == 0
		? TkuvFuzzUdpAddress : TcpAddressNoInterp;

	code = parse(interp, value, number, &ss);
	if (code == TCL_OK) {
	    CheckAddress(parse, &ss, number, value);
	    if (which == 0) {
		Tcl_Obj *h, *p;

		TkuvFuzzUdpAddressObjs((const struct sockaddr *) &ss, &h, &p);
		Tcl_IncrRefCount(h);
		Tcl_IncrRefCount(p);
		if (TkuvFuzzUdpAddress(NULL, Tcl_GetString(h), number, &ss)
			!= TCL_OK) {
		    Fail("udp's text form of an address is refused", value);
		}
		Tcl_DecrRefCount(h);
		Tcl_DecrRefCount(p);
	    }
	} else {
	    CheckError(value);
	}
	break;
    }
    case 2: {
	int port, minimum = number & 1;

	if (TkuvGetPort(interp, obj, minimum, &port) == TCL_OK) {
	    if (port < minimum || port > 65535) {
		Fail("port out of range accepted", value);
	    }
	} else {
	    CheckError(value);
	}
	break;
    }
    case 3: {
	uint64_t ms;
	int minimum = number & 1;

	if (TkuvGetMilliseconds(interp, obj, minimum, &ms) == TCL_OK) {
	    if (ms < (uint64_t) minimum || ms > ((uint64_t) 1 << 50)) {
		Fail("milliseconds out of range accepted", value);
	    }
	} else {
	    CheckError(value);
	}
	break;
    }
    case 4: {
	int mode;

	if (TkuvFuzzFsMode(interp, obj, &mode) == TCL_OK) {
	    const char *p = value;

	    if (mode < 0 || mode > 07777) {
		Fail("mode out of range accepted", value);
	    }
	    if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
		p += 2;
	    }
	    if (strtol(p, NULL, 8) != mode) {
		Fail("mode read differently from chmod", value);
	    }
	} else {
	    CheckError(value);
	}
	break;
    }
    case 5: {
	int64_t offset;

	if (TkuvFuzzFsOffset(interp, obj, &offset) == TCL_OK) {
	    if (offset < 0) {
		Fail("negative offset accepted", value);
	    }
	} else {
	    CheckError(value);
	}
	break;
    }
    case 6: {
	Tcl_DString native;

	if (TkuvFuzzFsPath(interp, obj, &native) == TCL_OK) {
	    if (Tcl_DStringLength(&native) == 0
		    || strlen(Tcl_DStringValue(&native))
			!= (size_t) Tcl_DStringLength(&native)) {
		Fail("path accepted as an empty or cut native name", value);
	    }
	    Tcl_DStringFree(&native);
	} else {
	    CheckError(value);
	}
	break;
    }
    case 7: {
	int signum;
	const char *name;

	if (TkuvFuzzSignal(interp, obj, &signum, &name) == TCL_OK) {
	    if (signum < 1 || signum > 127 || signum == SIGKILL
		    || signum == SIGSTOP || signum == SIGSEGV) {
		Fail("signal that cannot be caught accepted", value);
	    }
	    if (name != NULL) {
		Tcl_Obj *n = Tcl_NewStringObj(name, -1);
		int back;

		Tcl_IncrRefCount(n);
		if (TkuvGetSignal(interp, n, 1, &back) != TCL_OK
			|| back != signum) {
		    Fail("a signal's name does not map back to it", value);
		}
		Tcl_DecrRefCount(n);
	    }
	} else {
	    CheckError(value);
	}
	break;
    }
    case 8: {
	int signum;

	if (TkuvGetSignal(interp, obj, number & 1, &signum) == TCL_OK) {
	    if (signum < (number & 1) || signum > 127) {
		Fail("signal number out of range accepted", value);
	    }
	} else {
	    CheckError(value);
	}
	break;
    }
    case 9: {
	/* Looked at before TkuvGetBytes makes obj a byte array. */
	Tcl_Obj *copy = Tcl_DuplicateObj(obj);
	int length, chars, wide = 0;
	const unsigned char *bytes;

	Tcl_IncrRefCount(copy);
	chars = Tcl_GetCharLength(copy);
	for (i = 0; i < chars; i++) {
	    if (Tcl_GetUniChar(copy, i) > 0xFF) {
		wide = 1;
	    }
	}
	Tcl_DecrRefCount(copy);
	bytes = TkuvGetBytes(interp, obj, &length);
	if (bytes != NULL) {
	    if (wide) {
		Fail("a character above U+00FF accepted as a byte", value);
	    }
	    if (length != chars) {
		Fail("byte count differs from the character count", value);
	    }
	} else {
	    if (!wide) {
		Fail("a string of bytes refused", value);
	    }
	    CheckError(value);
	}
	break;
    }
    case 10: {
	int index;

	if (TkuvGetIndex(interp, obj, table, "option", &index) == TCL_OK) {
	    if (index < 0 || index > 3) {
		Fail("option index out of the table", value);
	    }
	} else {
	    CheckError(value);
	}
	break;
    }
    }
    Tcl_ResetResult(interp);
    Tcl_DecrRefCount(obj);
    Tcl_DStringFree(&ds);
    return 0;
}
