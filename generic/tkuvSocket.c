/*
 * tkuvSocket.c --
 *
 *	tkuv::socket: Tcl's `socket` command, but the channel's I/O runs on
 *	the thread's libuv loop, so fileevent on it never goes through Tcl's
 *	select() notifier.
 *
 *	Each channel has a SockState (the channel driver's instance data) and,
 *	while the libuv side is open, a SockHandle: a tkuv handle record
 *	holding the uv_tcp_t, so thread exit and interp deletion close it like
 *	any other handle. Either side can go first: the handle's closeProc
 *	detaches the state (the channel then reads EOF and writes EPIPE), and
 *	the channel's close closes the handle.
 *
 *	libuv callbacks only update the state (bytes land in a driver-side
 *	buffer). A per-thread Tcl event source looks at the states after each
 *	event-loop pass and queues an event that calls Tcl_NotifyChannel for
 *	the ready ones, so fileevent scripts run as ordinary Tcl events.
 *
 *	Blocking operations (blocking connect, gets on an empty buffer, flush)
 *	run the loop directly with uv_run(UV_RUN_ONCE). That is safe outside a
 *	tick: the poll thread only watches the backend fd for readiness and
 *	never runs the loop, and tkuv's callbacks only queue Tcl events, so
 *	nothing re-enters Tcl or the loop. Afterwards the poll thread is
 *	kicked to recompute its timeout.
 */

#include "tkuvInt.h"
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#define SOCK_READ_CHUNK	65536
#define SOCK_READ_LIMIT	(1024 * 1024)	/* Stop reading above this. */
#define SOCK_WRITE_LIMIT (1024 * 1024)	/* Not writable above this. */

typedef struct SockState SockState;

typedef struct SockHandle {
    TkuvHandle h;		/* Must be first. */
    uv_tcp_t uv;
    SockState *state;		/* NULL once the channel is gone. */
    int closeWhenDrained;	/* Channel closed with writes pending. */
} SockHandle;

struct SockState {
    SockHandle *sh;		/* NULL once the libuv side is closed. */
    TkuvBridge *bridge;
    Tcl_Channel chan;
    int isServer;
    Tcl_Obj *acceptCmd;		/* Servers: command prefix. */
    Tcl_Interp *interp;		/* Servers: where accept runs. */
    int pendingAccept;		/* A connection waits for uv_accept. */
    int blocking;
    int interest;		/* Mask from watchProc. */
    int eventQueued;
    int connecting, connected, connectFailed;
    int reading, eof, readClosed, writeClosed;
    int shutdownPending;	/* close write before connecting. */
    int error;			/* Sticky libuv error (for reads). */
    int reportError;		/* Error for fconfigure -error. */
    char *in;			/* Received bytes: in[inStart..inStart+inLen). */
    size_t inStart, inLen, inCap;
    size_t writeQueued;		/* Bytes handed to uv_write, not yet sent. */
    SockState *next;		/* In the thread's list. */
};

typedef struct WriteReq {
    uv_write_t req;
    SockHandle *sh;
    size_t len;
    char data[1];
} WriteReq;

typedef struct SockEvent {
    Tcl_Event header;
    SockState *s;
} SockEvent;

typedef struct ThreadData {
    SockState *states;
    int sourceCreated;
} ThreadData;

static Tcl_ThreadDataKey dataKey;

static Tcl_ObjCmdProc HandleCmd;
static void	HandleClosed(TkuvHandle *h);

static const TkuvHandleType sockType = {
    "socket", HandleCmd, sizeof(SockHandle), HandleClosed
};

static int	SockClose2(ClientData instanceData, Tcl_Interp *interp, int flags);
static int	SockInput(ClientData instanceData, char *buf, int toRead,
		    int *errorCodePtr);
static int	SockOutput(ClientData instanceData, const char *buf,
		    int toWrite, int *errorCodePtr);
static int	SockGetOption(ClientData instanceData, Tcl_Interp *interp,
		    const char *optionName, Tcl_DString *dsPtr);
static void	SockWatch(ClientData instanceData, int mask);
static int	SockGetHandle(ClientData instanceData, int direction,
		    ClientData *handlePtr);
static int	SockBlockMode(ClientData instanceData, int mode);

static const Tcl_ChannelType sockChannelType = {
    "tkuvsocket",
    TCL_CHANNEL_VERSION_5,
    TCL_CLOSE2PROC,
    SockInput,
    SockOutput,
    NULL,			/* seekProc */
    NULL,			/* setOptionProc */
    SockGetOption,
    SockWatch,
    SockGetHandle,
    SockClose2,
    SockBlockMode,
    NULL,			/* flushProc */
    NULL,			/* handlerProc */
    NULL,			/* wideSeekProc */
    NULL,			/* threadActionProc */
    NULL			/* truncateProc */
};

