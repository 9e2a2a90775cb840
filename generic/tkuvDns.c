/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvDns.c --
 *
 *	tkuv::resolve: name and address lookups on libuv's threadpool
 *	(uv_getaddrinfo, uv_getnameinfo), so a slow resolver never blocks the
 *	Tcl thread.
 *
 *	    tkuv::resolve HOST ?-family inet|inet6|any? ?-port PORT? ?CMD?
 *	    tkuv::resolve -reverse ADDRESS ?CMD?
 *
 *	CMD, the short form, may also be given as -command CMD. Each lookup is
 *	a request handle (::tkuv::resolveN) without a libuv handle: it counts
 *	in `tkuv::info handles`, has the shared subcommands (`cancel` is
 *	another name for close; renaming it away or deleting its interp do the
 *	same: the lookup is abandoned), and it closes by itself once its one
 *	event (addresses, name or error) has run.
 */

#include "tkuvInt.h"
#include <stddef.h>
#include <string.h>

typedef struct Resolve {
    TkuvHandle h;		/* Must be first. */
    union {
	uv_getaddrinfo_t ai;
	uv_getnameinfo_t ni;
    } req;
    Tcl_Obj *target;		/* The host or address looked up; NULL
				 * once closed. */
    int familyIndex;		/* -family, in familyNames */
    Tcl_Obj *port;		/* -port as given, or NULL. */
    int inFlight;		/* The libuv request has not called back. */
} Resolve;

static void	ResolveClosed(TkuvHandle *h);
static TkuvOptionCheckProc CheckPort;
static TkuvInfoProc ResolveInfo;

static const char *const familyNames[] = { "any", "inet", "inet6", NULL };
static const int familyCodes[] = { AF_UNSPEC, AF_INET, AF_INET6 };

static const TkuvOption forwardOptions[] = {
    {"-command", TKUV_OPT_CALLBACK, .flags = TKUV_OPT_REQUIRED},
    {"-family", TKUV_OPT_INDEX, offsetof(Resolve, familyIndex),
	TKUV_OPT_CREATE_ONLY, .values = familyNames},
    {"-port", TKUV_OPT_STRING, offsetof(Resolve, port), TKUV_OPT_CREATE_ONLY,
	.checkProc = CheckPort},
    {NULL}
};
static const TkuvOption reverseOptions[] = {
    {"-command", TKUV_OPT_CALLBACK, .flags = TKUV_OPT_REQUIRED},
    {NULL}
};

/* Forward and reverse lookups differ only in their options. */
static const TkuvHandleType forwardType = {
    "resolve", sizeof(Resolve), ResolveClosed, forwardOptions,
    ResolveInfo, TkuvRequestSubcommands
};
static const TkuvHandleType reverseType = {
    "resolve", sizeof(Resolve), ResolveClosed, reverseOptions,
    ResolveInfo, TkuvRequestSubcommands
};

static Resolve *StartRequest(Tcl_Interp *interp, const TkuvHandleType *type,
		    int objc, Tcl_Obj *const objv[]);
static int	Started(Tcl_Interp *interp, Resolve *r, int err);
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
 *	tkuv::resolve HOST ?-family inet|inet6|any? ?-port PORT? ?CMD?
 *	    ?-command CMD?
 *	tkuv::resolve -reverse ADDRESS ?CMD? ?-command CMD?
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
    struct sockaddr_storage ss;
    struct addrinfo hints;
    Resolve *r;

    (void) clientData;
    if (objc >= 2 && strcmp(Tcl_GetString(objv[1]), "-reverse") == 0) {
	/* tkuv::resolve -reverse ADDRESS ?CMD? ?-command CMD? */
	if (objc < 4) {
	    return TkuvWrongNumArgs(interp, 1, objv, "-reverse address command");
	}
	if (!TkuvNumericAddress(Tcl_GetString(objv[2]), 0, &ss)) {
	    return TkuvUsageError(interp, "expected a numeric IPv4 or IPv6 "
		    "address but got \"%s\"", Tcl_GetString(objv[2]));
	}
	if ((r = StartRequest(interp, &reverseType, objc - 2, objv + 2))
		== NULL) {
	    return TCL_ERROR;
	}
	r->req.ni.data = r;
	/*
	 * NI_NAMEREQD: an address without a name is an error event, not its
	 * own numeric form dressed up as a name.
	 */
	return Started(interp, r, uv_getnameinfo(&r->h.bridge->loop,
		&r->req.ni, OnNameInfo, (const struct sockaddr *) &ss,
		NI_NAMEREQD));
    }

    /* tkuv::resolve HOST ?option value ...? ?CMD? */
    if (objc < 3) {
	return TkuvWrongNumArgs(interp, 1, objv,
		"host ?-family inet|inet6|any? ?-port port? command");
    }
    if (Tcl_GetString(objv[1])[0] == '\0') {
	return TkuvUsageError(interp, "expected a host name or address but "
		"got \"\"");
    }
    if ((r = StartRequest(interp, &forwardType, objc - 1, objv + 1))
	    == NULL) {
	return TCL_ERROR;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = familyCodes[r->familyIndex];
    /*
     * One socket type, or every address would come back once per type. No
     * AI_ADDRCONFIG: it hides ::1 on hosts whose only IPv6 is loopback.
     */
    hints.ai_socktype = SOCK_STREAM;
    r->req.ai.data = r;
    return Started(interp, r, uv_getaddrinfo(&r->h.bridge->loop, &r->req.ai,
	    OnAddrInfo, Tcl_GetString(objv[1]),
	    (r->port != NULL) ? Tcl_GetString(r->port) : NULL, &hints));
}

