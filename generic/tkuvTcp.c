/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvTcp.c --
 *
 *	tkuv::tcp connect|listen: TCP connections and listeners.
 *
 *	A connection is a stream (tkuvStream.c): events connected, data BYTES,
 *	eof, drain, error {CODE msg}. Host names are resolved on libuv's
 *	threadpool, never on the Tcl thread, and each address is tried in
 *	turn, IPv4 ones first (tkuvConnect.c). A listener's callback gets
 *	`accept $conn`; the new connection reports to the same callback until
 *	`$conn configure -command` changes it.
 */

#include "tkuvInt.h"
#include <string.h>

enum TcpState {
    TCP_RESOLVING, TCP_CONNECTING, TCP_CONNECTED, TCP_FAILED, TCP_LISTENING
};
static const char *const stateNames[] = {
    "resolving", "connecting", "connected", "failed", "listening"
};

typedef struct Tcp {
    TkuvHandle h;		/* Must be first. */
    uv_tcp_t uv;
    TkuvStream stream;		/* Connections only. */
    enum TcpState state;
    int family;			/* AF_UNSPEC, AF_INET or AF_INET6 */
    int port;
    int nodelay;
    int keepalive;		/* Seconds; 0 = off. */
    TkuvConnect *connect;	/* Until connected or failed. */
} Tcp;

static Tcl_ObjCmdProc ConnCmd;
static Tcl_ObjCmdProc ListenerCmd;
static void	ConnClosed(TkuvHandle *h);

static const TkuvHandleType connType = {
    "tcp", ConnCmd, sizeof(Tcp), ConnClosed
};
static const TkuvHandleType listenerType = {
    "tcpserver", ListenerCmd, sizeof(Tcp), NULL
};

static int	Connect(Tcl_Interp *interp, int objc, Tcl_Obj *const objv[]);
static int	Listen(Tcl_Interp *interp, int objc, Tcl_Obj *const objv[]);
static int	ParseAddress(Tcl_Interp *interp, const char *what, const char *host,
		    int port, struct sockaddr_storage *ss);
static int	Configure(Tcl_Interp *interp, Tcp *t, int objc, Tcl_Obj *const objv[]);
static TkuvConnectProc ConnectDone;
static void	Accepted(uv_stream_t *server, int status);
static Tcl_Obj *AddressObj(const struct sockaddr *sa);
static Tcl_Obj *ConnInfo(Tcp *t);
static void	Fail(Tcp *t, int err);
static void	FreeUnregistered(uv_handle_t *uv);

/*
 *----------------------------------------------------------------------
 *
 * TkuvTcpObjCmd --
 *
 *	tkuv::tcp connect HOST PORT ?option value ...?
 *	tkuv::tcp listen PORT ?option value ...?
 *
 *----------------------------------------------------------------------
 */

int
TkuvTcpObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subcommands[] = { "connect", "listen", NULL };
    enum { T_CONNECT, T_LISTEN };
    int index;

    (void) clientData;
    if (TkuvGetSubcommand(interp, objc, objv, subcommands, "connect|listen ?arg ...?",
	    &index) != TCL_OK) {
	return TCL_ERROR;
    }
    if (index == T_CONNECT) {
	return Connect(interp, objc, objv);
    }
    return Listen(interp, objc, objv);
}

/*
 *----------------------------------------------------------------------
 *
 * Connect --
 *
 *	tkuv::tcp connect HOST PORT ?-command CMD? ?-bind ADDR? ?-family
 *	inet|inet6? ?-nodelay BOOL? ?-keepalive SECS? ?-readlimit BYTES?
 *
 *	Returns the connection at once; the outcome arrives as a `connected`
 *	or `error` event. Writes made before that are held and sent on
 *	connecting.
 *
 *----------------------------------------------------------------------
 */

