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
 *
 *	Connections and listeners each have one option table, read by
 *	creation and by the shared configure and cget; a connection adds the
 *	stream subcommands (write, pause, resume, shutdown).
 */

#include "tkuvInt.h"
#include <stddef.h>
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
    int familyIndex;		/* -family, in familyNames */
    Tcl_Obj *myaddr;		/* -myaddr, or NULL */
    int nodelay;		/* -nodelay */
    int keepalive;		/* -keepalive: seconds; 0 = off. */
    int backlog;		/* -backlog (listeners) */
    TkuvConnect *connect;	/* Until connected or failed. */
} Tcp;

static void	ConnClosed(TkuvHandle *h);
static TkuvOptionCheckProc CheckAddress;
static TkuvOptionSetProc SetConnOption;
static TkuvSubcommandProc WriteCmd, ReadingCmd, ShutdownCmd;
static TkuvInfoProc ConnInfo, ListenerInfo;

static const char *const familyNames[] = { "any", "inet", "inet6", NULL };
static const int familyCodes[] = { AF_UNSPEC, AF_INET, AF_INET6 };

static const TkuvOption connOptions[] = {
    {"-bind", TKUV_OPT_ALIAS, .alias = "-myaddr"},
    {"-command", .type = TKUV_OPT_CALLBACK},
    {"-family", TKUV_OPT_INDEX, offsetof(Tcp, familyIndex),
	TKUV_OPT_CREATE_ONLY, .values = familyNames},
    /* Linux's TCP_KEEPIDLE takes at most 32767 s; so does tkuv anywhere. */
    {"-keepalive", TKUV_OPT_INT, offsetof(Tcp, keepalive), .min = 0,
	.max = 32767, .setProc = SetConnOption},
    {"-myaddr", TKUV_OPT_STRING, offsetof(Tcp, myaddr), TKUV_OPT_CREATE_ONLY,
	.checkProc = CheckAddress},
    {"-nodelay", TKUV_OPT_BOOLEAN, offsetof(Tcp, nodelay),
	.setProc = SetConnOption},
    {"-readlimit", TKUV_OPT_SIZE, offsetof(Tcp, stream.readLimit), .min = 1,
	.max = TKUV_MAX_SIZE, .setProc = SetConnOption},
    {NULL}
};

static const TkuvOption listenerOptions[] = {
    {"-backlog", TKUV_OPT_INT, offsetof(Tcp, backlog), TKUV_OPT_CREATE_ONLY,
	.min = 1, .max = INT_MAX},
    {"-command", TKUV_OPT_CALLBACK, .flags = TKUV_OPT_REQUIRED},
    {"-host", TKUV_OPT_ALIAS, .alias = "-myaddr"},
    {"-myaddr", TKUV_OPT_STRING, offsetof(Tcp, myaddr), TKUV_OPT_CREATE_ONLY,
	.checkProc = CheckAddress},
    {NULL}
};

static const TkuvSubcommand connSubcommands[] = {
    {"pause", ReadingCmd, 0, 0, ""},
    {"resume", ReadingCmd, 0, 0, ""},
    {"shutdown", ShutdownCmd, 0, 0, ""},
    {"write", WriteCmd, 1, 1, "bytes"},
    {NULL}
};

static const TkuvHandleType connType = {
    "tcp", sizeof(Tcp), ConnClosed, connOptions, ConnInfo,
    connSubcommands
};
static const TkuvHandleType listenerType = {
    "tcpserver", sizeof(Tcp), NULL, listenerOptions, ListenerInfo, NULL
};