static void	SetupProc(ClientData clientData, int flags);
static void	CheckProc(ClientData clientData, int flags);
static int	SockEventProc(Tcl_Event *evPtr, int flags);
static int	DeleteSockEvent(Tcl_Event *evPtr, ClientData clientData);
static void	ThreadExit(ClientData clientData);
static int	ReadyMask(SockState *s);
static SockState *NewState(TkuvBridge *bridge);
static void	FreeState(SockState *s);
static int	NewHandle(Tcl_Interp *interp, TkuvBridge *bridge, SockState *s);
static int	RunOnce(TkuvBridge *bridge);
static void	StartReading(SockState *s);
static void	OnAlloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void	OnRead(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void	OnWrite(uv_write_t *req, int status);
static void	OnConnect(uv_connect_t *req, int status);
static void	OnConnection(uv_stream_t *server, int status);
static void	OnShutdown(uv_shutdown_t *req, int status);
static void	OnShutdownThenClose(uv_shutdown_t *req, int status);
static int	Resolve(Tcl_Interp *interp, TkuvBridge *bridge, const char *host,
		    int port, int passive, struct sockaddr_storage *ss);
static int	ErrnoOf(int uvErr);
static void	AppendAddress(Tcl_DString *dsPtr, const struct sockaddr *sa);
static int	SocketError(Tcl_Interp *interp, int err);
static void	DoAccept(SockState *s);

/*
 *----------------------------------------------------------------------
 *
 * TkuvSocketObjCmd --
 *
 *	tkuv::socket ?-myaddr A? ?-myport P? ?-async? HOST PORT
 *	tkuv::socket -server CMD ?-myaddr A? PORT
 *
 * Results:
 *	The new channel's name; errors as Tcl's socket gives them, with a
 *	TKUV errorCode.
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
    static const char *const options[] = {
	"-async", "-myaddr", "-myport", "-server", NULL
    };
    enum { OPT_ASYNC, OPT_MYADDR, OPT_MYPORT, OPT_SERVER };
    static const char *usage = "?-myaddr addr? ?-myport myport? ?-async? "
	    "host port | -server command ?-myaddr addr? port";
    TkuvBridge *bridge;
    SockState *s;
    Tcl_Obj *serverCmd = NULL;
    const char *myaddr = NULL, *host = NULL;
    int async = 0, myport = 0, port, i, index, err, nargs;
    struct sockaddr_storage ss, local;
    char name[64];

    (void) clientData;
    for (i = 1; i < objc; i++) {
	const char *arg = Tcl_GetString(objv[i]);

	if (arg[0] != '-') {
	    break;
	}
	if (TkuvGetIndex(interp, objv[i], options, "option", &index)
		!= TCL_OK) {
	    return TCL_ERROR;
	}
	if (index == OPT_ASYNC) {
	    async = 1;
	    continue;
	}
	if (i + 1 >= objc) {
	    return TkuvUsageError(interp, "option \"%s\" has no value", arg);
	}
	i++;
	switch (index) {
	case OPT_MYADDR:
	    myaddr = Tcl_GetString(objv[i]);
	    break;
	case OPT_MYPORT:
	    if (TkuvGetPort(interp, objv[i], 0, &myport) != TCL_OK) {
		return TCL_ERROR;
	    }
	    break;
	case OPT_SERVER:
	    serverCmd = objv[i];
	    if (TkuvCheckCallback(interp, serverCmd) != TCL_OK) {
		return TCL_ERROR;
	    }
	    break;
	}
    }
    nargs = objc - i;
    if (serverCmd != NULL) {
	if (async) {
	    return TkuvUsageError(interp,
		    "cannot set -async option for server sockets");
	}
	if (myport != 0) {
	    return TkuvUsageError(interp,
		    "option -myport is not valid for servers");
	}
	if (nargs != 1) {
	    return TkuvWrongNumArgs(interp, 1, objv, usage);
	}
    } else if (nargs != 2) {
	return TkuvWrongNumArgs(interp, 1, objv, usage);
    } else {
	host = Tcl_GetString(objv[i]);
	i++;
    }
    if (TkuvGetPort(interp, objv[i], serverCmd ? 0 : 1, &port) != TCL_OK) {
	return TCL_ERROR;
    }
    if (TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }

    if (serverCmd != NULL) {
	if (Resolve(interp, bridge, myaddr ? myaddr : "0.0.0.0", port, 1,
		&local) != TCL_OK) {
	    return TCL_ERROR;
	}
    } else {
	if (Resolve(interp, bridge, host, port, 0, &ss) != TCL_OK) {
	    return TCL_ERROR;
	}
	if (myaddr != NULL || myport != 0) {
	    if (Resolve(interp, bridge, myaddr ? myaddr
		    : (ss.ss_family == AF_INET6 ? "::" : "0.0.0.0"), myport, 1,
		    &local) != TCL_OK) {
		return TCL_ERROR;
	    }
	}
    }

    s = NewState(bridge);
    if (NewHandle(interp, bridge, s) != TCL_OK) {
	FreeState(s);
	return TCL_ERROR;
    }
    if (serverCmd != NULL) {
	s->isServer = 1;
	s->acceptCmd = serverCmd;
	Tcl_IncrRefCount(serverCmd);
	s->interp = interp;
	err = uv_tcp_bind(&s->sh->uv, (struct sockaddr *) &local, 0);
	if (err == 0) {
	    err = uv_listen((uv_stream_t *) &s->sh->uv, 128, OnConnection);
	}
    } else {
	err = 0;
	if (myaddr != NULL || myport != 0) {
	    err = uv_tcp_bind(&s->sh->uv, (struct sockaddr *) &local, 0);
	}
	if (err == 0) {
	    uv_connect_t *req = TkuvAlloc(sizeof(uv_connect_t));

	    req->data = s->sh;
	    err = uv_tcp_connect(req, &s->sh->uv, (struct sockaddr *) &ss,
		    OnConnect);
	    if (err != 0) {
		TkuvFree(req);
	    } else {
		s->connecting = 1;
	    }
	}
    }
    if (err != 0) {
	TkuvHandleClose(&s->sh->h);
	FreeState(s);
	return SocketError(interp, err);
    }
    TkuvBridgeKick(bridge);

    if (serverCmd == NULL && !async) {
	/* Tcl's socket connects synchronously unless -async. */
	while (s->connecting && s->sh != NULL && RunOnce(bridge)) {
	    /* Wait. */
	}
	if (!s->connected) {
	    err = s->error ? s->error : UV_ECONNABORTED;
	    if (s->sh != NULL) {
		TkuvHandleClose(&s->sh->h);
	    }
	    FreeState(s);
	    return SocketError(interp, err);
	}
    }

    snprintf(name, sizeof(name), "tkuvsock%p", (void *) s);
    s->blocking = !async && serverCmd == NULL;
    s->chan = Tcl_CreateChannel(&sockChannelType, name, s,
	    serverCmd ? 0 : (TCL_READABLE | TCL_WRITABLE));
    if (!s->blocking) {
	/* The generic layer starts blocking; match Tcl's -async sockets. */
	Tcl_SetChannelOption(NULL, s->chan, "-blocking", "0");
    }
    Tcl_SetChannelOption(NULL, s->chan, "-translation", "auto crlf");
    Tcl_RegisterChannel(interp, s->chan);
    Tcl_SetObjResult(interp, Tcl_NewStringObj(name, -1));
    return TCL_OK;
}