static int
Connect(
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const options[] = { "-bind", "-family", NULL };
    enum { C_BIND, C_FAMILY };
    static const char *const families[] = { "inet", "inet6", NULL };
    TkuvBridge *bridge;
    Tcp *t;
    const char *host, *bindHost = NULL;
    struct sockaddr_storage ss;
    Tcl_Obj *rest[16];
    int port, i, index, nrest = 0, family = AF_UNSPEC, err, fam;

    if (objc < 4) {
	return TkuvWrongNumArgs(interp, 2, objv, "host port ?option value ...?");
    }
    host = Tcl_GetString(objv[2]);
    if (*host == '\0') {
	return TkuvUsageError(interp, "expected a host name or address but got \"\"");
    }
    if (TkuvGetPort(interp, objv[3], 1, &port) != TCL_OK) {
	return TCL_ERROR;
    }
    if ((objc - 4) % 2 != 0) {
	return TkuvUsageError(interp, "option \"%s\" has no value",
		Tcl_GetString(objv[objc - 1]));
    }

    /* -bind and -family are for creation; the rest is `configure`. */
    for (i = 4; i < objc; i += 2) {
	if (Tcl_GetIndexFromObj(NULL, objv[i], options, "option", 0, &index)
		!= TCL_OK) {
	    if (nrest + 2 > (int) (sizeof(rest) / sizeof(rest[0]))) {
		return TkuvUsageError(interp, "too many options");
	    }
	    rest[nrest++] = objv[i];
	    rest[nrest++] = objv[i + 1];
	    continue;
	}
	if (index == C_BIND) {
	    bindHost = Tcl_GetString(objv[i + 1]);
	} else {
	    if (TkuvGetIndex(interp, objv[i + 1], families, "family", &fam)
		    != TCL_OK) {
		return TCL_ERROR;
	    }
	    family = fam ? AF_INET6 : AF_INET;
	}
    }
    if (bindHost != NULL
	    && ParseAddress(interp, "-bind", bindHost, 0, &ss) != TCL_OK) {
	return TCL_ERROR;
    }
    if (TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }

    t = TkuvHandleAlloc(&connType);
    t->family = family;
    t->port = port;
    if ((err = uv_tcp_init(&bridge->loop, &t->uv)) != 0) {
	TkuvFree(t);
	return TkuvUvError(interp, "couldn't open socket", err);
    }
    TkuvHandleRegister(interp, bridge, &t->h, (uv_handle_t *) &t->uv, NULL);
    TkuvStreamInit(&t->stream, &t->h, (uv_stream_t *) &t->uv, "data", "eof");
    if (Configure(interp, t, nrest, rest) != TCL_OK) {
	TkuvHandleClose(&t->h);
	return TCL_ERROR;
    }
    t->connect = TkuvConnectNew(host, port, family, &ss, bindHost != NULL,
	    ConnectDone, t);
    if ((err = TkuvConnectStart(t->connect, bridge, 0)) != 0) {
	TkuvHandleClose(&t->h);
	return TkuvUvError(interp, "couldn't open socket", err);
    }
    t->state = TkuvConnectResolving(t->connect) ? TCP_RESOLVING
	    : TCP_CONNECTING;
    Tcl_SetObjResult(interp, t->h.nameObj);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * ConnectDone --
 *
 *	The connect routine (tkuvConnect.c) connected one of the host's
 *	addresses, whose socket the connection's handle now adopts, or
 *	reports the last address's error.
 *
 *----------------------------------------------------------------------
 */

static void
ConnectDone(
    void *clientData,
    int status,
    uv_os_sock_t sock)
{
    Tcp *t = clientData;

    TkuvConnectFree(t->connect);
    t->connect = NULL;
    if (status == 0) {
	status = TkuvConnectAdopt(&t->uv, sock);
    }
    if (status == 0 && t->keepalive > 0) {
	/* Adopting applies libuv's default delay: the one asked for. */
	uv_tcp_keepalive(&t->uv, 1, (unsigned) t->keepalive);
    }
    if (status != 0) {
	Fail(t, status);
	return;
    }
    t->state = TCP_CONNECTED;
    TkuvHandleQueueEvent(&t->h, Tcl_NewStringObj("connected", -1), NULL,
	    NULL, 0);
    TkuvStreamConnected(&t->stream);
}

static void
Fail(
    Tcp *t,
    int err)
{
    t->state = TCP_FAILED;
    TkuvStreamClosing(&t->stream);	/* Held writes will never go. */
    TkuvHandleQueueEvent(&t->h, TkuvErrorEventArgs(err), NULL, NULL, 0);
}

static void
ConnClosed(
    TkuvHandle *h)
{
    Tcp *t = (Tcp *) h;

    if (t->connect != NULL) {
	TkuvConnectFree(t->connect);	/* No ConnectDone after this. */
	t->connect = NULL;
    }
    TkuvStreamClosing(&t->stream);
    TkuvHandleQueueClosedEvent(h);
}

/*
 *----------------------------------------------------------------------
 *
 * Listen --
 *
 *	tkuv::tcp listen PORT ?-host ADDR? ?-backlog N? ?-reuseport BOOL?
 *	-command CMD
 *
 *----------------------------------------------------------------------
 */

static int
Listen(
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const options[] = {
	"-backlog", "-command", "-host", NULL
    };
    enum { L_BACKLOG, L_COMMAND, L_HOST };
    const char *host = "0.0.0.0";
    Tcl_Obj *callback = NULL;
    int port, backlog = 511, i, index, err;
    struct sockaddr_storage ss;
    TkuvBridge *bridge;
    Tcp *t;

    if (objc < 3) {
	return TkuvWrongNumArgs(interp, 2, objv, "port -command cmd ?option value ...?");
    }
    if (TkuvGetPort(interp, objv[2], 0, &port) != TCL_OK) {
	return TCL_ERROR;
    }
    if ((objc - 3) % 2 != 0) {
	return TkuvUsageError(interp, "option \"%s\" has no value",
		Tcl_GetString(objv[objc - 1]));
    }
    for (i = 3; i < objc; i += 2) {
	if (TkuvGetIndex(interp, objv[i], options, "option", &index) != TCL_OK) {
	    return TCL_ERROR;
	}
	switch (index) {
	case L_BACKLOG:
	    if (Tcl_GetIntFromObj(NULL, objv[i + 1], &backlog) != TCL_OK
		    || backlog < 1) {
		return TkuvUsageError(interp,
			"expected a positive backlog but got \"%s\"",
			Tcl_GetString(objv[i + 1]));
	    }
	    break;
	case L_COMMAND:
	    if (TkuvCheckCallback(interp, objv[i + 1]) != TCL_OK) {
		return TCL_ERROR;
	    }
	    callback = objv[i + 1];
	    break;
	case L_HOST:
	    host = Tcl_GetString(objv[i + 1]);
	    break;
	}
    }
    if (callback == NULL) {
	return TkuvUsageError(interp, "missing -command: a listener needs a "
		"callback for its accept events");
    }
    if (ParseAddress(interp, "-host", host, port, &ss) != TCL_OK
	    || TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }
    t = TkuvHandleAlloc(&listenerType);
    t->port = port;
    t->state = TCP_LISTENING;
    if ((err = uv_tcp_init(&bridge->loop, &t->uv)) != 0) {
	TkuvFree(t);
	return TkuvUvError(interp, "couldn't open socket", err);
    }
    TkuvHandleRegister(interp, bridge, &t->h, (uv_handle_t *) &t->uv, callback);
    if ((err = uv_tcp_bind(&t->uv, (struct sockaddr *) &ss, 0)) != 0
	    || (err = uv_listen((uv_stream_t *) &t->uv, backlog, Accepted)) != 0) {
	TkuvHandleClose(&t->h);
	return TkuvUvError(interp, "couldn't open server socket", err);
    }
    TkuvBridgeKick(bridge);
    Tcl_SetObjResult(interp, t->h.nameObj);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * Accepted --
 *
 *	A connection is waiting: accept it into a new handle and tell the
 *	listener's callback. Errors (EMFILE ...) are reported as events; the
 *	listener keeps listening.
 *
 *----------------------------------------------------------------------
 */

static void
Accepted(
    uv_stream_t *server,
    int status)
{
    Tcp *l = server->data, *t;
    Tcl_Obj *args;
    Tcl_InterpState state;
    int err;

    if (l->h.closed) {
	return;
    }
    if (status < 0) {
	TkuvHandleQueueEvent(&l->h, TkuvErrorEventArgs(status), NULL, NULL, 0);
	return;
    }
    t = TkuvHandleAlloc(&connType);
    if ((err = uv_tcp_init(server->loop, &t->uv)) != 0) {
	TkuvFree(t);
	TkuvHandleQueueEvent(&l->h, TkuvErrorEventArgs(err), NULL, NULL, 0);
	return;
    }
    if ((err = uv_accept(server, (uv_stream_t *) &t->uv)) != 0) {
	t->uv.data = t;
	uv_close((uv_handle_t *) &t->uv, FreeUnregistered);
	TkuvHandleQueueEvent(&l->h, TkuvErrorEventArgs(err), NULL, NULL, 0);
	return;
    }
    t->state = TCP_CONNECTED;
    t->family = AF_UNSPEC;

    /* Not inside a command: keep the interp's result as it was. */
    state = Tcl_SaveInterpState(l->h.interp, TCL_OK);
    TkuvHandleRegister(l->h.interp, l->h.bridge, &t->h, (uv_handle_t *) &t->uv,
	    l->h.callback);
    Tcl_RestoreInterpState(l->h.interp, state);
    TkuvStreamInit(&t->stream, &t->h, (uv_stream_t *) &t->uv, "data", "eof");

    args = Tcl_NewListObj(0, NULL);
    Tcl_ListObjAppendElement(NULL, args, Tcl_NewStringObj("accept", -1));
    Tcl_ListObjAppendElement(NULL, args, t->h.nameObj);
    TkuvHandleQueueEvent(&l->h, args, NULL, NULL, 0);
    TkuvStreamConnected(&t->stream);
}

static void
FreeUnregistered(
    uv_handle_t *uv)
{
    TkuvFree(uv->data);
}

/*
 *----------------------------------------------------------------------
 *
 * ConnCmd --
 *
 *	$conn write BYTES | pause | resume | shutdown | close | info |
 *	      configure ?option ?value ...??
 *
 *----------------------------------------------------------------------
 */

static int
ConnCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subcommands[] = {
	"close", "configure", "info", "pause", "resume", "shutdown", "write",
	NULL
    };
    enum { C_CLOSE, C_CONFIGURE, C_INFO, C_PAUSE, C_RESUME, C_SHUTDOWN,
	    C_WRITE };
    Tcp *t = clientData;
    int index;

    if (TkuvGetSubcommand(interp, objc, objv, subcommands, "subcommand ?arg ...?",
	    &index) != TCL_OK) {
	return TCL_ERROR;
    }
    if (index == C_WRITE) {
	/* $conn write BYTES */
	if (objc != 3) {
	    return TkuvWrongNumArgs(interp, 2, objv, "bytes");
	}
	if (t->state == TCP_FAILED) {
	    return TkuvUsageError(interp, "%s: cannot write: the connection "
		    "failed", Tcl_GetString(t->h.nameObj));
	}
	return TkuvStreamWrite(interp, &t->stream, objv[2]);
    }
    if (index == C_CONFIGURE) {
	/* $conn configure ?-option value ...? */
	return Configure(interp, t, objc - 2, objv + 2);
    }
    if (objc != 2) {
	return TkuvWrongNumArgs(interp, 2, objv, "");
    }
    switch (index) {
    case C_CLOSE:
	TkuvHandleClose(&t->h);
	break;
    case C_INFO:
	Tcl_SetObjResult(interp, ConnInfo(t));
	break;
    case C_PAUSE:
    case C_RESUME:
	TkuvStreamSetReading(&t->stream, index == C_RESUME);
	break;
    case C_SHUTDOWN:
	return TkuvStreamShutdown(interp, &t->stream);
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * Configure --
 *
 *	-command CMD, -nodelay BOOL, -keepalive SECS (0 = off),
 *	-readlimit BYTES. No arguments: all current values.
 *
 *----------------------------------------------------------------------
 */

static int
Configure(
    Tcl_Interp *interp,
    Tcp *t,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const options[] = {
	"-command", "-keepalive", "-nodelay", "-readlimit", NULL
    };
    enum { O_COMMAND, O_KEEPALIVE, O_NODELAY, O_READLIMIT };
    int i, index, value, err;
    Tcl_WideInt limit;

    if (objc == 0) {
	Tcl_Obj *d = Tcl_NewDictObj();

	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("-command", -1),
		t->h.callback ? t->h.callback : Tcl_NewObj());
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("-keepalive", -1),
		Tcl_NewIntObj(t->keepalive));
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("-nodelay", -1),
		Tcl_NewBooleanObj(t->nodelay));
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("-readlimit", -1),
		Tcl_NewWideIntObj((Tcl_WideInt) t->stream.readLimit));
	Tcl_SetObjResult(interp, d);
	return TCL_OK;
    }
    if (objc % 2 != 0) {
	return TkuvUsageError(interp, "option \"%s\" has no value",
		Tcl_GetString(objv[objc - 1]));
    }
    for (i = 0; i < objc; i += 2) {
	if (TkuvGetIndex(interp, objv[i], options, "option", &index) != TCL_OK) {
	    return TCL_ERROR;
	}
	switch (index) {
	case O_COMMAND:
	    if (TkuvCheckCallback(interp, objv[i + 1]) != TCL_OK) {
		return TCL_ERROR;
	    }
	    Tcl_IncrRefCount(objv[i + 1]);
	    if (t->h.callback != NULL) {
		Tcl_DecrRefCount(t->h.callback);
	    }
	    t->h.callback = objv[i + 1];
	    break;
	case O_KEEPALIVE:
	    if (Tcl_GetIntFromObj(NULL, objv[i + 1], &value) != TCL_OK
		    || value < 0) {
		return TkuvUsageError(interp, "expected keepalive seconds "
			"(an integer >= 0) but got \"%s\"",
			Tcl_GetString(objv[i + 1]));
	    }
	    if ((err = uv_tcp_keepalive(&t->uv, value > 0,
		    (unsigned) value)) != 0) {
		return TkuvUvError(interp, "-keepalive", err);
	    }
	    t->keepalive = value;
	    break;
	case O_NODELAY:
	    if (Tcl_GetBooleanFromObj(NULL, objv[i + 1], &value) != TCL_OK) {
		return TkuvUsageError(interp, "expected a boolean for -nodelay "
			"but got \"%s\"", Tcl_GetString(objv[i + 1]));
	    }
	    if ((err = uv_tcp_nodelay(&t->uv, value)) != 0) {
		return TkuvUvError(interp, "-nodelay", err);
	    }
	    t->nodelay = value;
	    break;
	case O_READLIMIT:
	    if (Tcl_GetWideIntFromObj(NULL, objv[i + 1], &limit) != TCL_OK
		    || limit < 1) {
		return TkuvUsageError(interp, "expected a positive number of "
			"bytes for -readlimit but got \"%s\"",
			Tcl_GetString(objv[i + 1]));
	    }
	    t->stream.readLimit = (size_t) limit;
	    TkuvStreamSetReading(&t->stream, t->stream.wantRead);
	    break;
	}
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * ListenerCmd --
 *
 *	$listener close | info | configure -command CMD
 *
 *----------------------------------------------------------------------
 */

static int
ListenerCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subcommands[] = {
	"close", "configure", "info", NULL
    };
    enum { L_CLOSE, L_CONFIGURE, L_INFO };
    Tcp *t = clientData;
    struct sockaddr_storage ss;
    int index, len = sizeof(ss);
    Tcl_Obj *d;

    if (TkuvGetSubcommand(interp, objc, objv, subcommands, "close|configure|info",
	    &index) != TCL_OK) {
	return TCL_ERROR;
    }
    switch (index) {
    case L_CLOSE:
	if (objc != 2) {
	    return TkuvWrongNumArgs(interp, 2, objv, "");
	}
	TkuvHandleClose(&t->h);
	return TCL_OK;
    case L_CONFIGURE:
	if (objc != 4 || strcmp(Tcl_GetString(objv[2]), "-command") != 0) {
	    return TkuvWrongNumArgs(interp, 2, objv, "-command cmd");
	}
	return Configure(interp, t, 2, objv + 2);
    case L_INFO:
	if (objc != 2) {
	    return TkuvWrongNumArgs(interp, 2, objv, "");
	}
	d = Tcl_NewDictObj();
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("state", -1),
		Tcl_NewStringObj(stateNames[t->state], -1));
	if (uv_tcp_getsockname(&t->uv, (struct sockaddr *) &ss, &len) == 0) {
	    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("local", -1),
		    AddressObj((struct sockaddr *) &ss));
	}
	Tcl_SetObjResult(interp, d);
	return TCL_OK;
    }
    return TCL_OK;
}