static int	Connect(Tcl_Interp *interp, int objc, Tcl_Obj *const objv[]);
static int	Listen(Tcl_Interp *interp, int objc, Tcl_Obj *const objv[]);
static TkuvConnectProc ConnectDone;
static void	Accepted(uv_stream_t *server, int status);
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
 *	tkuv::tcp connect HOST PORT ?-command CMD? ?-myaddr ADDR? ?-family
 *	any|inet|inet6? ?-nodelay BOOL? ?-keepalive SECS? ?-readlimit BYTES?
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
    TkuvOptionValues vals;
    TkuvBridge *bridge;
    Tcp *t;
    const char *host;
    struct sockaddr_storage ss;
    int port, family, err;

    if (objc < 4) {
	return TkuvWrongNumArgs(interp, 2, objv, "host port ?option value ...?");
    }
    host = Tcl_GetString(objv[2]);
    if (*host == '\0') {
	return TkuvUsageError(interp, "expected a host name or address but got \"\"");
    }
    if (TkuvGetPort(interp, objv[3], 1, &port) != TCL_OK
	    || TkuvOptionsParse(interp, connOptions, objc - 4, objv + 4,
		    TKUV_PARSE_CREATE, &vals) != TCL_OK
	    || TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }

    t = TkuvHandleAlloc(&connType);
    t->port = port;
    if ((err = uv_tcp_init(&bridge->loop, &t->uv)) != 0) {
	TkuvFree(t);
	return TkuvUvError(interp, "couldn't open socket", err);
    }
    TkuvHandleRegister(interp, bridge, &t->h, (uv_handle_t *) &t->uv, NULL);
    TkuvStreamInit(&t->stream, &t->h, (uv_stream_t *) &t->uv, "data", "eof");
    if (TkuvOptionsApply(interp, &t->h, &vals, TKUV_APPLY_ALL) != TCL_OK) {
	TkuvHandleClose(&t->h);
	return TCL_ERROR;
    }
    family = t->family = familyCodes[t->familyIndex];
    if (t->myaddr != NULL && *Tcl_GetString(t->myaddr) == '\0') {
	Tcl_DecrRefCount(t->myaddr);	/* Empty: none, as if not given. */
	t->myaddr = NULL;
    }
    if (t->myaddr != NULL) {
	TkuvNumericAddress(Tcl_GetString(t->myaddr), 0, &ss);
    }
    t->connect = TkuvConnectNew(host, port, family, &ss, t->myaddr != NULL,
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
 *	tkuv::tcp listen PORT ?-myaddr ADDR? ?-backlog N? -command CMD
 *
 *----------------------------------------------------------------------
 */

static int
Listen(
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    TkuvOptionValues vals;
    int port, err;
    struct sockaddr_storage ss;
    TkuvBridge *bridge;
    Tcp *t;

    if (objc < 3) {
	return TkuvWrongNumArgs(interp, 2, objv, "port -command cmd ?option value ...?");
    }
    if (TkuvGetPort(interp, objv[2], 0, &port) != TCL_OK
	    || TkuvOptionsParse(interp, listenerOptions, objc - 3, objv + 3,
		    TKUV_PARSE_CREATE, &vals) != TCL_OK
	    || TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }
    t = TkuvHandleAlloc(&listenerType);
    t->port = port;
    t->state = TCP_LISTENING;
    t->backlog = 511;
    t->myaddr = Tcl_NewStringObj("0.0.0.0", -1);
    Tcl_IncrRefCount(t->myaddr);
    if ((err = uv_tcp_init(&bridge->loop, &t->uv)) != 0) {
	Tcl_DecrRefCount(t->myaddr);
	TkuvFree(t);
	return TkuvUvError(interp, "couldn't open socket", err);
    }
    TkuvHandleRegister(interp, bridge, &t->h, (uv_handle_t *) &t->uv, NULL);
    TkuvOptionsApply(interp, &t->h, &vals, TKUV_APPLY_ALL);
    if (*Tcl_GetString(t->myaddr) == '\0') {
	Tcl_DecrRefCount(t->myaddr);		/* Empty: the default. */
	t->myaddr = Tcl_NewStringObj("0.0.0.0", -1);
	Tcl_IncrRefCount(t->myaddr);
    }
    TkuvNumericAddress(Tcl_GetString(t->myaddr), port, &ss);
    if ((err = uv_tcp_bind(&t->uv, (struct sockaddr *) &ss, 0)) != 0
	    || (err = uv_listen((uv_stream_t *) &t->uv, t->backlog,
		    Accepted)) != 0) {
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
 * WriteCmd, ReadingCmd, ShutdownCmd --
 *
 *	$conn write BYTES | pause | resume | shutdown
 *
 *----------------------------------------------------------------------
 */

static int
WriteCmd(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcp *t = (Tcp *) h;

    (void) objc;
    if (t->state == TCP_FAILED) {
	return TkuvUsageError(interp, "%s: cannot write: the connection "
		"failed", Tcl_GetString(t->h.nameObj));
    }
    return TkuvStreamWrite(interp, &t->stream, objv[2]);
}

static int
ReadingCmd(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) interp;
    (void) objc;
    /* objv[1] is pause or resume, or a prefix of one: p... or r... */
    TkuvStreamSetReading(&((Tcp *) h)->stream,
	    Tcl_GetString(objv[1])[0] == 'r');
    return TCL_OK;
}

static int
ShutdownCmd(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) objc;
    (void) objv;
    return TkuvStreamShutdown(interp, &((Tcp *) h)->stream);
}

/*
 *----------------------------------------------------------------------
 *
 * SetConnOption --
 *
 *	Applies -nodelay, -keepalive SECS (0 = off) or -readlimit BYTES to
 *	a connection (the handle layer stores the field after).
 *
 *----------------------------------------------------------------------
 */

static int
SetConnOption(
    Tcl_Interp *interp,
    TkuvHandle *h,
    const TkuvOption *opt,
    TkuvOptionValue *value)
{
    Tcp *t = (Tcp *) h;
    int err = 0;

    if (opt->offset == offsetof(Tcp, nodelay)) {
	err = uv_tcp_nodelay(&t->uv, value->i);
    } else if (opt->offset == offsetof(Tcp, keepalive)) {
	err = uv_tcp_keepalive(&t->uv, value->i > 0, (unsigned) value->i);
    } else {
	t->stream.readLimit = (size_t) value->w;
	TkuvStreamSetReading(&t->stream, t->stream.wantRead);
    }
    return (err != 0) ? TkuvOptionRefused(interp, opt, err) : TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * ConnInfo, ListenerInfo --
 *
 *	`info`: the state and local {address port}; for a connection also
 *	the peer and the stream's counters.
 *
 *----------------------------------------------------------------------
 */

static void
PutAddress(
    Tcl_Obj *d,
    const char *key,
    Tcp *t,
    int (*getName)(const uv_tcp_t *, struct sockaddr *, int *))
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    if (getName(&t->uv, (struct sockaddr *) &ss, &len) == 0) {
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj(key, -1),
		TkuvAddressObj((struct sockaddr *) &ss));
    }
}

