/*
 * tkuvSocketChan.c --
 *
 *	The Tcl channel driver behind tkuv::socket, and the notifier that
 *	drives its fileevents from the tkuv bridge instead of Tcl's select().
 *
 *	libuv callbacks only update a channel's state (received bytes are
 *	copied into a per-channel buffer sized to what is waiting) and mark it
 *	a candidate. A per-thread Tcl event source looks only at candidates
 *	after each event-loop pass and queues one event per ready channel that
 *	asked for it; the event calls Tcl_NotifyChannel, so fileevent scripts
 *	run as ordinary Tcl events. Ten thousand idle channels cost nothing per
 *	pass; a channel stays a candidate while it stays ready and wanted
 *	(fileevents are level-triggered, as Tcl's are).
 *
 *	Blocking operations (blocking connect, gets on an empty buffer, a
 *	blocking flush) run the loop with TkuvSocketRunOnce.
 */

#include "tkuvSocketInt.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOCK_ACCEPT_BATCH 32	/* Connections accepted per server event. */
#define SOCK_KEEP_BUFFER 4096	/* An emptied input buffer up to this size
				 * is kept for the next read. */

struct SockThread {
    SockState *states;		/* Every state of this thread. */
    SockState *cands;		/* States whose readiness may have changed. */
    int sourceCreated;
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

static Tcl_ThreadDataKey dataKey;

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
static void	DropCandidate(SockState *s);
static Tcl_FreeProc FreeStateMemory;
static void	MarkCandidate(SockState *s);
static void	QueueSockEvent(SockState *s);
static int	Wanted(SockState *s);
static void	StartReading(SockState *s);
static void	OnAlloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void	OnRead(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void	OnWrite(uv_write_t *req, int status);
static void	OnShutdown(uv_shutdown_t *req, int status);
static void	OnShutdownThenClose(uv_shutdown_t *req, int status);
static int	Shutdown(SockHandle *sh, uv_shutdown_cb cb);
static int	AddressOption(Tcl_Interp *interp, SockState *s,
		    const char *which, Tcl_DString *dsPtr);

/*
 *----------------------------------------------------------------------
 *
 * TkuvSockNewState, TkuvSockFreeState --
 *
 *	A driver state in the thread's list (creating the event source on
 *	first use), and its release once the channel is closed or was never
 *	made.
 *
 *----------------------------------------------------------------------
 */

SockState *
TkuvSockNewState(
    TkuvBridge *bridge,
    Tcl_Interp *interp)
{
    SockThread *tsd = Tcl_GetThreadData(&dataKey, sizeof(SockThread));
    SockState *s = TkuvAlloc(sizeof(SockState));

    memset(s, 0, sizeof(SockState));
    s->bridge = bridge;
    s->interp = interp;
    s->tsd = tsd;
    s->blocking = 1;
    if (!tsd->sourceCreated) {
	tsd->sourceCreated = 1;
	Tcl_CreateEventSource(SetupProc, CheckProc, tsd);
	Tcl_CreateThreadExitHandler(ThreadExit, tsd);
    }
    s->next = tsd->states;
    if (tsd->states != NULL) {
	tsd->states->prev = s;
    }
    tsd->states = s;
    return s;
}

void
TkuvSockFreeState(
    SockState *s)
{
    SockThread *tsd = s->tsd;

    DropCandidate(s);
    if (s->prev != NULL) {
	s->prev->next = s->next;
    } else {
	tsd->states = s->next;
    }
    if (s->next != NULL) {
	s->next->prev = s->prev;
    }
    if (s->eventQueued) {
	Tcl_DeleteEvents(DeleteSockEvent, s);
    }
    TkuvSocketForget(s);
    if (s->sh != NULL) {
	s->sh->state = NULL;
    }
    if (s->acceptCmd != NULL) {
	Tcl_DecrRefCount(s->acceptCmd);
    }
    TkuvFree(s->in);
    s->in = NULL;
    s->dead = 1;
    Tcl_EventuallyFree(s, FreeStateMemory);	/* SockEventProc may hold it. */
}

static void
FreeStateMemory(
    char *blockPtr)
{
    TkuvFree(blockPtr);
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
    Tcl_DeleteEventSource(SetupProc, CheckProc, clientData);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvSockMakeChannel --
 *
 *	The Tcl channel for a state, registered in the state's interp, in
 *	blocking mode and with -translation {auto crlf}, as Tcl's sockets.
 *	A server's channel is neither readable nor writable.
 *
 *----------------------------------------------------------------------
 */

void
TkuvSockMakeChannel(
    SockState *s)
{
    char name[64];

    snprintf(name, sizeof(name), "tkuvsock%p", (void *) s);
    s->chan = Tcl_CreateChannel(&sockChannelType, name, s,
	    s->isServer ? 0 : (TCL_READABLE | TCL_WRITABLE));
    if (!s->isServer) {
	Tcl_SetChannelOption(NULL, s->chan, "-translation", "auto crlf");
    }
    Tcl_RegisterChannel(s->interp, s->chan);
    TkuvSockChanged(s);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvSockChanged, MarkCandidate, DropCandidate --
 *
 *	libuv changed the channel's state (bytes, EOF, a finished write or
 *	connect, a new connection): if that makes it ready for what the
 *	script waits on, its event is queued at once, so it runs right after
 *	the tick without another pass through Tcl's notifier. Otherwise, and
 *	for changes made by Tcl itself (watch mask, an event just handled),
 *	it becomes a candidate that the event source looks at in the next
 *	pass: a channel that stays ready never starves other event sources.
 *
 *----------------------------------------------------------------------
 */

void
TkuvSockChanged(
    SockState *s)
{
    if (Wanted(s)) {
	DropCandidate(s);
	QueueSockEvent(s);
    } else {
	MarkCandidate(s);
    }
}

static void
MarkCandidate(
    SockState *s)
{
    SockThread *tsd = s->tsd;

    if (s->isCand) {
	return;
    }
    s->isCand = 1;
    s->prevCand = NULL;
    s->nextCand = tsd->cands;
    if (tsd->cands != NULL) {
	tsd->cands->prevCand = s;
    }
    tsd->cands = s;
}

static void
DropCandidate(
    SockState *s)
{
    if (!s->isCand) {
	return;
    }
    s->isCand = 0;
    if (s->prevCand != NULL) {
	s->prevCand->nextCand = s->nextCand;
    } else {
	s->tsd->cands = s->nextCand;
    }
    if (s->nextCand != NULL) {
	s->nextCand->prevCand = s->prevCand;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvSockConnected --
 *
 *	The connection is up (connected or accepted): start reading, and
 *	send a half-close the script asked for while connecting.
 *
 *----------------------------------------------------------------------
 */

void
TkuvSockConnected(
    SockState *s)
{
    s->connecting = 0;
    s->connected = 1;
    StartReading(s);
    if (s->shutdownPending) {
	Shutdown(s->sh, OnShutdown);
    }
    TkuvSockChanged(s);
}

/*
 *----------------------------------------------------------------------
 *
 * The notifier: one SockEvent per ready channel that asked for it.
 *
 *----------------------------------------------------------------------
 */

static int
ReadyMask(
    SockState *s)
{
    int mask = 0;

    if (s->isServer) {
	return (s->acceptFirst != NULL && s->sh != NULL) ? TCL_READABLE : 0;
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
    if (s->chan == NULL || s->eventQueued) {
	return 0;
    }
    if (s->isServer) {
	return ReadyMask(s);	/* Accepting needs no fileevent. */
    }
    return ReadyMask(s) & s->interest;
}

static void
SetupProc(
    ClientData clientData,
    int flags)
{
    SockThread *tsd = clientData;
    SockState *s;
    Tcl_Time zero = {0, 0};

    if (!(flags & TCL_FILE_EVENTS)) {
	return;
    }
    for (s = tsd->cands; s != NULL; s = s->nextCand) {
	if (Wanted(s)) {
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
    SockThread *tsd = clientData;
    SockState *s, *next;

    if (!(flags & TCL_FILE_EVENTS)) {
	return;
    }
    for (s = tsd->cands; s != NULL; s = next) {
	next = s->nextCand;
	if (Wanted(s)) {
	    QueueSockEvent(s);
	}
	/* The event puts it back; a change puts back an unready one. */
	DropCandidate(s);
    }
}

static void
QueueSockEvent(
    SockState *s)
{
    SockEvent *ev = (SockEvent *) ckalloc(sizeof(SockEvent));

    ev->header.proc = SockEventProc;
    ev->s = s;
    s->eventQueued = 1;
    Tcl_QueueEvent(&ev->header, TCL_QUEUE_TAIL);
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
    MarkCandidate(s);		/* Level-triggered: look again next pass. */
    if (s->isServer) {
	/* A burst of connections: several per event, fewer passes. */
	int n;

	Tcl_Preserve(s);
	for (n = 0; n < SOCK_ACCEPT_BATCH && !s->dead && ReadyMask(s); n++) {
	    TkuvSocketAccept(s);	/* May close the server. */
	}
	Tcl_Release(s);
	return 1;
    }
    mask = ReadyMask(s) & s->interest;
    if (mask != 0) {
	Tcl_NotifyChannel(s->chan, mask);	/* May free s. */
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
    MarkCandidate(s);
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
 * Reading. The channel's own buffer holds at most about SOCK_READ_LIMIT
 * bytes: above it reading stops until SockInput has taken some. While it
 * is empty, libuv reads into the thread's shared buffer and OnRead copies
 * what came (an idle connection then holds no buffer at all); while bytes
 * are waiting, as in a bulk transfer, libuv reads straight into the free
 * end of the channel's buffer.
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

/*
 * Room --
 *	Makes n free bytes at the end of the buffer: slides the waiting bytes
 *	to the front when the consumed space there is at least as large as
 *	they are (so each byte moves at most once on average), else grows.
 */

static void
Room(
    SockState *s,
    size_t n)
{
    size_t cap;

    if (s->inCap - s->inStart - s->inLen >= n) {
	return;
    }
    if (s->inStart > 0 && s->inStart >= s->inLen
	    && s->inCap - s->inLen >= n) {
	memmove(s->in, s->in + s->inStart, s->inLen);
	s->inStart = 0;
	return;
    }
    cap = s->inCap * 2;
    if (cap < s->inStart + s->inLen + n) {
	cap = s->inStart + s->inLen + n;
    }
    if (cap < 512) {
	cap = 512;
    }
    s->in = realloc(s->in, cap);
    if (s->in == NULL) {
	Tcl_Panic("tkuv: out of memory");
    }
    s->inCap = cap;
}

static void
OnAlloc(
    uv_handle_t *handle,
    size_t suggested,
    uv_buf_t *buf)
{
    SockState *s = ((SockHandle *) handle->data)->state;

    (void) suggested;
#ifndef _WIN32
    if (s != NULL && s->inLen > 0) {
	Room(s, TKUV_READ_BUFFER_SIZE);
	buf->base = s->in + s->inStart + s->inLen;
	buf->len = TKUV_READ_BUFFER_SIZE;
	return;
    }
    /* Unix reads are synchronous: alloc, fill, OnRead, one at a time. */
    {
	TkuvBridge *bridge = ((SockHandle *) handle->data)->h.bridge;

	if (bridge->readBuffer == NULL) {
	    bridge->readBuffer = TkuvAlloc(TKUV_READ_BUFFER_SIZE);
	}
	buf->base = bridge->readBuffer;
    }
#else
    /* Windows may hold a buffer across a pending read: one per read. */
    (void) s;
    buf->base = TkuvAlloc(TKUV_READ_BUFFER_SIZE);
#endif
    buf->len = TKUV_READ_BUFFER_SIZE;
}

static void
OnRead(
    uv_stream_t *stream,
    ssize_t nread,
    const uv_buf_t *buf)
{
    SockState *s = ((SockHandle *) stream->data)->state;

    if (s != NULL && nread > 0) {
	if (s->in != NULL && buf->base == s->in + s->inStart + s->inLen) {
	    s->inLen += (size_t) nread;		/* Read in place. */
	} else {
	    Room(s, (size_t) nread);
	    memcpy(s->in + s->inStart + s->inLen, buf->base, (size_t) nread);
	    s->inLen += (size_t) nread;
	}
	if (s->inLen >= SOCK_READ_LIMIT) {
	    uv_read_stop(stream);	/* Backpressure. */
	    s->reading = 0;
	}
	TkuvSockChanged(s);
    } else if (s != NULL && nread < 0) {
	if (nread != UV_EOF) {
	    s->error = (int) nread;
	    s->reportError = (int) nread;
	}
	s->eof = 1;
	uv_read_stop(stream);
	s->reading = 0;
	TkuvSockChanged(s);
    }
#ifdef _WIN32
    TkuvFree(buf->base);
#endif
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
		if (s->inCap > SOCK_KEEP_BUFFER) {
		    TkuvFree(s->in);	/* Idle channels hold little. */
		    s->in = NULL;
		    s->inCap = 0;
		}
	    }
	    StartReading(s);
	    return (int) n;
	}
	if (s->connectFailed || s->error) {
	    *errorCodePtr = TkuvSockErrno(s->error);
	    return -1;
	}
	if (s->eof || s->readClosed || s->sh == NULL) {
	    return 0;
	}
	StartReading(s);
	if (!s->blocking) {
	    /*
	     * The script wants more: a direct pass of the loop on this thread
	     * (a kick) usually finds it already arrived, which is far cheaper
	     * than waiting for the poll thread to wake this one.
	     */
	    TkuvBridgeKick(s->bridge);
	    *errorCodePtr = EAGAIN;
	    return -1;
	}
	if (!TkuvSocketRunOnce(s->bridge)) {
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
	if (!TkuvSocketRunOnce(s->bridge)) {
	    *errorCodePtr = EWOULDBLOCK;
	    return -1;
	}
    }
    if (s->connectFailed) {
	*errorCodePtr = TkuvSockErrno(s->error);
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
	    *errorCodePtr = TkuvSockErrno(sent);
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
	    *errorCodePtr = TkuvSockErrno(err);
	    return -1;
	}
	s->writeQueued += len;
	TkuvBridgeKick(s->bridge);
	while (s->blocking && s->writeQueued > 0 && s->sh != NULL
		&& TkuvSocketRunOnce(s->bridge)) {
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
    SockState *s = w->sh->state;

    if (s != NULL) {
	s->writeQueued -= w->len;
	if (status < 0 && status != UV_ECANCELED) {
	    s->reportError = status;
	}
	TkuvSockChanged(s);
    }
    TkuvFree(w);
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
    int err;

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
	    s->shutdownPending = 1;	/* TkuvSockConnected shuts down. */
	    return 0;
	}
	err = Shutdown(sh, OnShutdown);
	return err ? TkuvSockErrno(err) : 0;
    }

    if (sh != NULL) {
	if (s->writeQueued > 0 && !s->writeClosed
		&& Shutdown(sh, OnShutdownThenClose) == 0) {
	    /* libuv sends what is queued; the shutdown callback closes. */
	    if (s->reading) {
		uv_read_stop((uv_stream_t *) &sh->uv);
	    }
	} else {
	    TkuvHandleClose(&sh->h);
	}
    }
    TkuvSockFreeState(s);
    return 0;
}

static int
Shutdown(
    SockHandle *sh,
    uv_shutdown_cb cb)
{
    uv_shutdown_t *req = TkuvAlloc(sizeof(uv_shutdown_t));
    int err;

    req->data = sh;
    err = uv_shutdown(req, (uv_stream_t *) &sh->uv, cb);
    if (err != 0) {
	TkuvFree(req);
	return err;
    }
    TkuvBridgeKick(sh->h.bridge);
    return 0;
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
 *	address too: no reverse lookup on the GUI thread). A dual-stack
 *	server gives both wildcards, as Tcl's does for its two listeners.
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
    const char *msg;

    if (optionName == NULL) {
	Tcl_DStringAppendElement(dsPtr, "-error");
	Tcl_DStringAppendElement(dsPtr,
		s->reportError ? uv_strerror(s->reportError) : "");
	s->reportError = 0;
	if (!s->isServer) {
	    AddressOption(NULL, s, "-peername", dsPtr);
	}
	AddressOption(NULL, s, "-sockname", dsPtr);
	return TCL_OK;
    }
    if (strcmp(optionName, "-error") == 0) {
	msg = s->reportError ? uv_strerror(s->reportError) : "";
	s->reportError = 0;
	Tcl_DStringAppend(dsPtr, msg, -1);
	return TCL_OK;
    }
    if ((!s->isServer && strcmp(optionName, "-peername") == 0)
	    || strcmp(optionName, "-sockname") == 0) {
	return AddressOption(interp, s, optionName, dsPtr);
    }
    return Tcl_BadChannelOption(interp, optionName,
	    s->isServer ? "error sockname" : "error peername sockname");
}

/*
 * AddressOption --
 *	One address option: its value alone when interp is given (errors go
 *	there), else "-name {value}" appended to the list of all options, or
 *	nothing when the address is not known (yet).
 */

static int
AddressOption(
    Tcl_Interp *interp,
    SockState *s,
    const char *which,
    Tcl_DString *dsPtr)
{
    struct sockaddr_storage ss;
    char name[TKUV_ADDRSTRLEN], port[16];
    int len = sizeof(ss), err, i;
    int peer = (which[1] == 'p');

    if (s->sh == NULL) {
	err = peer ? UV_ENOTCONN : UV_EBADF;
    } else if (peer) {
	err = uv_tcp_getpeername(&s->sh->uv, (struct sockaddr *) &ss, &len);
    } else {
	err = uv_tcp_getsockname(&s->sh->uv, (struct sockaddr *) &ss, &len);
    }
    if (err != 0) {
	if (interp == NULL) {
	    return TCL_OK;
	}
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("can't get %s: %s", which + 1,
		uv_strerror(err)));
	Tcl_SetErrorCode(interp, "TKUV", uv_err_name(err), uv_strerror(err),
		NULL);
	return TCL_ERROR;
    }
    if (interp == NULL) {
	Tcl_DStringAppendElement(dsPtr, which);
	Tcl_DStringStartSublist(dsPtr);
    }
    snprintf(port, sizeof(port), "%d",
	    TkuvSockaddrName((struct sockaddr *) &ss, name, sizeof(name)));
    for (i = 0; i < (s->dualStack ? 2 : 1); i++) {
	const char *addr = (s->dualStack && i == 0) ? "0.0.0.0" : name;

	Tcl_DStringAppendElement(dsPtr, addr);
	Tcl_DStringAppendElement(dsPtr, addr);
	Tcl_DStringAppendElement(dsPtr, port);
    }
    if (interp == NULL) {
	Tcl_DStringEndSublist(dsPtr);
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvSockErrno --
 *
 *	A libuv error as an errno value for Tcl's channel layer.
 *
 *----------------------------------------------------------------------
 */

int
TkuvSockErrno(
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
    case UV_ECONNREFUSED: return ECONNREFUSED;
    case UV_ECONNRESET: return ECONNRESET;
    default: return EIO;
    }
#endif
}
