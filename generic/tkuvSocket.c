/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvSocket.c --
 *
 *	tkuv::socket: Tcl's `socket` command, but the channel's I/O runs on
 *	the thread's libuv loop, so fileevent on it never goes through Tcl's
 *	select() notifier (the channel driver is tkuvSocketChan.c).
 *
 *	This half parses the command, looks host names up (on libuv's
 *	threadpool for -async, so it never blocks the GUI; on the calling
 *	thread for a blocking connect, as Tcl does, so that a busy threadpool
 *	cannot hold it), tries each address in turn until one connects,
 *	listens (on :: for IPv4 and IPv6 alike when no -myaddr is given, as
 *	Tcl listens on both), and accepts.
 *
 *	Blocking operations run the loop with TkuvSocketRunOnce: one
 *	uv_run(UV_RUN_ONCE) outside a tick. That is safe because whatever
 *	watches the backend fd (a poll thread or Tcl's notifier: tkuvPump.c)
 *	only reports readiness and never runs the loop, and tkuv's callbacks
 *	only queue Tcl events, so nothing re-enters Tcl or the loop.
 *	Afterwards the bridge is kicked, so that a tick recomputes the
 *	timeout.
 */

#include "tkuvSocketInt.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct ResolveReq {
    uv_getaddrinfo_t req;
    SockState *s;		/* NULL once the channel is gone. */
    int port;
};

static Tcl_ObjCmdProc HandleCmd;
static void	CompanionClosed(TkuvHandle *h);

const TkuvHandleType TkuvSocketHandleType = {
    "socket", HandleCmd, sizeof(SockCompanion), CompanionClosed
};

static int	SocketCmd(Tcl_Interp *interp, int compat, int objc,
		    Tcl_Obj *const objv[]);
static int	Usage(Tcl_Interp *interp, int compat, const char *format,
		    ...);
static int	UsageCode(Tcl_Interp *interp);
static int	WrongNumArgs(Tcl_Interp *interp, int compat,
		    Tcl_Obj *const objv[]);
static int	GetPort(Tcl_Interp *interp, int compat, Tcl_Obj *obj,
		    int *portPtr);
static void	MakeCompanion(Tcl_Interp *interp, SockState *s);
static int	LookUp(Tcl_Interp *interp, int compat, TkuvBridge *bridge,
		    const char *host,
		    int port, int passive, struct sockaddr_storage **addrsPtr,
		    int *numPtr);
static void	KeepAddresses(struct addrinfo *res, int port,
		    struct sockaddr_storage **addrsPtr, int *numPtr);
static void	OnResolved(uv_getaddrinfo_t *req, int status,
		    struct addrinfo *res);
static void	OnConnect(uv_connect_t *req, int status);
static int	Listen(Tcl_Interp *interp, SockState *s, const char *myaddr,
		    int port);
static void	OnConnection(uv_stream_t *server, int status);
static void	DropAccepted(SockState *s);
static void	Discard(SockState *s);

/*
 *----------------------------------------------------------------------
 *
 * TkuvSocketObjCmd, TkuvSocketCompatObjCmd --
 *
 *	tkuv::socket ?-myaddr A? ?-myport P? ?-async? HOST PORT
 *	tkuv::socket -server CMD ?-myaddr A? PORT
 *
 *	The arguments, messages and behaviour of Tcl's socket. The second
 *	command is what tkuv::install makes `socket`: a drop-in down to the
 *	details code written for Tcl's socket may depend on (compat mode):
 *	errorCodes are Tcl's (POSIX ...) rather than TKUV, and an -async
 *	connect looks its host name up before returning, as Tcl's does, so
 *	that a name that does not resolve is an error at once.
 *
 * Results:
 *	The new channel's name, or an error.
 *
 *----------------------------------------------------------------------
 */

int
TkuvSocketObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) clientData;
    return SocketCmd(interp, 0, objc, objv);
}

int
TkuvSocketCompatObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) clientData;
    return SocketCmd(interp, 1, objc, objv);
}