/*
 *----------------------------------------------------------------------
 *
 * StartRequest, Started --
 *
 *	The two halves around the libuv call. StartRequest checks objv (the
 *	host or address, then options and the command) and makes the
 *	request's handle with its options applied; Started takes the libuv
 *	call's result, closing the handle if nothing was queued.
 *
 * Results:
 *	StartRequest: the record, or NULL with an error in interp. Started:
 *	a Tcl result (the handle's name, or the libuv error).
 *
 *----------------------------------------------------------------------
 */

static Resolve *
StartRequest(
    Tcl_Interp *interp,
    const TkuvHandleType *type,
    int objc,
    Tcl_Obj *const objv[])
{
    TkuvOptionValues vals;
    TkuvBridge *bridge;
    Resolve *r;

    if (TkuvOptionsParse(interp, type->options, objc - 1, objv + 1,
	    TKUV_PARSE_CREATE | TKUV_PARSE_TRAILING_COMMAND, &vals) != TCL_OK
	    || TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return NULL;
    }
    r = TkuvHandleAlloc(type);
    TkuvHandleRegister(interp, bridge, &r->h, NULL, NULL);
    TkuvOptionsApply(interp, &r->h, &vals, TKUV_APPLY_ALL);
    r->target = objv[0];
    Tcl_IncrRefCount(r->target);
    return r;
}

static int
Started(
    Tcl_Interp *interp,
    Resolve *r,
    int err)
{
    if (err != 0) {
	const char *what = (r->h.type == &reverseType)
		? "resolve -reverse" : "resolve";

	TkuvHandleClose(&r->h);		/* Frees r: nothing queued. */
	return TkuvUvError(interp, what, err);
    }
    r->inFlight = 1;
    TkuvPoolBegin();
    TkuvHandleRetain(&r->h);		/* Released by OnAddrInfo/OnNameInfo. */
    TkuvBridgeKick(r->h.bridge);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * CheckPort, ResolveInfo --
 *
 *	-port: a number, or a service name from the services database.
 *	$r info: the host (or the address, for -reverse) looked up.
 *
 *----------------------------------------------------------------------
 */

static int
CheckPort(
    Tcl_Interp *interp,
    const TkuvOption *opt,
    Tcl_Obj *valueObj,
    TkuvOptionValue *value)
{
    const char *service = Tcl_GetString(valueObj);
    int port;

    (void) value;
    if (Tcl_GetIntFromObj(NULL, valueObj, &port) == TCL_OK
	    ? (port < 0 || port > 65535)
	    : (*service == '\0' || strpbrk(service, " \t\n/") != NULL
		    || (*service >= '0' && *service <= '9'))) {
	return TkuvBadValue(interp, opt->name, "a port number 0-65535 or a "
		"service name", valueObj);
    }
    return TCL_OK;
}

static void
ResolveInfo(
    TkuvHandle *h,
    Tcl_Obj *d)
{
    Resolve *r = (Resolve *) h;

    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj(h->type == &reverseType
	    ? "address" : "host", -1), r->target);
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
	    Tcl_ListObjAppendElement(NULL, ev,
		    AddressList(res, r->port != NULL));
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
    Tcl_DecrRefCount(r->target);	/* Only info used it. */
    r->target = NULL;
}