static int
SocketError(
    Tcl_Interp *interp,
    int err)
{
    return TkuvUvError(interp, "couldn't open socket", err);
}

/*
 *----------------------------------------------------------------------
 *
 * Resolve --
 *
 *	Host and port to a socket address: numeric addresses directly, names
 *	through a synchronous getaddrinfo (IPv4 answers first), as Tcl's
 *	socket does.
 *
 *----------------------------------------------------------------------
 */

static int
Resolve(
    Tcl_Interp *interp,
    TkuvBridge *bridge,
    const char *host,
    int port,
    int passive,
    struct sockaddr_storage *ss)
{
    uv_getaddrinfo_t req;
    struct addrinfo hints, *ai, *pick = NULL;
    int err;

    memset(ss, 0, sizeof(*ss));
    if (uv_ip4_addr(host, port, (struct sockaddr_in *) ss) == 0
	    || uv_ip6_addr(host, port, (struct sockaddr_in6 *) ss) == 0) {
	return TCL_OK;
    }
    if (*host == '\0') {
	return TkuvUsageError(interp,
		"expected a host name or address but got \"\"");
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    err = uv_getaddrinfo(&bridge->loop, &req, NULL, host, NULL, &hints);
    if (err != 0) {
	return SocketError(interp, err);
    }
    for (ai = req.addrinfo; ai != NULL; ai = ai->ai_next) {
	if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
		&& (pick == NULL || (ai->ai_family == AF_INET
		&& pick->ai_family != AF_INET))) {
	    pick = ai;
	}
    }
    if (pick == NULL) {
	uv_freeaddrinfo(req.addrinfo);
	return SocketError(interp, UV_EAI_NONAME);
    }
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    if (ss->ss_family == AF_INET) {
	((struct sockaddr_in *) ss)->sin_port = htons((unsigned short) port);
    } else {
	((struct sockaddr_in6 *) ss)->sin6_port = htons((unsigned short) port);
    }
    uv_freeaddrinfo(req.addrinfo);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * NewState, NewHandle, FreeState --
 *
 *	A driver state in the thread's list (creating the event source on
 *	first use), its libuv handle, and the state's release once both the
 *	channel and Tcl's events are done with it.
 *
 *----------------------------------------------------------------------
 */