static int
SocketCmd(
    Tcl_Interp *interp,
    int compat,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const options[] = {
	"-async", "-myaddr", "-myport", "-server", NULL
    };
    enum { OPT_ASYNC, OPT_MYADDR, OPT_MYPORT, OPT_SERVER };
    TkuvBridge *bridge;
    SockState *s;
    struct sockaddr_storage probe;
    Tcl_Obj *serverCmd = NULL;
    const char *myaddr = NULL, *host = NULL;
    int async = 0, myport = 0, port, i, index, err;

    for (i = 1; i < objc; i++) {
	const char *arg = Tcl_GetString(objv[i]);

	if (arg[0] != '-') {
	    break;
	}
	if (Tcl_GetIndexFromObj(interp, objv[i], options, "option",
		TCL_EXACT, &index) != TCL_OK) {
	    return compat ? TCL_ERROR : UsageCode(interp);
	}
	if (index == OPT_ASYNC || index == OPT_SERVER) {
	    if (index == OPT_ASYNC ? (serverCmd != NULL) : async) {
		return Usage(interp, compat,
			"cannot set -async option for server sockets");
	    }
	    if (index == OPT_ASYNC) {
		async = 1;
		continue;
	    }
	}
	if (++i >= objc) {
	    return Usage(interp, compat, "no argument given for %s option",
		    arg);
	}
	switch (index) {
	case OPT_MYADDR:
	    myaddr = Tcl_GetString(objv[i]);
	    break;
	case OPT_MYPORT:
	    if (GetPort(interp, compat, objv[i], &myport) != TCL_OK) {
		return TCL_ERROR;
	    }
	    break;
	case OPT_SERVER:
	    serverCmd = objv[i];	/* A script, as Tcl's: {} too. */
	    break;
	}
    }
    if (serverCmd != NULL) {
	if (myport != 0) {
	    return Usage(interp, compat,
		    "option -myport is not valid for servers");
	}
    } else if (i < objc) {
	host = Tcl_GetString(objv[i++]);
    }
    if ((serverCmd == NULL && host == NULL) || i != objc - 1) {
	return WrongNumArgs(interp, compat, objv);
    }
    if (GetPort(interp, compat, objv[i], &port) != TCL_OK
	    || TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }

    s = TkuvSockNewState(bridge, interp);
    s->compat = compat;
    if ((err = TkuvSockAttachNewHandle(s)) != 0) {
	TkuvSockFreeState(s);
	return TkuvSocketError(interp, compat, err);
    }
    if (serverCmd != NULL) {
	s->isServer = 1;
	s->acceptCmd = serverCmd;
	Tcl_IncrRefCount(serverCmd);
	if (Listen(interp, s, myaddr, port) != TCL_OK) {
	    Discard(s);
	    return TCL_ERROR;
	}
    } else {
	if (myaddr != NULL || myport != 0) {
	    if (myaddr == NULL) {
		s->localAddrs = TkuvAlloc(2 * sizeof(struct sockaddr_storage));
		s->numLocalAddrs = 2;
		TkuvNumericAddress("0.0.0.0", myport, &s->localAddrs[0]);
		TkuvNumericAddress("::", myport, &s->localAddrs[1]);
	    } else if (LookUp(interp, compat, bridge, myaddr, myport, 1,
		    &s->localAddrs, &s->numLocalAddrs) != TCL_OK) {
		Discard(s);
		return TCL_ERROR;
	    }
	}
	s->connecting = 1;
	s->async = async;
	s->port = port;
	s->host = TkuvAlloc(strlen(host) + 1);
	strcpy(s->host, host);
	if (!async || compat || TkuvNumericAddress(host, port, &probe)) {
	    /*
	     * A blocking connect looks the name up here, as Tcl does, not on
	     * the threadpool, which other work may hold for any time.
	     */
	    if (LookUp(interp, compat, bridge, host, port, 0, &s->addrs,
		    &s->numAddrs) != TCL_OK) {
		Discard(s);
		return TCL_ERROR;
	    }
	    TkuvSocketTryNext(s, UV_EAI_NONAME);
	} else if (TkuvSocketStartLookUp(interp, s) != TCL_OK) {
	    Discard(s);
	    return TCL_ERROR;
	}
	if (s->connectFailed) {
	    /*
	     * Every address failed at once (a -myaddr that cannot be bound,
	     * say): an error now, as Tcl gives, even for -async.
	     */
	    err = s->error;
	    Discard(s);
	    return TkuvSocketError(interp, compat, err);
	}
	if (!async) {
	    /* Tcl's socket connects synchronously unless -async. */
	    while (s->connecting && TkuvSocketRunOnce(bridge, 1)) {
		/* Wait. */
	    }
	    if (!s->connected) {
		err = s->error ? s->error : UV_ECONNABORTED;
		Discard(s);
		return TkuvSocketError(interp, compat, err);
	    }
	}
    }
    MakeCompanion(interp, s);
    TkuvSockMakeChannel(s);
    Tcl_SetObjResult(interp, Tcl_NewStringObj(Tcl_GetChannelName(s->chan),
	    -1));
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * Usage, UsageCode, WrongNumArgs, GetPort, TkuvSocketError --
 *
 *	Errors with Tcl's socket's messages. tkuv::socket gives bad
 *	arguments errorCode TKUV USAGE and failures TKUV ENAME {message};
 *	in compat mode errorCodes are Tcl's: none for bad arguments,
 *	POSIX ENAME {message} for system errors.
 *
 *----------------------------------------------------------------------
 */

static int
UsageCode(
    Tcl_Interp *interp)
{
    Tcl_SetErrorCode(interp, "TKUV", "USAGE", Tcl_GetStringResult(interp),
	    NULL);
    return TCL_ERROR;
}

static int
Usage(
    Tcl_Interp *interp,
    int compat,
    const char *format,
    ...)
{
    va_list ap;
    char buf[256];

    va_start(ap, format);
    vsnprintf(buf, sizeof(buf), format, ap);
    va_end(ap);
    Tcl_SetObjResult(interp, Tcl_NewStringObj(buf, -1));
    return compat ? TCL_ERROR : UsageCode(interp);
}

static int
WrongNumArgs(
    Tcl_Interp *interp,
    int compat,
    Tcl_Obj *const objv[])
{
    /* Tcl_WrongNumArgs names the command as it was called (an alias). */
    static const char *prefix = "wrong # args: should be ";
    Tcl_Obj *first;

    Tcl_WrongNumArgs(interp, 1, objv,
	    "?-myaddr addr? ?-myport myport? ?-async? host port");
    first = Tcl_GetObjResult(interp);
    Tcl_IncrRefCount(first);
    Tcl_WrongNumArgs(interp, 1, objv, "-server command ?-myaddr addr? port");
    first = Tcl_ObjPrintf("%s or %s", Tcl_GetString(first),
	    Tcl_GetString(Tcl_GetObjResult(interp)) + strlen(prefix));
    Tcl_SetObjResult(interp, first);
    return compat ? TCL_ERROR : UsageCode(interp);
}

/*
 * GetPort --
 *	A port number or a service name (/etc/services), as Tcl takes them.
 */

static int
GetPort(
    Tcl_Interp *interp,
    int compat,
    Tcl_Obj *obj,
    int *portPtr)
{
    const char *name = Tcl_GetString(obj);
    int port;

    if (Tcl_GetIntFromObj(NULL, obj, &port) != TCL_OK) {
	if (TkuvpServicePort(name, portPtr)) {
	    return TCL_OK;
	}
	return Usage(interp, compat, "expected integer but got \"%s\"", name);
    }
    if (port < 0 || port > 65535) {
	return Usage(interp, compat, "couldn't open socket: port number too %s",
		port < 0 ? "low" : "high");
    }
    *portPtr = port;
    return TCL_OK;
}

int
TkuvSocketError(
    Tcl_Interp *interp,
    int compat,
    int err)
{
    const char *msg = uv_strerror(err);

    if (!compat) {
	return TkuvUvError(interp, "couldn't open socket", err);
    }
    switch (err) {
    case UV_EAI_NONAME: msg = gai_strerror(EAI_NONAME); break;
    case UV_EAI_AGAIN: msg = gai_strerror(EAI_AGAIN); break;
    case UV_EAI_FAIL: msg = gai_strerror(EAI_FAIL); break;
    case UV_EAI_SERVICE: msg = gai_strerror(EAI_SERVICE); break;
    default:
	if (err > UV_EAI_ADDRFAMILY || err < UV_EAI_PROTOCOL) {
	    /* A system error: Tcl's text and POSIX errorCode. */
	    Tcl_SetErrno(TkuvSockErrno(err));
	    msg = Tcl_PosixError(interp);
	}
    }
    Tcl_SetObjResult(interp, Tcl_ObjPrintf("couldn't open socket: %s", msg));
    return TCL_ERROR;
}

/* Discard -- a state whose channel was never made, with its handle. */

static void
Discard(
    SockState *s)
{
    TkuvSockFreeState(s);
}

/*
 *----------------------------------------------------------------------
 *
 * MakeCompanion --
 *
 *	The channel's companion handle, registered as a tkuv handle in
 *	interp.
 *
 *----------------------------------------------------------------------
 */

static void
MakeCompanion(
    Tcl_Interp *interp,
    SockState *s)
{
    SockCompanion *c = TkuvHandleAlloc(&TkuvSocketHandleType);
    Tcl_InterpState saved;

    /* Register sets the result; this also runs inside other commands. */
    saved = Tcl_SaveInterpState(interp, TCL_OK);
    TkuvHandleRegister(interp, s->bridge, &c->h, NULL, NULL);
    Tcl_RestoreInterpState(interp, saved);
    c->state = s;
    s->companion = c;
}

/*
 *----------------------------------------------------------------------
 *
 * HandleCmd, CompanionClosed --
 *
 *	The companion handle's command ($h channel|close) and its closeProc.
 *	$h close (or renaming the command away) ends the connection; when the
 *	interp or the thread is going away, the channel is left to Tcl, which
 *	flushes and closes it as it does its own sockets.
 *
 *----------------------------------------------------------------------
 */

static int
HandleCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subcommands[] = { "channel", "close", NULL };
    enum { H_CHANNEL, H_CLOSE };
    SockCompanion *c = clientData;
    int index;

    if (TkuvGetSubcommand(interp, objc, objv, subcommands, "channel|close",
	    &index) != TCL_OK) {
	return TCL_ERROR;
    }
    if (objc != 2) {
	return TkuvWrongNumArgs(interp, 2, objv, "");
    }
    if (index == H_CLOSE) {
	TkuvHandleClose(&c->h);
	return TCL_OK;
    }
    if (c->state != NULL && c->state->chan != NULL) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj(
		Tcl_GetChannelName(c->state->chan), -1));
    }
    return TCL_OK;
}

