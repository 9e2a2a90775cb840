/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvDns.c --
 *
 *	tkuv::resolve: name and address lookups on libuv's threadpool
 *	(uv_getaddrinfo, uv_getnameinfo), so a slow resolver never blocks the
 *	Tcl thread.
 *
 *	    tkuv::resolve HOST ?-family inet|inet6|any? ?-port PORT? CMD
 *	    tkuv::resolve -reverse ADDRESS CMD
 *
 *	Each lookup is a request handle (::tkuv::resolveN) without a libuv
 *	handle: it counts in `tkuv::info handles`, `$r cancel` (or renaming it
 *	away, or deleting its interp) abandons it, and it closes by itself once
 *	its one event (addresses, name or error) has run.
 */

#include "tkuvInt.h"
#include <string.h>

typedef struct Resolve {
    TkuvHandle h;		/* Must be first. */
    union {
	uv_getaddrinfo_t ai;
	uv_getnameinfo_t ni;
    } req;
    int reverse;		/* getnameinfo rather than getaddrinfo. */
    int withPort;		/* -port given: report ports too. */
    int inFlight;		/* The libuv request has not called back. */
} Resolve;

static void	ResolveClosed(TkuvHandle *h);

static const TkuvHandleType resolveType = {
    "resolve", TkuvRequestHandleCmd, sizeof(Resolve), ResolveClosed
};

static int	StartForward(Tcl_Interp *interp, int objc, Tcl_Obj *const objv[]);
static int	StartReverse(Tcl_Interp *interp, Tcl_Obj *addrObj,
		    Tcl_Obj *callback);
static void	OnAddrInfo(uv_getaddrinfo_t *req, int status,
		    struct addrinfo *res);
static void	OnNameInfo(uv_getnameinfo_t *req, int status,
		    const char *hostname, const char *service);
static Tcl_Obj *AddressList(struct addrinfo *res, int withPort);
static void	QueueError(Resolve *r, int status);

/*
 *----------------------------------------------------------------------
 *
 * TkuvResolveObjCmd --
 *
 *	tkuv::resolve HOST ?-family inet|inet6|any? ?-port PORT? CMD
 *	tkuv::resolve -reverse ADDRESS CMD
 *
 * Results:
 *	The name of the new request handle.
 *
 * Side effects:
 *	Queues a lookup on libuv's threadpool; CMD runs later with its result.
 *
 *----------------------------------------------------------------------
 */

int
TkuvResolveObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) clientData;
    if (objc >= 2 && strcmp(Tcl_GetString(objv[1]), "-reverse") == 0) {
	if (objc != 4) {
	    return TkuvWrongNumArgs(interp, 1, objv, "-reverse address command");
	}
	return StartReverse(interp, objv[2], objv[3]);
    }
    if (objc < 3 || objc % 2 == 0) {
	return TkuvWrongNumArgs(interp, 1, objv,
		"host ?-family inet|inet6|any? ?-port port? command");
    }
    return StartForward(interp, objc, objv);
}

/*
 *----------------------------------------------------------------------
 *
 * StartForward --
 *
 *	Parses HOST, the options and CMD, and starts uv_getaddrinfo.
 *
 *----------------------------------------------------------------------
 */