static SockState *
NewState(
    TkuvBridge *bridge)
{
    ThreadData *tsd = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));
    SockState *s = TkuvAlloc(sizeof(SockState));

    memset(s, 0, sizeof(SockState));
    s->bridge = bridge;
    if (!tsd->sourceCreated) {
	tsd->sourceCreated = 1;
	Tcl_CreateEventSource(SetupProc, CheckProc, NULL);
	Tcl_CreateThreadExitHandler(ThreadExit, NULL);
    }
    s->next = tsd->states;
    tsd->states = s;
    return s;
}

static int
NewHandle(
    Tcl_Interp *interp,
    TkuvBridge *bridge,
    SockState *s)
{
    SockHandle *sh = TkuvHandleAlloc(&sockType);
    Tcl_InterpState saved;
    int err;

    if ((err = uv_tcp_init(&bridge->loop, &sh->uv)) != 0) {
	TkuvFree(sh);
	return SocketError(interp, err);
    }
    /* Register sets the result; accept runs inside other commands. */
    saved = Tcl_SaveInterpState(interp, TCL_OK);
    TkuvHandleRegister(interp, bridge, &sh->h, (uv_handle_t *) &sh->uv, NULL);
    Tcl_RestoreInterpState(interp, saved);
    sh->state = s;
    s->sh = sh;
    return TCL_OK;
}

static void
FreeState(
    SockState *s)
{
    ThreadData *tsd = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));
    SockState **pp;

    for (pp = &tsd->states; *pp != NULL; pp = &(*pp)->next) {
	if (*pp == s) {
	    *pp = s->next;
	    break;
	}
    }
    if (s->eventQueued) {
	Tcl_DeleteEvents(DeleteSockEvent, s);
    }
    if (s->sh != NULL) {
	s->sh->state = NULL;
    }
    if (s->acceptCmd != NULL) {
	Tcl_DecrRefCount(s->acceptCmd);
    }
    if (s->in != NULL) {
	TkuvFree(s->in);
    }
    TkuvFree(s);
}

static int
DeleteSockEvent(
    Tcl_Event *evPtr,
    ClientData clientData)
{
    return evPtr->proc == SockEventProc
	    && ((SockEvent *) evPtr)->s == clientData;
}

static void
ThreadExit(
    ClientData clientData)
{
    (void) clientData;
    Tcl_DeleteEventSource(SetupProc, CheckProc, NULL);
}

/*
 *----------------------------------------------------------------------
 *
 * HandleCmd, HandleClosed --
 *
 *	The handle's command ($h channel) and its closeProc: the libuv side
 *	is going away (channel closed, interp deleted, thread exit), so the
 *	state forgets it.
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
    SockHandle *sh = clientData;
    int index;

    if (TkuvGetSubcommand(interp, objc, objv, subcommands, "channel|close",
	    &index) != TCL_OK) {
	return TCL_ERROR;
    }
    if (objc != 2) {
	return TkuvWrongNumArgs(interp, 2, objv, "");
    }
    if (index == H_CLOSE) {
	TkuvHandleClose(&sh->h);
	return TCL_OK;
    }
    if (sh->state != NULL && sh->state->chan != NULL) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj(
		Tcl_GetChannelName(sh->state->chan), -1));
    }
    return TCL_OK;
}

static void
HandleClosed(
    TkuvHandle *h)
{
    SockHandle *sh = (SockHandle *) h;

    if (sh->state != NULL) {
	sh->state->sh = NULL;
	sh->state->reading = 0;
	sh->state = NULL;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * RunOnce --
 *
 *	Blocking channel operations: one blocking pass of the loop (see the
 *	file comment for why this is safe outside a tick).
 *
 * Results:
 *	0 when the loop cannot be run here (inside a tick, or teardown).
 *
 *----------------------------------------------------------------------
 */