static void
CompanionClosed(
    TkuvHandle *h)
{
    SockCompanion *c = (SockCompanion *) h;
    SockState *s = c->state;

    if (s == NULL) {
	return;
    }
    c->state = NULL;
    s->companion = NULL;
    if (h->bridge->finalizing || Tcl_InterpDeleted(h->interp)) {
	/* Tcl closes (and flushes) the channel as it closes its own. */
	return;
    }
    TkuvSockDisconnect(s);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvSocketForget --
 *
 *	The channel's state is being freed, moved or disconnected: abandon a
 *	name lookup, drop any connections accepted but not yet reported.
 *
 *----------------------------------------------------------------------
 */

void
TkuvSocketForget(
    SockState *s)
{
    if (s->resolving != NULL) {
	s->resolving->s = NULL;		/* OnResolved frees it. */
	uv_cancel((uv_req_t *) &s->resolving->req);
	s->resolving = NULL;
    }
    DropAccepted(s);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvSocketRunOnce --
 *
 *	One pass of the loop outside a tick (see the file comment for why
 *	this is safe): blocking (wait != 0) for blocking channel operations,
 *	or without waiting, so that a non-blocking operation makes the
 *	progress Tcl's own socket would make by asking the system (a connect
 *	that finished, a name looked up) even while no event loop runs.
 *
 * Results:
 *	0 when the loop cannot be run here (inside a tick, or teardown).
 *
 *----------------------------------------------------------------------
 */

int
TkuvSocketRunOnce(
    TkuvBridge *bridge,
    int wait)
{
    if (bridge == NULL || bridge->inTick || bridge->finalizing) {
	return 0;
    }
    bridge->inTick = 1;
    uv_run(&bridge->loop, wait ? UV_RUN_ONCE : UV_RUN_NOWAIT);
    bridge->inTick = 0;
    TkuvBridgeKick(bridge);
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * Addresses: numeric ones directly; -myaddr and -server -myaddr names,
 * and the remote host of a blocking connect, with a synchronous lookup;
 * the remote host of an -async connect on libuv's threadpool. IPv4
 * answers go first, as Tcl orders them.
 *
 *----------------------------------------------------------------------
 */

static void
KeepAddresses(
    struct addrinfo *res,
    int port,
    struct sockaddr_storage **addrsPtr,
    int *numPtr)
{
    struct addrinfo *ai;
    struct sockaddr_storage *addrs;
    int n = 0, family, pass;

    for (ai = res; ai != NULL; ai = ai->ai_next) {
	n++;
    }
    addrs = TkuvAlloc((n ? n : 1) * sizeof(struct sockaddr_storage));
    n = 0;
    for (pass = 0; pass < 2; pass++) {
	family = pass ? AF_INET6 : AF_INET;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
	    if (ai->ai_family != family) {
		continue;
	    }
	    memset(&addrs[n], 0, sizeof(addrs[n]));
	    memcpy(&addrs[n], ai->ai_addr, ai->ai_addrlen);
	    if (family == AF_INET) {
		((struct sockaddr_in *) &addrs[n])->sin_port =
			htons((unsigned short) port);
	    } else {
		((struct sockaddr_in6 *) &addrs[n])->sin6_port =
			htons((unsigned short) port);
	    }
	    n++;
	}
    }
    TkuvFree(*addrsPtr);
    *addrsPtr = addrs;
    *numPtr = n;
}

static void
Hints(
    struct addrinfo *hints,
    int passive)
{
    memset(hints, 0, sizeof(*hints));
    hints->ai_family = AF_UNSPEC;
    hints->ai_socktype = SOCK_STREAM;
    hints->ai_flags = passive ? AI_PASSIVE : 0;
}

static int
LookUp(
    Tcl_Interp *interp,
    int compat,
    TkuvBridge *bridge,
    const char *host,
    int port,
    int passive,
    struct sockaddr_storage **addrsPtr,
    int *numPtr)
{
    uv_getaddrinfo_t req;
    struct addrinfo hints;
    int err;

    TkuvFree(*addrsPtr);
    *addrsPtr = TkuvAlloc(sizeof(struct sockaddr_storage));
    *numPtr = 1;
    if (TkuvNumericAddress(host, port, *addrsPtr)) {
	return TCL_OK;
    }
    Hints(&hints, passive);
    err = uv_getaddrinfo(&bridge->loop, &req, NULL, host, NULL, &hints);
    if (err != 0) {
	*numPtr = 0;
	return TkuvSocketError(interp, compat, err);
    }
    KeepAddresses(req.addrinfo, port, addrsPtr, numPtr);
    uv_freeaddrinfo(req.addrinfo);
    if (*numPtr == 0) {
	return TkuvSocketError(interp, compat, UV_EAI_NONAME);
    }
    return TCL_OK;
}

int
TkuvSocketStartLookUp(
    Tcl_Interp *interp,
    SockState *s)
{
    ResolveReq *rr = TkuvAlloc(sizeof(ResolveReq));
    struct addrinfo hints;
    int err;

    rr->s = s;
    rr->port = s->port;
    Hints(&hints, 0);
    err = uv_getaddrinfo(&s->bridge->loop, &rr->req, OnResolved, s->host,
	    NULL, &hints);
    if (err != 0) {
	TkuvFree(rr);
	return interp ? TkuvSocketError(interp, s->compat, err) : TCL_ERROR;
    }
    s->resolving = rr;
    TkuvPoolBegin();
    TkuvBridgeKick(s->bridge);
    return TCL_OK;
}

static void
OnResolved(
    uv_getaddrinfo_t *req,
    int status,
    struct addrinfo *res)
{
    ResolveReq *rr = (ResolveReq *) req;
    SockState *s = rr->s;

    TkuvPoolEnd();
    if (s != NULL) {
	s->resolving = NULL;
	if (status == 0) {
	    KeepAddresses(res, rr->port, &s->addrs, &s->numAddrs);
	}
	TkuvSocketTryNext(s, status ? status : UV_EAI_NONAME);
    }
    uv_freeaddrinfo(res);
    TkuvFree(rr);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvSocketTryNext, OnConnect --
 *
 *	Connect to the next address; each attempt after the first gets a
 *	fresh handle (a failed socket cannot be reused, and the family may
 *	change). When none is left the channel reports the last error
 *	(err: the error so far).
 *
 *----------------------------------------------------------------------
 */

static int
PickLocal(
    SockState *s,
    int family,
    struct sockaddr_storage **localPtr)
{
    int i;

    *localPtr = NULL;
    for (i = 0; i < s->numLocalAddrs; i++) {
	if (s->localAddrs[i].ss_family == family) {
	    *localPtr = &s->localAddrs[i];
	    return 1;
	}
    }
    return s->numLocalAddrs == 0;
}

void
TkuvSocketTryNext(
    SockState *s,
    int err)
{
    struct sockaddr_storage *to, *local;
    uv_connect_t *req;

    while (s->connecting && s->nextAddr < s->numAddrs) {
	to = &s->addrs[s->nextAddr++];
	if (s->nextAddr > 1 || s->sh == NULL) {
	    if (s->sh != NULL) {
		TkuvSockCloseHandle(s->sh);
	    }
	    if ((err = TkuvSockAttachNewHandle(s)) != 0) {
		break;
	    }
	}
	if (!PickLocal(s, to->ss_family, &local)) {
	    err = UV_EAFNOSUPPORT;
	    continue;
	}
	if (local != NULL && (err = uv_tcp_bind(&s->sh->uv,
		(struct sockaddr *) local, 0)) != 0) {
	    continue;
	}
	req = TkuvAlloc(sizeof(uv_connect_t));
	req->data = s->sh;
	err = uv_tcp_connect(req, &s->sh->uv, (struct sockaddr *) to,
		OnConnect);
	if (err != 0) {
	    TkuvFree(req);
	    continue;
	}
	TkuvBridgeKick(s->bridge);
	return;
    }
    if (s->connecting) {
	s->connecting = 0;
	s->connectFailed = 1;
	s->error = s->reportError = err;
	TkuvSockChanged(s);
    }
}

static void
OnConnect(
    uv_connect_t *req,
    int status)
{
    SockHandle *sh = req->data;
    SockState *s = sh->state;

    TkuvFree(req);
    if (s == NULL || status == UV_ECANCELED) {
	return;
    }
    if (status < 0) {
	TkuvSocketTryNext(s, status);
	return;
    }
    TkuvSockConnected(s);
}

/*
 *----------------------------------------------------------------------
 *
 * Listen --
 *
 *	Without -myaddr, one dual-stack socket on :: takes IPv4 and IPv6
 *	(IPv4 peers are reported in their IPv4 form); a host without IPv6
 *	gets 0.0.0.0. With -myaddr, the first address it names.
 *
 *----------------------------------------------------------------------
 */

static int
Listen(
    Tcl_Interp *interp,
    SockState *s,
    const char *myaddr,
    int port)
{
    struct sockaddr_storage *addrs = NULL;
    int num = 0, err;

    if (myaddr == NULL) {
	addrs = TkuvAlloc(sizeof(struct sockaddr_storage));
	TkuvNumericAddress("::", port, addrs);
	err = uv_tcp_bind(&s->sh->uv, (struct sockaddr *) addrs, 0);
	if (err == 0) {
	    err = TkuvSocketListen(s);
	}
	if (err == 0) {
	    s->dualStack = 1;
	    TkuvFree(addrs);
	    return TCL_OK;
	}
	if (err == UV_EADDRINUSE || err == UV_EACCES) {
	    TkuvFree(addrs);
	    return TkuvSocketError(interp, s->compat, err);
	}
	/* No IPv6 here: a fresh handle on 0.0.0.0. */
	TkuvSockCloseHandle(s->sh);
	if ((err = TkuvSockAttachNewHandle(s)) != 0) {
	    TkuvFree(addrs);
	    return TkuvSocketError(interp, s->compat, err);
	}
	TkuvNumericAddress("0.0.0.0", port, addrs);
	num = 1;
    } else if (LookUp(interp, s->compat, s->bridge, myaddr, port, 1, &addrs,
	    &num)
	    != TCL_OK) {
	TkuvFree(addrs);
	return TCL_ERROR;
    }
    err = uv_tcp_bind(&s->sh->uv, (struct sockaddr *) addrs, 0);
    if (err == 0) {
	err = TkuvSocketListen(s);
    }
    TkuvFree(addrs);
    if (err != 0) {
	return TkuvSocketError(interp, s->compat, err);
    }
    return TCL_OK;
}

/*
 * TkuvSocketListen --
 *	Listens on the state's bound (or adopted) socket. Returns 0 or a
 *	libuv error.
 */

int
TkuvSocketListen(
    SockState *s)
{
    int err = uv_listen((uv_stream_t *) &s->sh->uv, SOMAXCONN,
	    OnConnection);

    if (err == 0) {
	TkuvBridgeKick(s->bridge);	/* epoll learns the fd. */
    }
    return err;
}

/*
 *----------------------------------------------------------------------
 *
 * OnConnection, TkuvSocketAccept --
 *
 *	libuv accepts every pending connection in one pass (each into a
 *	handle with no state yet, queued on the server); the server's
 *	channel event then makes one channel at a time and runs the accept
 *	command, so a burst of connections never starves other events.
 *
 *----------------------------------------------------------------------
 */

static void
OnConnection(
    uv_stream_t *server,
    int status)
{
    SockState *s = ((SockHandle *) server->data)->state;
    SockHandle *c;
    int err;

    if (s == NULL) {
	return;
    }
    if (status < 0) {
	s->reportError = status;
	return;
    }
    c = TkuvSockNewHandle(s->bridge, s->tsd, &err);
    if (c == NULL) {
	return;
    }
    if (uv_accept(server, (uv_stream_t *) &c->uv) != 0) {
	TkuvSockCloseHandle(c);
	return;
    }
    if (s->acceptLast != NULL) {
	s->acceptLast->nextAccepted = c;
    } else {
	s->acceptFirst = c;
    }
    s->acceptLast = c;
    TkuvSockChanged(s);
}

static void
DropAccepted(
    SockState *s)
{
    SockHandle *c;

    while ((c = s->acceptFirst) != NULL) {
	s->acceptFirst = c->nextAccepted;
	TkuvSockCloseHandle(c);
    }
    s->acceptLast = NULL;
}

void
TkuvSocketAccept(
    SockState *s)
{
    Tcl_Interp *interp = TkuvSockAcceptInterp(s);
    SockHandle *c = s->acceptFirst;
    SockState *cs;
    Tcl_Channel chan;
    Tcl_Obj *cmd;
    struct sockaddr_storage ss;
    char host[TKUV_ADDRSTRLEN];
    int len = sizeof(ss), port = 0, code;

    s->acceptFirst = c->nextAccepted;
    if (s->acceptFirst == NULL) {
	s->acceptLast = NULL;
    }
    if (interp == NULL || Tcl_InterpDeleted(interp)) {
	/* A server moved to a thread where no interp with tkuv holds it. */
	TkuvSockCloseHandle(c);
	return;
    }
    cs = TkuvSockNewState(s->bridge, interp);
    cs->sh = c;
    c->state = cs;
    MakeCompanion(interp, cs);
    TkuvSockConnected(cs);

    host[0] = '\0';
    if (uv_tcp_getpeername(&c->uv, (struct sockaddr *) &ss, &len) == 0) {
	port = TkuvSockaddrName((struct sockaddr *) &ss, host, sizeof(host));
    }
    TkuvSockMakeChannel(cs);
    chan = cs->chan;

    /* A script, as Tcl's: the three words are appended to its text. */
    cmd = Tcl_DuplicateObj(s->acceptCmd);
    Tcl_IncrRefCount(cmd);
    Tcl_AppendPrintfToObj(cmd, " %s %s %d", Tcl_GetChannelName(chan), host,
	    port);

    /* As Tcl does: hold the channel over the script; on error, drop it. */
    Tcl_RegisterChannel(NULL, chan);
    Tcl_Preserve(interp);
    code = Tcl_EvalObjEx(interp, cmd, TCL_EVAL_GLOBAL);
    if (code != TCL_OK) {
	Tcl_BackgroundException(interp, code);
	Tcl_UnregisterChannel(interp, chan);
    }
    Tcl_ResetResult(interp);
    Tcl_UnregisterChannel(NULL, chan);
    Tcl_Release(interp);
    Tcl_DecrRefCount(cmd);
}