static int
StartForward(
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const options[] = { "-family", "-port", NULL };
    enum { O_FAMILY, O_PORT };
    static const char *const families[] = { "any", "inet", "inet6", NULL };
    static const int familyValues[] = { AF_UNSPEC, AF_INET, AF_INET6 };
    const char *host = Tcl_GetString(objv[1]);
    const char *service = NULL;
    Tcl_Obj *callback = objv[objc - 1];
    struct addrinfo hints;
    TkuvBridge *bridge;
    Resolve *r;
    int i, index, family = AF_UNSPEC, port, err;

    if (*host == '\0') {
	return TkuvUsageError(interp, "expected a host name or address but "
		"got \"\"");
    }
    for (i = 2; i < objc - 1; i += 2) {
	if (TkuvGetIndex(interp, objv[i], options, "option", &index)
		!= TCL_OK) {
	    return TCL_ERROR;
	}
	switch (index) {
	case O_FAMILY:
	    if (Tcl_GetIndexFromObj(NULL, objv[i + 1], families, "family", 0,
		    &index) != TCL_OK) {
		return TkuvUsageError(interp, "bad family \"%s\": must be "
			"any, inet, or inet6", Tcl_GetString(objv[i + 1]));
	    }
	    family = familyValues[index];
	    break;
	case O_PORT:
	    /* A number, or a service name from the services database. */
	    service = Tcl_GetString(objv[i + 1]);
	    if (Tcl_GetIntFromObj(NULL, objv[i + 1], &port) == TCL_OK) {
		if (port < 0 || port > 65535) {
		    return TkuvUsageError(interp, "expected a port number "
			    "0-65535 or a service name but got \"%s\"",
			    service);
		}
	    } else if (*service == '\0' || strpbrk(service, " \t\n/") != NULL
		    || (*service >= '0' && *service <= '9')) {
		return TkuvUsageError(interp, "expected a port number "
			"0-65535 or a service name but got \"%s\"", service);
	    }
	    break;
	}
    }
    if (TkuvCheckCallback(interp, callback) != TCL_OK
	    || TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    /*
     * One socket type, or every address would come back once per type. No
     * AI_ADDRCONFIG: it hides ::1 on hosts whose only IPv6 is loopback.
     */
    hints.ai_socktype = SOCK_STREAM;

    r = TkuvHandleAlloc(&resolveType);
    r->withPort = (service != NULL);
    r->req.ai.data = r;
    err = uv_getaddrinfo(&bridge->loop, &r->req.ai, OnAddrInfo, host,
	    service, &hints);
    if (err != 0) {
	TkuvFree(r);
	return TkuvUvError(interp, "resolve", err);
    }
    r->inFlight = 1;
    TkuvPoolBegin();
    TkuvHandleRegister(interp, bridge, &r->h, NULL, callback);
    TkuvHandleRetain(&r->h);		/* Released by OnAddrInfo. */
    TkuvBridgeKick(bridge);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * StartReverse --
 *
 *	tkuv::resolve -reverse ADDRESS CMD: uv_getnameinfo on a numeric IPv4
 *	or IPv6 address.
 *
 *----------------------------------------------------------------------
 */

static int
StartReverse(
    Tcl_Interp *interp,
    Tcl_Obj *addrObj,
    Tcl_Obj *callback)
{
    const char *addr = Tcl_GetString(addrObj);
    struct sockaddr_storage ss;
    TkuvBridge *bridge;
    Resolve *r;
    int err;

    if (!TkuvNumericAddress(addr, 0, &ss)) {
	return TkuvUsageError(interp, "expected a numeric IPv4 or IPv6 "
		"address but got \"%s\"", addr);
    }
    if (TkuvCheckCallback(interp, callback) != TCL_OK
	    || TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }
    r = TkuvHandleAlloc(&resolveType);
    r->reverse = 1;
    r->req.ni.data = r;
    /*
     * NI_NAMEREQD: an address without a name is an error event, not its
     * own numeric form dressed up as a name.
     */
    err = uv_getnameinfo(&bridge->loop, &r->req.ni, OnNameInfo,
	    (const struct sockaddr *) &ss, NI_NAMEREQD);
    if (err != 0) {
	TkuvFree(r);
	return TkuvUvError(interp, "resolve -reverse", err);
    }
    r->inFlight = 1;
    TkuvPoolBegin();
    TkuvHandleRegister(interp, bridge, &r->h, NULL, callback);
    TkuvHandleRetain(&r->h);		/* Released by OnNameInfo. */
    TkuvBridgeKick(bridge);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * OnAddrInfo, OnNameInfo --
 *
 *	libuv's callbacks (on the Tcl thread, inside uv_run): queue the
 *	result event unless the request was cancelled, free libuv's result,
 *	drop the reference taken when the request started.
 *
 *----------------------------------------------------------------------
 */

static void
OnAddrInfo(
    uv_getaddrinfo_t *req,
    int status,
    struct addrinfo *res)
{
    Resolve *r = req->data;

    TkuvPoolEnd();
    r->inFlight = 0;
    if (!r->h.closed) {
	if (status == 0) {
	    Tcl_Obj *ev = Tcl_NewStringObj("addresses", -1);

	    ev = Tcl_NewListObj(1, &ev);
	    Tcl_ListObjAppendElement(NULL, ev, AddressList(res, r->withPort));
	    TkuvHandleQueueEvent(&r->h, ev, TkuvHandleCloseAfterEvent, NULL, 0);
	} else {
	    QueueError(r, status);
	}
    }
    uv_freeaddrinfo(res);		/* NULL-safe. */
    TkuvHandleRelease(&r->h);
}

static void
OnNameInfo(
    uv_getnameinfo_t *req,
    int status,
    const char *hostname,
    const char *service)
{
    Resolve *r = req->data;

    (void) service;
    TkuvPoolEnd();
    r->inFlight = 0;
    if (!r->h.closed) {
	if (status == 0) {
	    Tcl_Obj *words[2];
	    Tcl_DString ds;

	    /* Host names come in the system encoding (UTF-8 on Windows). */
	    TkuvpNativeToUtf(hostname, &ds);
	    words[0] = Tcl_NewStringObj("name", -1);
	    words[1] = Tcl_NewStringObj(Tcl_DStringValue(&ds),
		    Tcl_DStringLength(&ds));
	    Tcl_DStringFree(&ds);
	    TkuvHandleQueueEvent(&r->h, Tcl_NewListObj(2, words), TkuvHandleCloseAfterEvent,
		    NULL, 0);
	} else {
	    QueueError(r, status);
	}
    }
    TkuvHandleRelease(&r->h);
}

/*
 *----------------------------------------------------------------------
 *
 * AddressList --
 *
 *	getaddrinfo's result as a list of {inet|inet6 ADDRESS ?PORT?}, in the
 *	resolver's order, each address once.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
AddressList(
    struct addrinfo *res,
    int withPort)
{
    Tcl_Obj *list = Tcl_NewListObj(0, NULL);
    Tcl_Obj *entry, **seen;
    struct addrinfo *ai;
    char buf[64];
    Tcl_Size n, i;
    int port, dup;

    for (ai = res; ai != NULL; ai = ai->ai_next) {
	Tcl_Obj *words[3];

	if (ai->ai_family == AF_INET) {
	    const struct sockaddr_in *sin = (const void *) ai->ai_addr;

	    uv_ip4_name(sin, buf, sizeof(buf));
	    port = ntohs(sin->sin_port);
	    words[0] = Tcl_NewStringObj("inet", -1);
	} else if (ai->ai_family == AF_INET6) {
	    const struct sockaddr_in6 *sin6 = (const void *) ai->ai_addr;

	    uv_ip6_name(sin6, buf, sizeof(buf));
	    port = ntohs(sin6->sin6_port);
	    words[0] = Tcl_NewStringObj("inet6", -1);
	} else {
	    continue;
	}
	words[1] = Tcl_NewStringObj(buf, -1);
	if (withPort) {
	    /* Made only when used: an unused new object would leak. */
	    words[2] = Tcl_NewIntObj(port);
	}
	entry = Tcl_NewListObj(withPort ? 3 : 2, words);

	/* /etc/hosts may list one address on several lines. */
	Tcl_ListObjGetElements(NULL, list, &n, &seen);
	for (dup = 0, i = 0; i < n && !dup; i++) {
	    dup = (strcmp(Tcl_GetString(seen[i]), Tcl_GetString(entry)) == 0);
	}
	if (dup) {
	    Tcl_DecrRefCount(entry);
	} else {
	    Tcl_ListObjAppendElement(NULL, list, entry);
	}
    }
    return list;
}

/*
 *----------------------------------------------------------------------
 *
 * QueueError --
 *
 *	Queues `error {EAI_xxx message}`. A cancelled request hears nothing
 *	(it is closed; this is only a guard).
 *
 *----------------------------------------------------------------------
 */

static void
QueueError(
    Resolve *r,
    int status)
{
    if (status == UV_EAI_CANCELED || status == UV_ECANCELED) {
	return;
    }
    TkuvHandleQueueEvent(&r->h, TkuvErrorEventArgs(status),
	    TkuvHandleCloseAfterEvent, NULL, 0);
}

/*
 *----------------------------------------------------------------------
 *
 * ResolveClosed --
 *
 *	Cancel, rename, interp deletion or thread exit: take the request off
 *	libuv's queue if it has not started. A lookup already running on the
 *	threadpool cannot be stopped; its callback frees the record.
 *
 *----------------------------------------------------------------------
 */

static void
ResolveClosed(
    TkuvHandle *h)
{
    Resolve *r = (Resolve *) h;

    if (r->inFlight) {
	uv_cancel((uv_req_t *) &r->req);
    }
}