static Tcl_Obj *
ConnInfo(
    Tcp *t)
{
    Tcl_Obj *d = Tcl_NewDictObj();
    struct sockaddr_storage ss;
    int len;

    if (t->state == TCP_RESOLVING && t->connect != NULL
	    && !TkuvConnectResolving(t->connect)) {
	t->state = TCP_CONNECTING;
    }
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("state", -1),
	    Tcl_NewStringObj(stateNames[t->state], -1));
    len = sizeof(ss);
    if (t->state == TCP_CONNECTED
	    && uv_tcp_getsockname(&t->uv, (struct sockaddr *) &ss, &len) == 0) {
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("local", -1),
		AddressObj((struct sockaddr *) &ss));
    }
    len = sizeof(ss);
    if (t->state == TCP_CONNECTED
	    && uv_tcp_getpeername(&t->uv, (struct sockaddr *) &ss, &len) == 0) {
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("peer", -1),
		AddressObj((struct sockaddr *) &ss));
    }
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("queued", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) t->stream.writeQueued));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("undelivered", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) t->stream.undelivered));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("reading", -1),
	    Tcl_NewBooleanObj(t->stream.reading));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("eof", -1),
	    Tcl_NewBooleanObj(t->stream.eof));
    return d;
}

/*
 *----------------------------------------------------------------------
 *
 * Helpers: ports and addresses.
 *
 *----------------------------------------------------------------------
 */

static int
ParseAddress(
    Tcl_Interp *interp,
    const char *what,
    const char *host,
    int port,
    struct sockaddr_storage *ss)
{
    if (!TkuvNumericAddress(host, port, ss)) {
	return TkuvUsageError(interp, "%s: expected a numeric IPv4 or IPv6 "
		"address but got \"%s\"", what, host);
    }
    return TCL_OK;
}

static Tcl_Obj *
AddressObj(
    const struct sockaddr *sa)
{
    char name[TKUV_ADDRSTRLEN];
    int port = TkuvSockaddrName(sa, name, sizeof(name));
    Tcl_Obj *pair = Tcl_NewListObj(0, NULL);

    Tcl_ListObjAppendElement(NULL, pair, Tcl_NewStringObj(name, -1));
    Tcl_ListObjAppendElement(NULL, pair, Tcl_NewIntObj(port));
    return pair;
}
