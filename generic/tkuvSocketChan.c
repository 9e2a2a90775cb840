/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvSocketChan.c --
 *
 *	The Tcl channel driver behind tkuv::socket, the notifier that drives
 *	its fileevents from the tkuv bridge instead of Tcl's select(), and
 *	moving a channel from one thread's loop to another's.
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
 *	blocking flush) run the loop with TkuvBridgeRunOnce.
 *
 *	A channel's phase and flags (tkuvSocketInt.h) change only here, each
 *	transition in a function named for it.
 *
 *	libuv handles belong to one loop, and so to one thread. When the
 *	Thread package moves a channel (thread::transfer, detach/attach), Tcl
 *	calls the threadActionProc: on REMOVE the socket leaves libuv as a
 *	plain descriptor, taking the bytes libuv had not sent yet, and nothing
 *	of the old thread (events, candidates, lists, the companion command)
 *	keeps pointing at the channel; on INSERT the new thread's loop adopts
 *	the descriptor. Received bytes stay in the state's buffer throughout.
 *	Thread end (and exit) orphans every channel the same way before the
 *	loop goes, so that Tcl's final flush and close can still write.
 */

#include "tkuvSocketInt.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOCK_KEEP_BUFFER 4096	/* An emptied input buffer up to this size
				 * is kept for the next read. */

struct SockThread {
    SockState *states;		/* Every homed state of this thread. */
    SockState *cands;		/* States whose readiness may have changed. */
    SockHandle *handles;	/* Every open libuv handle of this thread. */
    Tcl_Interp **interps;	/* Interps that loaded tkuv here: where a
				 * server moved to this thread accepts. */
    int numInterps;
    int sourceCreated;
};

typedef struct SockEvent {
    Tcl_Event header;
    SockState *s;
} SockEvent;

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
static void	SockThreadAction(ClientData instanceData, int action);

/*
 * "tcp", as Tcl's own: the channel layer gives only that type name CRLF
 * output under -translation auto, so scripts see the same bytes.
 */

static const Tcl_ChannelType sockChannelType = {
    "tcp",
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
    SockThreadAction,
    NULL			/* truncateProc */
};