static void
ListenerInfo(
    TkuvHandle *h,
    Tcl_Obj *d)
{
    Tcp *t = (Tcp *) h;

    if (t->state == TCP_RESOLVING && t->connect != NULL
	    && !TkuvConnectResolving(t->connect)) {
	t->state = TCP_CONNECTING;
    }
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("state", -1),
	    Tcl_NewStringObj(stateNames[t->state], -1));
    PutAddress(d, "local", t, uv_tcp_getsockname);
}

static void
ConnInfo(
    TkuvHandle *h,
    Tcl_Obj *d)
{
    Tcp *t = (Tcp *) h;

    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("state", -1),
	    Tcl_NewStringObj(stateNames[t->state], -1));
    if (t->state == TCP_CONNECTED) {
	PutAddress(d, "local", t, uv_tcp_getsockname);
	PutAddress(d, "peer", t, uv_tcp_getpeername);
    }
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("queued", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) t->stream.writeQueued));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("undelivered", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) t->stream.undelivered));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("reading", -1),
	    Tcl_NewBooleanObj(t->stream.reading));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("eof", -1),
	    Tcl_NewBooleanObj(t->stream.eof));
}

/*
 *----------------------------------------------------------------------
 *
 * CheckAddress --
 *
 *	-myaddr: a numeric IPv4 or IPv6 address.
 *
 *----------------------------------------------------------------------
 */

static int
CheckAddress(
    Tcl_Interp *interp,
    const TkuvOption *opt,
    Tcl_Obj *valueObj,
    TkuvOptionValue *value)
{
    struct sockaddr_storage ss;

    (void) value;
    if (*Tcl_GetString(valueObj) != '\0'	/* Empty: the default. */
	    && !TkuvNumericAddress(Tcl_GetString(valueObj), 0, &ss)) {
	return TkuvBadValue(interp, opt->name, "a numeric IPv4 or IPv6 "
		"address", valueObj);
    }
    return TCL_OK;
}