static int
RunOnce(
    TkuvBridge *bridge)
{
    if (bridge->inTick || bridge->finalizing) {
	return 0;
    }
    bridge->inTick = 1;
    uv_run(&bridge->loop, UV_RUN_ONCE);
    bridge->inTick = 0;
    TkuvBridgeKick(bridge);
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * Reading: libuv reads straight into the state's buffer, up to
 * SOCK_READ_LIMIT bytes; SockInput hands them to Tcl and resumes reading.
 *
 *----------------------------------------------------------------------
 */

static void
StartReading(
    SockState *s)
{
    if (s->sh == NULL || s->reading || s->eof || s->readClosed
	    || !s->connected || s->inLen >= SOCK_READ_LIMIT) {
	return;
    }
    if (uv_read_start((uv_stream_t *) &s->sh->uv, OnAlloc, OnRead) == 0) {
	s->reading = 1;
	TkuvBridgeKick(s->bridge);
    }
}

static void
OnAlloc(
    uv_handle_t *handle,
    size_t suggested,
    uv_buf_t *buf)
{
    SockState *s = ((SockHandle *) handle->data)->state;

    (void) suggested;
    buf->base = NULL;
    buf->len = 0;
    if (s == NULL) {
	return;
    }
    if (s->inStart > 0) {
	memmove(s->in, s->in + s->inStart, s->inLen);
	s->inStart = 0;
    }
    if (s->inCap - s->inLen < SOCK_READ_CHUNK) {
	s->inCap = s->inLen + SOCK_READ_CHUNK;
	s->in = s->in ? realloc(s->in, s->inCap) : TkuvAlloc(s->inCap);
	if (s->in == NULL) {
	    Tcl_Panic("tkuv: out of memory");
	}
    }
    buf->base = s->in + s->inLen;
    buf->len = s->inCap - s->inLen;
}

static void
OnRead(
    uv_stream_t *stream,
    ssize_t nread,
    const uv_buf_t *buf)
{
    SockState *s = ((SockHandle *) stream->data)->state;

    (void) buf;
    if (s == NULL || nread == 0) {
	return;
    }
    if (nread > 0) {
	s->inLen += (size_t) nread;
	if (s->inLen >= SOCK_READ_LIMIT) {
	    uv_read_stop(stream);	/* Backpressure. */
	    s->reading = 0;
	}
	return;
    }
    if (nread != UV_EOF) {
	s->error = (int) nread;
	s->reportError = (int) nread;
    }
    s->eof = 1;
    uv_read_stop(stream);
    s->reading = 0;
}

/*
 *----------------------------------------------------------------------
 *
 * SockInput --
 *
 *	Buffered bytes, else EOF (0), an error, EAGAIN (non-blocking) or a
 *	blocking wait on the loop.
 *
 *----------------------------------------------------------------------
 */

static int
SockInput(
    ClientData instanceData,
    char *buf,
    int toRead,
    int *errorCodePtr)
{
    SockState *s = instanceData;

    *errorCodePtr = 0;
    for (;;) {
	if (s->inLen > 0) {
	    size_t n = s->inLen < (size_t) toRead ? s->inLen : (size_t) toRead;

	    memcpy(buf, s->in + s->inStart, n);
	    s->inStart += n;
	    s->inLen -= n;
	    if (s->inLen == 0) {
		s->inStart = 0;
	    }
	    StartReading(s);
	    return (int) n;
	}
	if (s->connectFailed || s->error) {
	    *errorCodePtr = ErrnoOf(s->error);
	    return -1;
	}
	if (s->eof || s->readClosed || s->sh == NULL) {
	    return 0;
	}
	StartReading(s);
	if (!s->blocking) {
	    *errorCodePtr = EAGAIN;
	    return -1;
	}
	if (!RunOnce(s->bridge)) {
	    *errorCodePtr = EWOULDBLOCK;
	    return -1;
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * SockOutput --
 *
 *	Copies the bytes into libuv's write queue (after trying to send them
 *	at once). Non-blocking: EAGAIN while connecting or above
 *	SOCK_WRITE_LIMIT queued. Blocking: waits until they are sent.
 *
 *----------------------------------------------------------------------
 */

static int
SockOutput(
    ClientData instanceData,
    const char *buf,
    int toWrite,
    int *errorCodePtr)
{
    SockState *s = instanceData;
    uv_buf_t ub;
    WriteReq *w;
    int sent = 0, err;

    *errorCodePtr = 0;
    while (s->sh != NULL && (s->connecting
	    || s->writeQueued >= SOCK_WRITE_LIMIT)) {
	if (!s->blocking) {
	    *errorCodePtr = EAGAIN;
	    return -1;
	}
	if (!RunOnce(s->bridge)) {
	    *errorCodePtr = EWOULDBLOCK;
	    return -1;
	}
    }
    if (s->connectFailed) {
	*errorCodePtr = ErrnoOf(s->error);
	return -1;
    }
    if (s->sh == NULL || s->writeClosed) {
	*errorCodePtr = EPIPE;
	return -1;
    }
    if (toWrite == 0) {
	return 0;
    }
    if (s->writeQueued == 0) {
	ub = uv_buf_init((char *) buf, (unsigned) toWrite);
	sent = uv_try_write((uv_stream_t *) &s->sh->uv, &ub, 1);
	if (sent < 0 && sent != UV_EAGAIN) {
	    s->reportError = sent;
	    *errorCodePtr = ErrnoOf(sent);
	    return -1;
	}
	if (sent < 0) {
	    sent = 0;
	}
    }
    if (sent < toWrite) {
	size_t len = (size_t) (toWrite - sent);

	w = TkuvAlloc(sizeof(WriteReq) + len);
	w->sh = s->sh;
	w->len = len;
	memcpy(w->data, buf + sent, len);
	ub = uv_buf_init(w->data, (unsigned) len);
	err = uv_write(&w->req, (uv_stream_t *) &s->sh->uv, &ub, 1, OnWrite);
	if (err != 0) {
	    TkuvFree(w);
	    s->reportError = err;
	    *errorCodePtr = ErrnoOf(err);
	    return -1;
	}
	s->writeQueued += len;
	TkuvBridgeKick(s->bridge);
	while (s->blocking && s->writeQueued > 0 && s->sh != NULL
		&& RunOnce(s->bridge)) {
	    /* Blocking flush: wait until it is sent. */
	}
    }
    return toWrite;
}

static void
OnWrite(
    uv_write_t *req,
    int status)
{
    WriteReq *w = (WriteReq *) req;
    SockHandle *sh = w->sh;
    SockState *s = sh->state;

    if (s != NULL) {
	s->writeQueued -= w->len;
	if (status < 0 && status != UV_ECANCELED) {
	    s->reportError = status;
	}
    }
    TkuvFree(w);
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
    s->connecting = 0;
    if (status < 0) {
	s->connectFailed = 1;
	s->error = status;
	s->reportError = status;
	return;
    }
    s->connected = 1;
    StartReading(s);
    if (s->shutdownPending) {
	uv_shutdown_t *sreq = TkuvAlloc(sizeof(uv_shutdown_t));

	sreq->data = sh;
	if (uv_shutdown(sreq, (uv_stream_t *) &sh->uv, OnShutdown) != 0) {
	    TkuvFree(sreq);
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Server side: OnConnection only notes the pending connection; the
 * channel's event accepts it and runs the accept command.
 *
 *----------------------------------------------------------------------
 */

static void
OnConnection(
    uv_stream_t *server,
    int status)
{
    SockState *s = ((SockHandle *) server->data)->state;

    if (s == NULL) {
	return;
    }
    if (status < 0) {
	s->reportError = status;
	return;
    }
    s->pendingAccept = 1;
}

static void
DoAccept(
    SockState *s)
{
    Tcl_Interp *interp = s->interp;
    SockState *c;
    Tcl_Obj *cmd;
    struct sockaddr_storage ss;
    int len = sizeof(ss), code;
    char name[64];
    char host[64];
    int port = 0;

    s->pendingAccept = 0;
    if (Tcl_InterpDeleted(interp)) {
	return;
    }
    c = NewState(s->bridge);
    if (NewHandle(interp, s->bridge, c) != TCL_OK) {
	FreeState(c);
	return;
    }
    if (uv_accept((uv_stream_t *) &s->sh->uv, (uv_stream_t *) &c->sh->uv)
	    != 0) {
	TkuvHandleClose(&c->sh->h);
	FreeState(c);
	return;
    }
    TkuvBridgeKick(s->bridge);	/* libuv watches the listener again. */
    c->connected = 1;
    StartReading(c);

    host[0] = '\0';
    if (uv_tcp_getpeername(&c->sh->uv, (struct sockaddr *) &ss, &len) == 0) {
	port = TkuvSockaddrName((struct sockaddr *) &ss, host, sizeof(host));
    }
    snprintf(name, sizeof(name), "tkuvsock%p", (void *) c);
    c->blocking = 1;
    c->chan = Tcl_CreateChannel(&sockChannelType, name, c,
	    TCL_READABLE | TCL_WRITABLE);
    Tcl_SetChannelOption(NULL, c->chan, "-translation", "auto crlf");
    Tcl_RegisterChannel(interp, c->chan);

    cmd = Tcl_DuplicateObj(s->acceptCmd);
    Tcl_IncrRefCount(cmd);
    Tcl_ListObjAppendElement(NULL, cmd, Tcl_NewStringObj(name, -1));
    Tcl_ListObjAppendElement(NULL, cmd, Tcl_NewStringObj(host, -1));
    Tcl_ListObjAppendElement(NULL, cmd, Tcl_NewIntObj(port));
    Tcl_Preserve(interp);
    code = Tcl_EvalObjEx(interp, cmd, TCL_EVAL_GLOBAL);
    if (code != TCL_OK) {
	Tcl_BackgroundException(interp, code);
	Tcl_UnregisterChannel(interp, c->chan);	/* As Tcl does. */
    }
    Tcl_ResetResult(interp);
    Tcl_Release(interp);
    Tcl_DecrRefCount(cmd);
}

/*
 *----------------------------------------------------------------------
 *
 * Notification: the event source queues one SockEvent per ready channel
 * that asked (watchProc); the event calls Tcl_NotifyChannel.
 *
 *----------------------------------------------------------------------
 */

static int
ReadyMask(
    SockState *s)
{
    int mask = 0;

    if (s->isServer) {
	return (s->pendingAccept && s->sh != NULL) ? TCL_READABLE : 0;
    }
    if (s->inLen > 0 || s->eof || s->error || s->connectFailed
	    || s->sh == NULL) {
	mask |= TCL_READABLE;
    }
    if ((s->connected && s->writeQueued < SOCK_WRITE_LIMIT)
	    || s->connectFailed || s->sh == NULL) {
	mask |= TCL_WRITABLE;
    }
    return mask;
}

static int
Wanted(
    SockState *s)
{
    if (s->isServer) {
	return ReadyMask(s);
    }
    return ReadyMask(s) & s->interest;
}

static void
SetupProc(
    ClientData clientData,
    int flags)
{
    ThreadData *tsd = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));
    SockState *s;
    Tcl_Time zero = {0, 0};

    (void) clientData;
    if (!(flags & TCL_FILE_EVENTS)) {
	return;
    }
    for (s = tsd->states; s != NULL; s = s->next) {
	if (s->chan != NULL && !s->eventQueued && Wanted(s)) {
	    Tcl_SetMaxBlockTime(&zero);
	    return;
	}
    }
}

static void
CheckProc(
    ClientData clientData,
    int flags)
{
    ThreadData *tsd = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));
    SockState *s;

    (void) clientData;
    if (!(flags & TCL_FILE_EVENTS)) {
	return;
    }
    for (s = tsd->states; s != NULL; s = s->next) {
	if (s->chan != NULL && !s->eventQueued && Wanted(s)) {
	    SockEvent *ev = (SockEvent *) ckalloc(sizeof(SockEvent));

	    ev->header.proc = SockEventProc;
	    ev->s = s;
	    s->eventQueued = 1;
	    Tcl_QueueEvent(&ev->header, TCL_QUEUE_TAIL);
	}
    }
}

static int
SockEventProc(
    Tcl_Event *evPtr,
    int flags)
{
    SockState *s = ((SockEvent *) evPtr)->s;
    int mask;

    if (!(flags & TCL_FILE_EVENTS)) {
	return 0;
    }
    s->eventQueued = 0;
    if (s->isServer) {
	if (ReadyMask(s)) {
	    DoAccept(s);
	}
	return 1;
    }
    mask = ReadyMask(s) & s->interest;
    if (mask != 0) {
	/* May close the channel and free s. */
	Tcl_NotifyChannel(s->chan, mask);
    }
    return 1;
}

static void
SockWatch(
    ClientData instanceData,
    int mask)
{
    SockState *s = instanceData;

    s->interest = mask;
    if (mask & TCL_READABLE) {
	StartReading(s);
    }
}

static int
SockGetHandle(
    ClientData instanceData,
    int direction,
    ClientData *handlePtr)
{
    (void) instanceData;
    (void) direction;
    (void) handlePtr;
    return TCL_ERROR;	/* No fd for Tcl's notifier: that is the point. */
}

static int
SockBlockMode(
    ClientData instanceData,
    int mode)
{
    SockState *s = instanceData;

    s->blocking = (mode == TCL_MODE_BLOCKING);
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * SockClose2 --
 *
 *	close (flags 0): close the libuv side, after pending writes have
 *	been sent; close $ch write: uv_shutdown; close $ch read: stop
 *	reading.
 *
 *----------------------------------------------------------------------
 */

static int
SockClose2(
    ClientData instanceData,
    Tcl_Interp *interp,
    int flags)
{
    SockState *s = instanceData;
    SockHandle *sh = s->sh;
    uv_shutdown_t *req;
    int err = 0;

    (void) interp;
    if (flags & TCL_CLOSE_READ) {
	s->readClosed = 1;
	if (sh != NULL && s->reading) {
	    uv_read_stop((uv_stream_t *) &sh->uv);
	    s->reading = 0;
	}
	s->inLen = 0;
	return 0;
    }
    if (flags & TCL_CLOSE_WRITE) {
	if (sh == NULL || s->writeClosed) {
	    return 0;
	}
	s->writeClosed = 1;
	if (s->connecting) {
	    s->shutdownPending = 1;	/* OnConnect shuts down. */
	    return 0;
	}
	req = TkuvAlloc(sizeof(uv_shutdown_t));
	req->data = sh;
	err = uv_shutdown(req, (uv_stream_t *) &sh->uv, OnShutdown);
	if (err != 0) {
	    TkuvFree(req);
	    return ErrnoOf(err);
	}
	TkuvBridgeKick(s->bridge);
	return 0;
    }

    if (sh != NULL) {
	if (s->writeQueued > 0 && !s->writeClosed && !s->isServer) {
	    /* Let libuv send what is queued, then close. */
	    req = TkuvAlloc(sizeof(uv_shutdown_t));
	    req->data = sh;
	    if (uv_shutdown(req, (uv_stream_t *) &sh->uv, OnShutdownThenClose)
		    == 0) {
		sh->closeWhenDrained = 1;
		s->sh = NULL;
		sh->state = NULL;
		if (s->reading) {
		    uv_read_stop((uv_stream_t *) &sh->uv);
		}
		TkuvBridgeKick(s->bridge);
		FreeState(s);
		return 0;
	    }
	    TkuvFree(req);
	}
	TkuvHandleClose(&sh->h);
    }
    if (s->reportError != 0 && s->error == 0 && err == 0) {
	err = 0;
    }
    FreeState(s);
    return err;
}

static void
OnShutdown(
    uv_shutdown_t *req,
    int status)
{
    SockHandle *sh = req->data;

    if (sh->state != NULL && status < 0 && status != UV_ECANCELED) {
	sh->state->reportError = status;
    }
    TkuvFree(req);
}

static void
OnShutdownThenClose(
    uv_shutdown_t *req,
    int status)
{
    SockHandle *sh = req->data;

    (void) status;
    TkuvFree(req);
    if (!sh->h.closed) {
	TkuvHandleClose(&sh->h);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * SockGetOption --
 *
 *	-error, -peername, -sockname (as {address host port}; host is the
 *	address too: no reverse lookup on the GUI thread).
 *
 *----------------------------------------------------------------------
 */

static int
SockGetOption(
    ClientData instanceData,
    Tcl_Interp *interp,
    const char *optionName,
    Tcl_DString *dsPtr)
{
    SockState *s = instanceData;
    struct sockaddr_storage ss;
    int len, all = (optionName == NULL), err;
    const char *msg;

    if (all || strcmp(optionName, "-error") == 0) {
	if (all) {
	    Tcl_DStringAppendElement(dsPtr, "-error");
	}
	msg = s->reportError ? uv_strerror(s->reportError) : "";
	s->reportError = 0;
	if (!all) {
	    Tcl_DStringAppend(dsPtr, msg, -1);
	    return TCL_OK;
	}
	Tcl_DStringAppendElement(dsPtr, msg);
    }
    if (!s->isServer && (all || strcmp(optionName, "-peername") == 0)) {
	len = sizeof(ss);
	err = (s->sh == NULL) ? UV_ENOTCONN : uv_tcp_getpeername(&s->sh->uv,
		(struct sockaddr *) &ss, &len);
	if (err == 0) {
	    if (all) {
		Tcl_DStringAppendElement(dsPtr, "-peername");
		Tcl_DStringStartSublist(dsPtr);
	    }
	    AppendAddress(dsPtr, (struct sockaddr *) &ss);
	    if (all) {
		Tcl_DStringEndSublist(dsPtr);
	    } else {
		return TCL_OK;
	    }
	} else if (!all) {
	    if (interp != NULL) {
		Tcl_SetObjResult(interp, Tcl_ObjPrintf(
			"can't get peername: %s", uv_strerror(err)));
		Tcl_SetErrorCode(interp, "TKUV", uv_err_name(err),
			uv_strerror(err), NULL);
	    }
	    return TCL_ERROR;
	}
    }
    if (all || strcmp(optionName, "-sockname") == 0) {
	len = sizeof(ss);
	err = (s->sh == NULL) ? UV_EBADF : uv_tcp_getsockname(&s->sh->uv,
		(struct sockaddr *) &ss, &len);
	if (err == 0) {
	    if (all) {
		Tcl_DStringAppendElement(dsPtr, "-sockname");
		Tcl_DStringStartSublist(dsPtr);
	    }
	    AppendAddress(dsPtr, (struct sockaddr *) &ss);
	    if (all) {
		Tcl_DStringEndSublist(dsPtr);
	    }
	    return TCL_OK;
	} else if (!all) {
	    if (interp != NULL) {
		Tcl_SetObjResult(interp, Tcl_ObjPrintf(
			"can't get sockname: %s", uv_strerror(err)));
		Tcl_SetErrorCode(interp, "TKUV", uv_err_name(err),
			uv_strerror(err), NULL);
	    }
	    return TCL_ERROR;
	}
	return TCL_OK;
    }
    return Tcl_BadChannelOption(interp, optionName,
	    s->isServer ? "error sockname" : "error peername sockname");
}

static void
AppendAddress(
    Tcl_DString *dsPtr,
    const struct sockaddr *sa)
{
    char name[64], port[16];
    int p = TkuvSockaddrName(sa, name, sizeof(name));

    snprintf(port, sizeof(port), "%d", p);
    Tcl_DStringAppendElement(dsPtr, name);
    Tcl_DStringAppendElement(dsPtr, name);
    Tcl_DStringAppendElement(dsPtr, port);
}

/*
 *----------------------------------------------------------------------
 *
 * ErrnoOf --
 *
 *	A libuv error as an errno value for Tcl's channel layer.
 *
 *----------------------------------------------------------------------
 */

static int
ErrnoOf(
    int uvErr)
{
    if (uvErr == 0) {
	return EIO;
    }
#ifndef _WIN32
    return -uvErr;			/* libuv errors are -errno on Unix. */
#else
    switch (uvErr) {
    case UV_EPIPE: return EPIPE;
    case UV_EAGAIN: return EAGAIN;
    default: return EIO;
    }
#endif
}