static SockThread *GetThreadPart(void);
static SockThread *GetThread(void);
static void	Home(SockState *s, TkuvBridge *bridge);
static void	Unhome(SockState *s, int moving);
static void	Rehome(SockState *s);
static void	SetupProc(ClientData clientData, int flags);
static void	CheckProc(ClientData clientData, int flags);
static int	SockEventProc(Tcl_Event *evPtr, int flags);
static int	DeleteSockEvent(Tcl_Event *evPtr, ClientData clientData);
static void	InterpGone(ClientData clientData, Tcl_Interp *interp);
static void	DropCandidate(SockState *s);
static void	Unlist(SockState *s);
static Tcl_FreeProc FreeStateMemory;
static void	MarkCandidate(SockState *s);
static void	QueueSockEvent(SockState *s);
static int	Wanted(SockState *s);
static TkuvConnectProc ConnectDone;
static void	StartReading(SockState *s);
static void	StopReading(SockState *s);
static int	ReadNow(SockState *s);
static void	Reclaim(SockState *s);
static void	OnAlloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void	OnRead(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static int	QueueWrite(SockState *s, const char *buf, size_t len);
static TkuvWriteDoneProc OnWrite;
static void	OnShutdown(uv_shutdown_t *req, int status);
static void	OnShutdownThenClose(uv_shutdown_t *req, int status);
static int	Shutdown(SockHandle *sh, uv_shutdown_cb cb);
static void	OnHandleClosed(uv_handle_t *handle);
static int	AddressOption(Tcl_Interp *interp, SockState *s,
		    const char *which, Tcl_DString *dsPtr);
#if TKUVP_FD_SOCKETS
static int	TakeSocket(SockHandle *sh, char **outPtr, size_t *lenPtr);
static int	WriteFd(int fd, const char *buf, size_t len);
#endif

/*
 *----------------------------------------------------------------------
 *
 * Unlist --
 *
 *	Takes a state off its thread's lists (states, candidates) and drops
 *	its queued event: before it is freed or moves to another thread.
 *
 *----------------------------------------------------------------------
 */

static void
Unlist(
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
    s->prev = s->next = NULL;
    if (SOCK_HAS(s, SOCK_EVENT_QUEUED)) {
	Tcl_DeleteEvents(DeleteSockEvent, s);
	s->flags &= ~SOCK_EVENT_QUEUED;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvSockNewState, TkuvSockFreeState --
 *
 *	A driver state homed on the calling thread, and its release once the
 *	channel is closed or was never made (its companion and libuv handle
 *	are closed too).
 *
 *----------------------------------------------------------------------
 */

SockState *
TkuvSockNewState(
    TkuvBridge *bridge,
    Tcl_Interp *interp,
    SockPhase phase,
    int flags)
{
    SockState *s = TkuvAlloc(sizeof(SockState));

    memset(s, 0, sizeof(SockState));
    s->phase = phase;
    s->flags = flags;
    s->interp = interp;
    s->fd = -1;
    Home(s, bridge);
    return s;
}

void
TkuvSockFreeState(
    SockState *s)
{
    if (s->tsd != NULL) {
	Unlist(s);
	s->tsd = NULL;
    }
    TkuvSocketForget(s);
    if (s->connect != NULL) {
	TkuvConnectFree(s->connect);
	s->connect = NULL;
    }
    if (s->companion != NULL) {
	SockCompanion *c = s->companion;

	c->state = NULL;
	s->companion = NULL;
	TkuvHandleClose(&c->h);
    }
    if (s->sh != NULL) {
	TkuvSockCloseHandle(s->sh);
    }
    if (s->acceptCmd != NULL) {
	Tcl_DecrRefCount(s->acceptCmd);
    }
#if TKUVP_FD_SOCKETS
    if (s->fd >= 0) {
	close(s->fd);
    }
    while (s->numAcceptFds > 0) {
	close(s->acceptFds[--s->numAcceptFds]);
    }
#endif
    TkuvFree(s->acceptFds);
    TkuvFree(s->acceptText);
    TkuvFree(s->out);
    TkuvFree(s->in);
    s->in = s->out = s->acceptText = NULL;
    s->acceptFds = NULL;
    Tcl_EventuallyFree(s, FreeStateMemory);	/* SockEventProc may hold it. */
}

static void
FreeStateMemory(
    TkuvFreeBlock *blockPtr)
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

/*
 *----------------------------------------------------------------------
 *
 * GetThreadPart, GetThread, Home --
 *
 *	The calling thread's socket data, its part of the thread's record
 *	(made on first use; its event source too, by GetThread), and
 *	linking a state into it. The bridge's teardown ends it all
 *	(TkuvSockThreadExit).
 *
 *----------------------------------------------------------------------
 */

static SockThread *
GetThreadPart(void)
{
    TkuvThread *thr = TkuvThreadGet();

    if (thr->sock == NULL) {
	thr->sock = TkuvAlloc(sizeof(SockThread));
	memset(thr->sock, 0, sizeof(SockThread));
    }
    return thr->sock;
}

static SockThread *
GetThread(void)
{
    SockThread *tsd = GetThreadPart();

    if (!tsd->sourceCreated) {
	tsd->sourceCreated = 1;
	Tcl_CreateEventSource(SetupProc, CheckProc, tsd);
    }
    return tsd;
}

static void
Home(
    SockState *s,
    TkuvBridge *bridge)
{
    SockThread *tsd = GetThread();

    s->bridge = bridge;
    s->tsd = tsd;
    s->prev = NULL;
    s->next = tsd->states;
    if (tsd->states != NULL) {
	tsd->states->prev = s;
    }
    tsd->states = s;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvSocketInterpAdd, InterpGone, TkuvSockAcceptInterp --
 *
 *	The interps of each thread that loaded tkuv. A server created in an
 *	interp accepts there; once moved to another thread it accepts in the
 *	interp of that thread whose channel table now holds it, if tkuv is
 *	loaded there.
 *
 *----------------------------------------------------------------------
 */

void
TkuvSocketInterpAdd(
    Tcl_Interp *interp)
{
    SockThread *tsd = GetThreadPart();
    int i;

    for (i = 0; i < tsd->numInterps; i++) {
	if (tsd->interps[i] == interp) {
	    return;
	}
    }
    tsd->interps = realloc(tsd->interps,
	    (tsd->numInterps + 1) * sizeof(Tcl_Interp *));
    if (tsd->interps == NULL) {
	Tcl_Panic("tkuv: out of memory");
    }
    tsd->interps[tsd->numInterps++] = interp;
    Tcl_CallWhenDeleted(interp, InterpGone, tsd);
}

static void
InterpGone(
    ClientData clientData,
    Tcl_Interp *interp)
{
    SockThread *tsd = clientData;
    SockState *s;
    int i;

    for (i = 0; i < tsd->numInterps; i++) {
	if (tsd->interps[i] == interp) {
	    tsd->interps[i] = tsd->interps[--tsd->numInterps];
	    break;
	}
    }

    /*
     * A server whose channel outlives its interp (shared or transferred to
     * another interp, which keeps it open) has no interp for its accept
     * command any more: like Tcl's, it closes new connections from now on.
     * Nothing of the deleted interp may run, in it or in another.
     */
    for (s = tsd->states; s != NULL; s = s->next) {
	if (s->interp == interp) {
	    s->interp = NULL;
	    s->flags |= SOCK_ACCEPT_ORPHANED;
	}
    }
    if (tsd->numInterps == 0) {
	free(tsd->interps);
	tsd->interps = NULL;
    }
}

Tcl_Interp *
TkuvSockAcceptInterp(
    SockState *s)
{
    const char *name;
    int i;

    if (s->interp != NULL || SOCK_HAS(s, SOCK_ACCEPT_ORPHANED) || s->tsd == NULL
	    || s->chan == NULL) {
	return s->interp;
    }
    name = Tcl_GetChannelName(s->chan);
    for (i = 0; i < s->tsd->numInterps; i++) {
	Tcl_Interp *interp = s->tsd->interps[i];
	Tcl_InterpState saved;
	Tcl_Channel found;

	if (Tcl_InterpDeleted(interp)) {
	    continue;
	}
	saved = Tcl_SaveInterpState(interp, TCL_OK);
	found = Tcl_GetChannel(interp, name, NULL);
	Tcl_RestoreInterpState(interp, saved);
	if (found == s->chan) {
	    s->interp = interp;
	    break;
	}
    }
    return s->interp;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvSockNewHandle, TkuvSockAttachNewHandle, TkuvSockCloseHandle --
 *
 *	A libuv TCP handle on the bridge's loop (not attached to a state:
 *	accepted connections wait so), a fresh one attached to a state, and
 *	closing one: it forgets its state at once, writes still queued are
 *	cancelled, and the memory goes when libuv's close callback has run.
 *
 *----------------------------------------------------------------------
 */

SockHandle *
TkuvSockNewHandle(
    TkuvBridge *bridge,
    SockThread *tsd,
    int *errPtr)
{
    SockHandle *sh = TkuvAlloc(sizeof(SockHandle));

    memset(sh, 0, sizeof(SockHandle));
    *errPtr = uv_tcp_init(&bridge->loop, &sh->uv);
    if (*errPtr != 0) {
	TkuvFree(sh);
	return NULL;
    }
    sh->uv.data = sh;
    sh->bridge = bridge;
    TkuvWriteQueueInit(&sh->queue, (uv_stream_t *) &sh->uv, bridge, OnWrite,
	    sh);
    sh->tsd = tsd;
    sh->next = tsd->handles;
    if (tsd->handles != NULL) {
	tsd->handles->prev = sh;
    }
    tsd->handles = sh;
    return sh;
}

int
TkuvSockAttachNewHandle(
    SockState *s)
{
    int err;
    SockHandle *sh = TkuvSockNewHandle(s->bridge, s->tsd, &err);

    if (sh != NULL) {
	sh->state = s;
	s->sh = sh;
    }
    return err;
}

void
TkuvSockCloseHandle(
    SockHandle *sh)
{
    if (sh->state != NULL) {
	sh->state->sh = NULL;
	sh->state = NULL;
    }
    if (!sh->closing) {
	sh->closing = 1;
	uv_close((uv_handle_t *) &sh->uv, OnHandleClosed);
	TkuvBridgeKick(sh->bridge);	/* The close callback needs a tick. */
    }
}

static void
OnHandleClosed(
    uv_handle_t *handle)
{
    SockHandle *sh = handle->data;

    if (sh->prev != NULL) {
	sh->prev->next = sh->next;
    } else {
	sh->tsd->handles = sh->next;
    }
    if (sh->next != NULL) {
	sh->next->prev = sh->prev;
    }
    TkuvFree(sh);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvSockDisconnect --
 *
 *	The companion handle was closed by the script: the connection ends
 *	here (queued writes are dropped), a connect in progress fails, a
 *	server drops the connections nobody was told about. The channel then
 *	reads EOF and writes EPIPE.
 *
 *----------------------------------------------------------------------
 */

void
TkuvSockDisconnect(
    SockState *s)
{
    if (s->sh != NULL) {
	TkuvSockCloseHandle(s->sh);
    }
    TkuvSocketForget(s);
    s->flags &= ~SOCK_READING;
    s->writeQueued = 0;
    TkuvSockConnectFailed(s, UV_ECONNABORTED);
    if (s->tsd != NULL) {
	TkuvSockChanged(s);
    }
}

/*
 * TkuvSockConnectFailed --
 *	A connect under way failed (no address left, or it was cut short):
 *	reads and writes now fail, -error tells why.
 */

void
TkuvSockConnectFailed(
    SockState *s,
    int err)
{
    if (s->phase != SOCK_CONNECTING) {
	return;
    }
    if (s->connect != NULL) {
	TkuvConnectFree(s->connect);
	s->connect = NULL;
    }
    s->phase = SOCK_FAILED;
    s->error = s->reportError = err;
    TkuvSockChanged(s);
}

/*
 *----------------------------------------------------------------------
 *
 * SockThreadAction --
 *
 *	Tcl cut the channel out of this thread (REMOVE: thread::transfer,
 *	thread::detach) or spliced it into this one (INSERT).
 *
 *----------------------------------------------------------------------
 */

static void
SockThreadAction(
    ClientData instanceData,
    int action)
{
    SockState *s = instanceData;

    if (action == TCL_CHANNEL_THREAD_REMOVE) {
	Reclaim(s);
	Unhome(s, 1);
    } else if (s->tsd == NULL && !SOCK_HAS(s, SOCK_ORPHANED)) {
	Rehome(s);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Unhome --
 *
 *	Takes a homed state off its thread: the socket leaves libuv as a
 *	descriptor with the bytes libuv has not sent, a listener's waiting
 *	connections likewise; a name lookup in flight is abandoned (the new
 *	thread makes it again); the companion command goes; no event,
 *	candidate or list entry of this thread refers to the state any more.
 *	`moving`: 0 at thread end, where waiting connections are closed.
 *
 *----------------------------------------------------------------------
 */

static void
Unhome(
    SockState *s,
    int moving)
{
    SockThread *tsd = s->tsd;
    SockHandle *c;

    if (tsd == NULL) {
	return;
    }
    if (s->connect != NULL) {
	TkuvConnectSuspend(s->connect);
    }
    if (s->companion != NULL) {
	SockCompanion *comp = s->companion;

	comp->state = NULL;
	s->companion = NULL;
	TkuvHandleClose(&comp->h);
    }
#if TKUVP_FD_SOCKETS
    if (s->sh != NULL && s->fd < 0) {
	s->fd = TakeSocket(s->sh, &s->out, &s->outLen);
    }
    while ((c = s->acceptFirst) != NULL) {
	int fd = moving ? TakeSocket(c, NULL, NULL) : -1;

	s->acceptFirst = c->nextAccepted;
	if (fd >= 0) {
	    s->acceptFds = realloc(s->acceptFds,
		    (s->numAcceptFds + 1) * sizeof(int));
	    if (s->acceptFds == NULL) {
		Tcl_Panic("tkuv: out of memory");
	    }
	    s->acceptFds[s->numAcceptFds++] = fd;
	}
	TkuvSockCloseHandle(c);
    }
    s->acceptLast = NULL;
#else
    /* No portable way to hand a SOCKET to another loop: it disconnects. */
    (void) c;
    (void) moving;
    TkuvSockDisconnect(s);
#endif
    if (s->sh != NULL) {
	TkuvSockCloseHandle(s->sh);
    }
    s->flags &= ~SOCK_READING;
    s->writeQueued = 0;

    Unlist(s);
    if (s->acceptCmd != NULL) {
	/* Tcl_Objs belong to a thread: the command travels as text. */
	const char *text = Tcl_GetString(s->acceptCmd);

	s->acceptText = TkuvAlloc(strlen(text) + 1);
	strcpy(s->acceptText, text);
	Tcl_DecrRefCount(s->acceptCmd);
	s->acceptCmd = NULL;
    }
    s->tsd = NULL;
    s->bridge = NULL;
    s->interp = NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * Rehome --
 *
 *	Homes a moved state on the calling thread: a new uv_tcp_t on this
 *	thread's loop adopts the descriptor; a listener listens again and
 *	its waiting connections are queued again; a connect under way is
 *	watched until it finishes (or the name lookup is made again); bytes
 *	not sent before the move are queued first. When this thread's loop
 *	has already ended the state stays orphaned (synchronous I/O).
 *
 *----------------------------------------------------------------------
 */

static void
Rehome(
    SockState *s)
{
    TkuvBridge *bridge;
    int err = 0, i;

    if (TkuvBridgeGet(NULL, &bridge) != TCL_OK) {
	s->flags |= SOCK_ORPHANED;
	return;
    }
    Home(s, bridge);
    if (s->acceptText != NULL) {
	s->acceptCmd = Tcl_NewStringObj(s->acceptText, -1);
	Tcl_IncrRefCount(s->acceptCmd);
	TkuvFree(s->acceptText);
	s->acceptText = NULL;
    }
    if (s->fd < 0 && (s->phase != SOCK_CONNECTING)) {
	TkuvSockChanged(s);	/* Closed meanwhile, or never connected. */
	return;
    }
    err = TkuvSockAttachNewHandle(s);
#if TKUVP_FD_SOCKETS
    if (err == 0 && s->fd >= 0) {
	err = uv_tcp_open(&s->sh->uv, s->fd);
	if (err == 0) {
	    s->fd = -1;		/* libuv closes it now. */
	}
    }
#endif
    if (err != 0) {
	TkuvSockConnectFailed(s, err);
	s->error = s->reportError = err;
	s->flags |= SOCK_EOF;
    } else if (s->phase == SOCK_LISTENING) {
	err = TkuvSocketListen(s);
	if (err != 0) {
	    s->reportError = err;
	}
#if TKUVP_FD_SOCKETS
	for (i = 0; i < s->numAcceptFds; i++) {
	    SockHandle *c = TkuvSockNewHandle(bridge, s->tsd, &err);

	    if (c == NULL || uv_tcp_open(&c->uv, s->acceptFds[i]) != 0) {
		close(s->acceptFds[i]);
		if (c != NULL) {
		    TkuvSockCloseHandle(c);
		}
		continue;
	    }
	    if (s->acceptLast != NULL) {
		s->acceptLast->nextAccepted = c;
	    } else {
		s->acceptFirst = c;
	    }
	    s->acceptLast = c;
	}
#endif
	s->numAcceptFds = 0;
    } else if (s->phase == SOCK_CONNECTING) {
	if ((err = TkuvConnectStart(s->connect, bridge, 0)) != 0) {
	    TkuvSockConnectFailed(s, err);
	}
    } else if (s->phase == SOCK_CONNECTED) {
	if (s->interest & TCL_READABLE) {
	    StartReading(s);
	}
	if (s->outLen > 0) {
	    if (QueueWrite(s, s->out, s->outLen) != 0) {
		s->reportError = UV_EPIPE;
	    }
	}
	if (SOCK_HAS(s, SOCK_WRITE_CLOSED)) {
	    Shutdown(s->sh, OnShutdown);
	}
    }
    TkuvFree(s->out);
    s->out = NULL;
    s->outLen = 0;
    TkuvBridgeKick(bridge);
    TkuvSockChanged(s);
}

#if TKUVP_FD_SOCKETS
/*
 *----------------------------------------------------------------------
 *
 * TakeSocket --
 *
 *	A duplicate of the handle's socket, to outlive the handle, and
 *	(when outPtr is given) the bytes libuv has not sent yet appended to
 *	*outPtr (TkuvWriteQueueUnsent).
 *
 * Results:
 *	The descriptor, or -1 (no socket yet).
 *
 *----------------------------------------------------------------------
 */

static int
TakeSocket(
    SockHandle *sh,
    char **outPtr,
    size_t *lenPtr)
{
    uv_os_fd_t fd;
    int copy;

    if (uv_fileno((uv_handle_t *) &sh->uv, &fd) != 0) {
	return -1;
    }
    copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);	/* Never 0-2 (tkuvBridge.c:
						 * ReserveStdFds). */
    if (outPtr != NULL && copy >= 0) {
	TkuvWriteQueueUnsent(&sh->queue, outPtr, lenPtr);
    }
    return copy;
}
#endif

/*
 *----------------------------------------------------------------------
 *
 * TkuvSockThreadExit --
 *
 *	The thread (or process) is ending: a step of the bridge's teardown
 *	(tkuvBridge.c: ThreadTeardown), while the loop is whole and before
 *	Tcl's last flush and close of the thread's channels. Every channel
 *	is orphaned: its socket leaves libuv with the bytes not sent yet, so
 *	that Tcl's flush and close write them synchronously (WriteFd).
 *	Connections already closed whose queued bytes were still being sent
 *	in the background are finished the same way here. The part stays
 *	until the loop is closed (its handles' close callbacks use it); the
 *	bridge frees it then.
 *
 *----------------------------------------------------------------------
 */

void
TkuvSockThreadExit(
    SockThread *tsd)
{
    SockHandle *sh, *next;
    int i;

    while (tsd->states != NULL) {
	SockState *s = tsd->states;

	Unhome(s, 0);
	s->flags |= SOCK_ORPHANED;
	if (s->chan != NULL && Tcl_Write(s->chan, "", 0) == 0) {
	    /*
	     * Tcl's last flush of a non-blocking channel (TIP 398) leaves
	     * its partly filled buffer unwritten while buffers are queued
	     * (a background flush under way): that tail would be lost, and
	     * a channel its deleted interp left to that flush never closed.
	     * In blocking mode the last flush writes it all (WriteFd bounds
	     * the wait). Not for a channel the script closed, on which the
	     * empty write fails: the mode switch would cancel the
	     * background flush that is to close it.
	     */
	    Tcl_SetChannelOption(NULL, s->chan, "-blocking", "1");
	}
    }
    for (sh = tsd->handles; sh != NULL; sh = next) {
	next = sh->next;
	if (sh->closing) {
	    continue;
	}
#if TKUVP_FD_SOCKETS
	if (sh->queue.first != NULL) {
	    char *out = NULL;
	    size_t len = 0;
	    int fd = TakeSocket(sh, &out, &len);

	    if (fd >= 0) {
		WriteFd(fd, out, len);
		close(fd);
	    }
	    TkuvFree(out);
	}
#endif
	TkuvSockCloseHandle(sh);
    }
    if (tsd->sourceCreated) {
	Tcl_DeleteEventSource(SetupProc, CheckProc, tsd);
    }
    for (i = 0; i < tsd->numInterps; i++) {
	Tcl_DontCallWhenDeleted(tsd->interps[i], InterpGone, tsd);
    }
    free(tsd->interps);
    tsd->interps = NULL;
    tsd->numInterps = 0;
}

#if TKUVP_FD_SOCKETS
/*
 *----------------------------------------------------------------------
 *
 * WriteFd --
 *
 *	Writes everything to a (non-blocking) socket outside libuv, waiting
 *	for room with poll(). Gives up when no peer has taken anything for
 *	SOCK_FLUSH_IDLE_MS, so peers that stopped reading cannot hold the end
 *	of a thread or process for ever. The bound is shared: Tcl flushes
 *	the channels one after another, so writes that follow each other
 *	(less than SOCK_FLUSH_GAP_MS apart) count against one deadline, and
 *	a hundred stalled peers cost ten seconds, not a hundred times that.
 *	Bytes a peer takes after a wait (it is reading) move the deadline
 *	on; what the kernel takes at once into a socket's buffer does not.
 *
 * Results:
 *	0, or an errno value (ETIMEDOUT when it gave up).
 *
 *----------------------------------------------------------------------
 */

#define SOCK_FLUSH_GAP_MS 1000

static long long flushDeadline = 0;	/* ms; 0 before the first flush. */
static long long flushLastEnd = 0;	/* ms; when the last flush returned. */

static long long
NowMs(void)
{
    Tcl_Time now;

    Tcl_GetTime(&now);
    return (long long) now.sec * 1000 + now.usec / 1000;
}

static int
WriteFd(
    int fd,
    const char *buf,
    size_t len)
{
    struct pollfd pfd;
    long long deadline, nowMs = NowMs();
    ssize_t n;
    int flags = 0, err = 0, waited = 0;

#ifdef MSG_NOSIGNAL
    flags = MSG_NOSIGNAL;	/* A gone peer is an error, not SIGPIPE. */
#endif
    if (nowMs - __atomic_load_n(&flushLastEnd, __ATOMIC_RELAXED)
	    > SOCK_FLUSH_GAP_MS) {
	__atomic_store_n(&flushDeadline, nowMs + SOCK_FLUSH_IDLE_MS,
		__ATOMIC_RELAXED);
    }
    while (len > 0) {
	n = send(fd, buf, len, flags);
	if (n > 0) {
	    buf += n;
	    len -= (size_t) n;
	    if (waited) {
		/* The peer took bytes while we waited: it is reading. */
		__atomic_store_n(&flushDeadline, NowMs() + SOCK_FLUSH_IDLE_MS,
			__ATOMIC_RELAXED);
	    }
	    continue;
	}
	if (n < 0 && errno == EINTR) {
	    continue;
	}
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
	    err = errno;
	    break;
	}
	nowMs = NowMs();
	deadline = __atomic_load_n(&flushDeadline, __ATOMIC_RELAXED);
	if (nowMs >= deadline) {
	    err = ETIMEDOUT;
	    break;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	pfd.revents = 0;
	if (poll(&pfd, 1, (int) (deadline - nowMs)) < 0 && errno != EINTR) {
	    err = errno;
	    break;
	}
	waited = 1;
    }
    __atomic_store_n(&flushLastEnd, NowMs(), __ATOMIC_RELAXED);
    return err;
}
#endif /* TKUVP_FD_SOCKETS */

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

    /* Named as Tcl names its sockets; the address keeps names apart. */
    snprintf(name, sizeof(name), "sock%lx", (unsigned long) (size_t) s);
    s->chan = Tcl_CreateChannel(&sockChannelType, name, s,
	    (s->phase == SOCK_LISTENING) ? 0 : (TCL_READABLE | TCL_WRITABLE));
    if (s->phase != SOCK_LISTENING) {
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
    if (s->tsd == NULL) {
	return;
    }
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

    if (SOCK_HAS(s, SOCK_CANDIDATE) || tsd == NULL) {
	return;
    }
    s->flags |= SOCK_CANDIDATE;
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
    if (!SOCK_HAS(s, SOCK_CANDIDATE)) {
	return;
    }
    s->flags &= ~SOCK_CANDIDATE;
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
    s->phase = SOCK_CONNECTED;
    if (s->interest & TCL_READABLE) {
	StartReading(s);
    }
    if (SOCK_HAS(s, SOCK_WRITE_CLOSED)) {
	Shutdown(s->sh, OnShutdown);
    }
    TkuvSockChanged(s);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvSockStartConnect, ConnectDone --
 *
 *	A client's connect to each address of host in turn (tkuvConnect.c);
 *	-async looks a name up on the threadpool, a blocking connect and
 *	install's socket here. Returns 0, or the error when every address
 *	failed at once. The connected socket is adopted by the state's
 *	handle.
 *
 *----------------------------------------------------------------------
 */

int
TkuvSockStartConnect(
    SockState *s,
    const char *host,
    int port,
    const struct sockaddr_storage *locals,
    int numLocals)
{
    s->connect = TkuvConnectNew(host, port, AF_UNSPEC, locals, numLocals,
	    ConnectDone, s);
    return TkuvConnectStart(s->connect, s->bridge,
	    !SOCK_HAS(s, SOCK_ASYNC) || SOCK_HAS(s, SOCK_COMPAT));
}

static void
ConnectDone(
    void *clientData,
    int status,
    uv_os_sock_t sock)
{
    SockState *s = clientData;

    TkuvConnectFree(s->connect);
    s->connect = NULL;
    if (status == 0) {
	status = (s->sh != NULL) ? TkuvConnectAdopt(&s->sh->uv, sock)
		: UV_ECONNABORTED;
    }
    if (status != 0) {
	TkuvSockConnectFailed(s, status);
    } else {
	TkuvSockConnected(s);
    }
}

/*
 * TkuvSockListening, TkuvSockAcceptFailed --
 *	A server listens (flags: SOCK_DUAL_STACK or 0); accepting a
 *	connection failed (-error tells).
 */

void
TkuvSockListening(
    SockState *s,
    int flags)
{
    s->flags |= flags & SOCK_DUAL_STACK;
}

void
TkuvSockAcceptFailed(
    SockState *s,
    int err)
{
    s->reportError = err;
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

    if (s->phase == SOCK_LISTENING) {
	return (s->acceptFirst != NULL && s->sh != NULL) ? TCL_READABLE : 0;
    }
    if (s->inLen > 0 || SOCK_HAS(s, SOCK_EOF) || s->error
	    || s->phase == SOCK_FAILED || s->sh == NULL) {
	mask |= TCL_READABLE;
    }
    if ((s->phase == SOCK_CONNECTED && s->writeQueued < SOCK_WRITE_LIMIT)
	    || s->phase == SOCK_FAILED || s->sh == NULL) {
	mask |= TCL_WRITABLE;
    }
    return mask;
}

static int
Wanted(
    SockState *s)
{
    if (s->chan == NULL || SOCK_HAS(s, SOCK_EVENT_QUEUED)) {
	return 0;
    }
    if (s->phase == SOCK_LISTENING) {
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
    s->flags |= SOCK_EVENT_QUEUED;
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
    s->flags &= ~SOCK_EVENT_QUEUED;
    MarkCandidate(s);		/* Level-triggered: look again next pass. */
    if (s->phase == SOCK_LISTENING) {
	/*
	 * One connection per event, as Tcl's: a vwait set by the accept
	 * command returns after that accept.
	 */
	if (ReadyMask(s)) {
	    TkuvSocketAccept(s);	/* May close the server. */
	}
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
	Reclaim(s);
	StartReading(s);
    }
    MarkCandidate(s);
}

/*
 *----------------------------------------------------------------------
 *
 * SockGetHandle, Reclaim --
 *
 *	The socket's descriptor, for Tcl to hand to a child process (exec
 *	and open | with <@, >@, 2>@; Tcl's notifier never asks: SockWatch
 *	is ours). The child must get the bytes that arrive and find the
 *	descriptor as Tcl's socket leaves it, so until the script next reads
 *	from the channel, writes to it, sets a readable fileevent or closes
 *	it (Reclaim), libuv stops reading from it, and for a blocking
 *	channel with nothing queued the descriptor is in blocking mode
 *	(libuv keeps its sockets non-blocking, which children do not expect).
 *
 *----------------------------------------------------------------------
 */

static int
SockGetHandle(
    ClientData instanceData,
    int direction,
    ClientData *handlePtr)
{
    SockState *s = instanceData;
#if TKUVP_FD_SOCKETS
    uv_os_fd_t fd = -1;

    (void) direction;
    if (s->sh != NULL) {
	uv_fileno((uv_handle_t *) &s->sh->uv, &fd);
    } else if (s->tsd == NULL) {
	fd = s->fd;
    }
    if (fd < 0) {
	return TCL_ERROR;
    }
    if (s->sh != NULL && !SOCK_HAS(s, SOCK_LENT)) {
	s->flags |= SOCK_LENT;
	StopReading(s);
	if (!SOCK_HAS(s, SOCK_NONBLOCKING) && s->writeQueued == 0
		&& s->phase != SOCK_CONNECTING) {
	    int flags = fcntl(fd, F_GETFL);

	    if (flags >= 0 && (flags & O_NONBLOCK)
		    && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0) {
		s->flags |= SOCK_LENT_BLOCKING;
	    }
	}
    }
    *handlePtr = (ClientData) (size_t) fd;
    return TCL_OK;
#else
    (void) s;
    (void) direction;
    (void) handlePtr;
    return TCL_ERROR;
#endif
}

static void
Reclaim(
    SockState *s)
{
#if TKUVP_FD_SOCKETS
    uv_os_fd_t fd;

    if (!SOCK_HAS(s, SOCK_LENT)) {
	return;
    }
    s->flags &= ~SOCK_LENT;
    if (SOCK_HAS(s, SOCK_LENT_BLOCKING) && s->sh != NULL
	    && uv_fileno((uv_handle_t *) &s->sh->uv, &fd) == 0) {
	int flags = fcntl(fd, F_GETFL);

	if (flags >= 0) {
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	}
    }
    s->flags &= ~SOCK_LENT_BLOCKING;
    if (s->interest & TCL_READABLE) {
	StartReading(s);
    }
#else
    (void) s;
#endif
}

static int
SockBlockMode(
    ClientData instanceData,
    int mode)
{
    SockState *s = instanceData;

    if (mode == TCL_MODE_BLOCKING) {
	s->flags &= ~SOCK_NONBLOCKING;
    } else {
	s->flags |= SOCK_NONBLOCKING;
    }
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
    if (s->sh == NULL || s->phase != SOCK_CONNECTED
	    || (s->flags & (SOCK_READING | SOCK_EOF | SOCK_READ_CLOSED
		| SOCK_LENT)) || s->inLen >= SOCK_READ_LIMIT) {
	return;
    }
    if (uv_read_start((uv_stream_t *) &s->sh->uv, OnAlloc, OnRead) == 0) {
	s->flags |= SOCK_READING;
	TkuvBridgeKick(s->bridge);
    }
}

/*
 * StopReading --
 *	libuv leaves a descriptor it stops reading in its epoll set until its
 *	next poll; BridgeTick makes sure that poll happens (tkuvBridge.c).
 */

static void
StopReading(
    SockState *s)
{
    if (!SOCK_HAS(s, SOCK_READING) || s->sh == NULL) {
	return;
    }
    uv_read_stop((uv_stream_t *) &s->sh->uv);
    s->flags &= ~SOCK_READING;
    TkuvBridgeKick(s->bridge);
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
#if TKUVP_SYNC_READS
    if (s != NULL && s->inLen > 0) {
	Room(s, TKUV_READ_BUFFER_SIZE);
	buf->base = s->in + s->inStart + s->inLen;
	buf->len = TKUV_READ_BUFFER_SIZE;
	return;
    }
    /* Unix reads are synchronous: alloc, fill, OnRead, one at a time. */
    buf->base = TkuvReadBuffer();
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
	    StopReading(s);		/* Backpressure. */
	}
	TkuvSockChanged(s);
    } else if (s != NULL && nread < 0) {
	if (nread != UV_EOF) {
	    s->error = (int) nread;
	    s->reportError = (int) nread;
	}
	s->flags |= SOCK_EOF;
	s->flags &= ~SOCK_READING;			/* libuv has stopped reading. */
	TkuvSockChanged(s);
    }
#if !TKUVP_SYNC_READS
    TkuvFree(buf->base);
#endif
}

/*
 *----------------------------------------------------------------------
 *
 * ReadNow --
 *
 *	The channel's buffer is empty and the script reads: ask the socket
 *	directly, as Tcl's own socket does, rather than wait for the loop to
 *	run, so that a script polling a non-blocking channel without an
 *	event loop sees what has arrived. A read as large as libuv's, through
 *	the same path (OnAlloc, OnRead), so bulk transfers cost no more.
 *	Elsewhere than on Unix, a pass of the loop that does not wait.
 *
 * Results:
 *	1 when something came (bytes, end of file, an error), else 0.
 *
 *----------------------------------------------------------------------
 */

static int
ReadNow(
    SockState *s)
{
#if TKUVP_FD_SOCKETS
    uv_buf_t buf;
    uv_os_fd_t fd;
    ssize_t n;

    if (s->sh == NULL || (s->phase != SOCK_CONNECTED)
	    || uv_fileno((uv_handle_t *) &s->sh->uv, &fd) != 0) {
	return 0;
    }
    OnAlloc((uv_handle_t *) &s->sh->uv, TKUV_READ_BUFFER_SIZE, &buf);
    do {
	n = recv(fd, buf.base, buf.len, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
	return 0;
    }
    OnRead((uv_stream_t *) &s->sh->uv, n > 0 ? n : n == 0 ? UV_EOF
	    : -errno, &buf);
    return 1;
#else
    return TkuvBridgeRunOnce(s->bridge, 0)
	    && (s->inLen > 0 || SOCK_HAS(s, SOCK_EOF) || s->error);
#endif
}

/*
 *----------------------------------------------------------------------
 *
 * SockInput --
 *
 *	Buffered bytes, else what the socket has now, else EOF (0), an
 *	error, EAGAIN (non-blocking) or a blocking wait on the loop. As with
 *	Tcl's socket, a connection reset by the peer reads as end of file
 *	(-error tells), and after a failed -async connect reads fail with
 *	ENOTCONN (-error tells why).
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
    Reclaim(s);
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
	if (s->phase == SOCK_FAILED) {
	    *errorCodePtr = ENOTCONN;
	    return -1;
	}
	if (s->error && s->error != UV_ECONNRESET) {
	    *errorCodePtr = TkuvSockErrno(s->error);
	    return -1;
	}
	if ((s->flags & (SOCK_EOF | SOCK_READ_CLOSED)) || s->sh == NULL
		|| s->tsd == NULL) {
	    return 0;
	}
	if (ReadNow(s)) {
	    continue;
	}
	StartReading(s);
	if (SOCK_HAS(s, SOCK_NONBLOCKING)) {
	    if (s->phase == SOCK_CONNECTING && TkuvBridgeRunOnce(s->bridge, 0)
		    && (s->phase != SOCK_CONNECTING)) {
		continue;		/* The connect has just finished. */
	    }
	    *errorCodePtr = EAGAIN;
	    return -1;
	}
	if (!TkuvBridgeRunOnce(s->bridge, 1)) {
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
    int sent = 0, err;

    *errorCodePtr = 0;
    Reclaim(s);
    if (s->tsd == NULL) {
	/* Orphaned at thread end: Tcl's last flush writes directly. */
	err = EPIPE;
#if TKUVP_FD_SOCKETS
	if (s->fd >= 0 && !SOCK_HAS(s, SOCK_WRITE_CLOSED)) {
	    err = WriteFd(s->fd, s->out, s->outLen);
	    TkuvFree(s->out);
	    s->out = NULL;
	    s->outLen = 0;
	    if (err == 0) {
		err = WriteFd(s->fd, buf, (size_t) toWrite);
	    }
	}
#endif
	if (err != 0) {
	    *errorCodePtr = err;
	    return -1;
	}
	return toWrite;
    }
    if (s->phase == SOCK_CONNECTING && SOCK_HAS(s, SOCK_NONBLOCKING)) {
	TkuvBridgeRunOnce(s->bridge, 0);	/* Finished meanwhile? */
    }
    while (s->sh != NULL && (s->phase == SOCK_CONNECTING
	    || s->writeQueued >= SOCK_WRITE_LIMIT)) {
	if (SOCK_HAS(s, SOCK_NONBLOCKING)) {
	    *errorCodePtr = EAGAIN;
	    return -1;
	}
	if (!TkuvBridgeRunOnce(s->bridge, 1)) {
	    *errorCodePtr = EWOULDBLOCK;
	    return -1;
	}
    }
    if (s->phase == SOCK_FAILED) {
	*errorCodePtr = ENOTCONN;
	return -1;
    }
    if (s->sh == NULL || SOCK_HAS(s, SOCK_WRITE_CLOSED)) {
	*errorCodePtr = EPIPE;
	return -1;
    }
    if (s->writeError != 0) {
	/*
	 * Bytes queued earlier were not sent (the peer reset): say so now,
	 * or a copy or a flush would end as if everything had gone out.
	 */
	*errorCodePtr = TkuvSockErrno(s->writeError);
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
	err = QueueWrite(s, buf + sent, (size_t) (toWrite - sent));
	if (err != 0) {
	    s->reportError = err;
	    *errorCodePtr = TkuvSockErrno(err);
	    return -1;
	}
	while (!SOCK_HAS(s, SOCK_NONBLOCKING) && s->writeQueued > 0 && s->sh != NULL
		&& TkuvBridgeRunOnce(s->bridge, 1)) {
	    /* Blocking flush: wait until it is sent. */
	}
	if (!SOCK_HAS(s, SOCK_NONBLOCKING) && s->writeError != 0) {
	    *errorCodePtr = TkuvSockErrno(s->writeError);
	    return -1;
	}
    }
    return toWrite;
}

/*
 * QueueWrite, OnWrite --
 *	A copy of the bytes goes to the handle's write queue (tkuvStream.c),
 *	which keeps the bytes libuv has not sent where TakeSocket can take
 *	them back. Returns 0 or a libuv error. A handle whose channel is
 *	gone closes once its last write is done, when so asked.
 */

static int
QueueWrite(
    SockState *s,
    const char *buf,
    size_t len)
{
    int err = TkuvWriteQueueWrite(&s->sh->queue, buf, len);

    if (err == 0) {
	s->writeQueued += len;
    }
    return err;
}

static void
OnWrite(
    TkuvWriteQueue *q,
    size_t length,
    int status)
{
    SockHandle *sh = q->clientData;
    SockState *s = sh->state;

    if (s != NULL) {
	s->writeQueued -= length;
	if (status < 0 && status != UV_ECANCELED) {
	    s->reportError = status;
	    if (s->writeError == 0) {
		s->writeError = status;
	    }
	}
	TkuvSockChanged(s);
    } else if (sh->closeWhenSent && q->first == NULL) {
	TkuvSockCloseHandle(sh);
    }
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
    SockHandle *sh;
    int err = 0;

    (void) interp;
    Reclaim(s);
    sh = s->sh;
    if (flags & TCL_CLOSE_READ) {
	s->flags |= SOCK_READ_CLOSED;
	StopReading(s);
	s->inLen = 0;
	return 0;
    }
#if TKUVP_FD_SOCKETS
    if (s->tsd == NULL && s->fd >= 0) {
	/* Orphaned: send what is left and close, synchronously. */
	if (!SOCK_HAS(s, SOCK_WRITE_CLOSED)) {
	    err = WriteFd(s->fd, s->out, s->outLen);
	    TkuvFree(s->out);
	    s->out = NULL;
	    s->outLen = 0;
	}
	if (flags & TCL_CLOSE_WRITE) {
	    s->flags |= SOCK_WRITE_CLOSED;
	    shutdown(s->fd, SHUT_WR);
	    return err;
	}
	TkuvSockFreeState(s);		/* Closes the descriptor. */
	return 0;
    }
#endif
    if (flags & TCL_CLOSE_WRITE) {
	if (sh == NULL || SOCK_HAS(s, SOCK_WRITE_CLOSED)) {
	    return 0;
	}
	s->flags |= SOCK_WRITE_CLOSED;
	if (s->phase == SOCK_CONNECTING) {
	    return 0;			/* TkuvSockConnected shuts down. */
	}
	err = Shutdown(sh, OnShutdown);
	return err ? TkuvSockErrno(err) : 0;
    }

    if (sh != NULL && s->writeQueued > 0 && (SOCK_HAS(s, SOCK_WRITE_CLOSED)
	    || Shutdown(sh, OnShutdownThenClose) == 0)) {
	/*
	 * libuv sends what is queued in the background, then the handle
	 * closes (after the shutdown, or once sent when the script already
	 * shut down); thread end sends the rest synchronously.
	 */
	if (SOCK_HAS(s, SOCK_READING)) {
	    uv_read_stop((uv_stream_t *) &sh->uv);
	}
	sh->closeWhenSent = SOCK_HAS(s, SOCK_WRITE_CLOSED);
	sh->state = NULL;
	s->sh = NULL;
    }
    TkuvSockFreeState(s);
    return 0;
}

static int
Shutdown(
    SockHandle *sh,
    uv_shutdown_cb cb)
{
    return TkuvShutdown((uv_stream_t *) &sh->uv, sh->bridge, cb, sh);
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
    TkuvSockCloseHandle(sh);
}

/*
 *----------------------------------------------------------------------
 *
 * SockGetOption --
 *
 *	As Tcl's socket: -error, -connecting, -peername, -sockname (names
 *	may be abbreviated), and for all options only -peername (clients)
 *	and -sockname. Addresses are {address host port}, host being the
 *	address too: no reverse lookup on the GUI thread. A dual-stack
 *	server gives both wildcards, as Tcl's does for its two listeners.
 *	An -async connect under way is first given the chance to finish, as
 *	Tcl's checks the socket, so a script polling -error or -connecting
 *	without an event loop sees the outcome.
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
    size_t len = optionName ? strlen(optionName) : 0;

#define IS_OPTION(name) \
    (len > 1 && strncmp(optionName, (name), len) == 0)

    if (s->phase == SOCK_CONNECTING) {
	TkuvBridgeRunOnce(s->bridge, 0);
    }
    if (len == 0) {
	if (s->phase == SOCK_CONNECTING) {
	    Tcl_DStringAppendElement(dsPtr, "-peername");
	    Tcl_DStringAppendElement(dsPtr, "");
	    Tcl_DStringAppendElement(dsPtr, "-sockname");
	    Tcl_DStringAppendElement(dsPtr, "");
	    return TCL_OK;
	}
	if (s->phase != SOCK_LISTENING) {
	    AddressOption(NULL, s, "-peername", dsPtr);
	}
	AddressOption(NULL, s, "-sockname", dsPtr);
	return TCL_OK;
    }
    if (IS_OPTION("-error")) {
	/* Nothing while connecting; reading it clears it. */
	if (s->phase != SOCK_CONNECTING && s->reportError) {
	    Tcl_DStringAppend(dsPtr, uv_strerror(s->reportError), -1);
	    s->reportError = 0;
	}
	return TCL_OK;
    }
    if (IS_OPTION("-connecting")) {
	Tcl_DStringAppend(dsPtr, s->phase == SOCK_CONNECTING ? "1" : "0", 1);
	return TCL_OK;
    }
    if (IS_OPTION("-peername") || IS_OPTION("-sockname")) {
	if (s->phase == SOCK_CONNECTING) {
	    return TCL_OK;
	}
	return AddressOption(interp, s, optionName[1] == 'p' ? "-peername"
		: "-sockname", dsPtr);
    }
#undef IS_OPTION
    return Tcl_BadChannelOption(interp, optionName,
	    "connecting peername sockname");
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
	Tcl_SetErrno(TkuvSockErrno(err));
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("can't get %s: %s", which + 1,
		Tcl_PosixError(interp)));
	return TCL_ERROR;
    }
    if (interp == NULL) {
	Tcl_DStringAppendElement(dsPtr, which);
	Tcl_DStringStartSublist(dsPtr);
    }
    snprintf(port, sizeof(port), "%d",
	    TkuvSockaddrName((struct sockaddr *) &ss, name, sizeof(name)));
    for (i = 0; i < (SOCK_HAS(s, SOCK_DUAL_STACK) ? 2 : 1); i++) {
	const char *addr = (SOCK_HAS(s, SOCK_DUAL_STACK) && i == 0) ? "0.0.0.0" : name;

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
    return TkuvpErrno(uvErr);
}
