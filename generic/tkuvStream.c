/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvStream.c --
 *
 *	What TCP connections and process pipes share: reading with
 *	backpressure, a write queue that reports a "drain" event when it
 *	empties, writes held until a connection is made, half-close.
 *
 *	Backpressure: every data event queued but not yet run counts its bytes
 *	in `undelivered`. Above `readLimit` reading stops, and it starts again
 *	once the script has caught up to half of it, so a slow script cannot
 *	make memory grow without bound, and a script that keeps just behind
 *	does not stop and restart libuv's reading at every event.
 */

#include "tkuvInt.h"
#include <stdlib.h>
#include <string.h>

struct TkuvWriteReq {
    uv_write_t req;
    TkuvWriteQueue *queue;	/* NULL while held (before connecting). */
    TkuvWriteReq *prev, *next;	/* In the queue, or the held list. */
    size_t length;
    char data[1];		/* length bytes follow. */
};

static void	UpdateReading(TkuvStream *s);
static void	AllocProc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void	ReadProc(uv_stream_t *uv, ssize_t nread, const uv_buf_t *buf);
static void	AfterData(TkuvHandle *h, void *clientData, size_t size);
static TkuvWriteReq *NewWriteReq(const char *data, size_t length);
static int	Submit(TkuvWriteQueue *q, TkuvWriteReq *wr);
static void	WriteDone(uv_write_t *req, int status);
static TkuvWriteDoneProc StreamWriteDone;
static int	StartShutdown(TkuvStream *s);
static void	ShutdownDone(uv_shutdown_t *req, int status);
static void	QueueSimpleEvent(TkuvStream *s, const char *event);

/*
 *----------------------------------------------------------------------
 *
 * TkuvStreamInit --
 *
 *	Sets up the stream state for `uv` (already initialised by the
 *	owner). Reading is wanted by default; it starts once connected.
 *
 *----------------------------------------------------------------------
 */

void
TkuvStreamInit(
    TkuvStream *s,
    TkuvHandle *owner,
    uv_stream_t *uv,
    const char *dataEvent,
    const char *eofEvent)
{
    memset(s, 0, sizeof(TkuvStream));
    s->uv = uv;
    s->owner = owner;
    s->dataEvent = dataEvent;
    s->eofEvent = eofEvent;
    s->readLimit = TKUV_DEFAULT_READ_LIMIT;
    s->wantRead = 1;
    uv->data = s;		/* The handle layer takes it back on close. */
    TkuvWriteQueueInit(&s->queue, uv, owner->bridge, StreamWriteDone, s);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvStreamSetReading --
 *
 *	pause (0) / resume (1) as the script asked.
 *
 *----------------------------------------------------------------------
 */

void
TkuvStreamSetReading(
    TkuvStream *s,
    int wantRead)
{
    s->wantRead = wantRead;
    UpdateReading(s);
}

static void
UpdateReading(
    TkuvStream *s)
{
    size_t limit = s->reading ? s->readLimit : s->readLimit / 2;
    int should = s->wantRead && s->connected && !s->eof
	    && !s->owner->closed && s->undelivered <= limit;

    if (should && !s->reading) {
	if (uv_read_start(s->uv, AllocProc, ReadProc) == 0) {
	    s->reading = 1;
	    TkuvBridgeKick(s->owner->bridge);	/* epoll learns the fd. */
	}
    } else if (!should && s->reading) {
	uv_read_stop(s->uv);
	s->reading = 0;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Read buffers --
 *
 *	Where reads are synchronous (TKUVP_SYNC_READS: Unix), libuv reads
 *	straight into the byte array of a Tcl object, the thread's "spare".
 *	A large read (a bulk transfer) hands that object itself to the data
 *	event: no copy. A small read is copied into an object of its own
 *	size and the spare stays, so a 64-byte message does not keep 64 KiB
 *	alive.
 *
 *	Objects handed out stay on a short per-thread list; once the event
 *	has run and nobody else holds one (reference count 1, still a byte
 *	array), it becomes the spare again. Reusing the same few blocks is
 *	what keeps a bulk transfer from allocating and faulting in fresh
 *	memory for every 64 KiB (glibc gives large freed blocks back to the
 *	kernel).
 *
 *----------------------------------------------------------------------
 */

#define REUSE_SLOTS	32

typedef struct TkuvReadCache {
    Tcl_Obj *spare;		/* Holds TKUV_READ_BUFFER_SIZE bytes. */
    Tcl_Obj *given[REUSE_SLOTS]; /* Handed to data events; one ref each. */
    const Tcl_ObjType *byteArrayType;
} TkuvReadCache;

/* The thread's read buffers, made on first use. */
static TkuvReadCache *
GetCache(void)
{
    TkuvThread *thr = TkuvThreadGet();

    if (thr->readCache == NULL) {
	TkuvReadCache *c = TkuvAlloc(sizeof(TkuvReadCache));
	Tcl_Obj *probe = Tcl_NewByteArrayObj(NULL, 0);

	memset(c, 0, sizeof(TkuvReadCache));
	c->byteArrayType = probe->typePtr;
	Tcl_IncrRefCount(probe);
	Tcl_DecrRefCount(probe);
	thr->readCache = c;
    }
    return thr->readCache;
}

/* Thread teardown (tkuvBridge.c), its last step. */
void
TkuvReadCacheFree(
    TkuvReadCache *c)
{
    int i;

    for (i = 0; i < REUSE_SLOTS; i++) {
	if (c->given[i] != NULL) {
	    Tcl_DecrRefCount(c->given[i]);
	}
    }
    if (c->spare != NULL) {
	Tcl_DecrRefCount(c->spare);
    }
    TkuvFree(c);
}

/* The spare: one handed back by its event, or a new one. */
static Tcl_Obj *
GetSpare(
    TkuvReadCache *c)
{
    int i;

    if (c->spare != NULL) {
	return c->spare;
    }
    for (i = 0; i < REUSE_SLOTS; i++) {
	Tcl_Obj *o = c->given[i];

	if (o != NULL && o->refCount == 1) {
	    c->given[i] = NULL;
	    if (o->typePtr == c->byteArrayType) {
		c->spare = o;
		Tcl_SetByteArrayLength(o, TKUV_READ_BUFFER_SIZE);
		return o;
	    }
	    Tcl_DecrRefCount(o);	/* Shimmered: let it go. */
	}
    }
    c->spare = Tcl_NewByteArrayObj(NULL, 0);
    Tcl_IncrRefCount(c->spare);
    Tcl_SetByteArrayLength(c->spare, TKUV_READ_BUFFER_SIZE);
    return c->spare;
}

/*
 * The one read buffer of the thread, for streams (AllocProc), socket
 * channels and udp alike: the spare's bytes. A channel or udp copies what
 * came out of it at once; a stream's ReadProc may take the spare itself
 * (TakeData).
 */
char *
TkuvReadBuffer(void)
{
    return (char *) Tcl_GetByteArrayFromObj(GetSpare(GetCache()), NULL);
}

#if TKUVP_SYNC_READS
#define BIG_READ	(TKUV_READ_BUFFER_SIZE / 4)

/*
 * ReadProc: the object for `nread` bytes that libuv put in `base`. When
 * *dropPtr is set the caller releases one reference once the event's list
 * holds the object.
 */
static Tcl_Obj *
TakeData(
    const char *base,
    int nread,
    int *dropPtr)
{
    TkuvReadCache *c = GetCache();
    Tcl_Obj *o = c->spare;
    int i;

    *dropPtr = 0;
    if (o == NULL || nread < BIG_READ
	    || (char *) Tcl_GetByteArrayFromObj(o, NULL) != base) {
	return Tcl_NewByteArrayObj((const unsigned char *) base, nread);
    }
    c->spare = NULL;
    Tcl_SetByteArrayLength(o, nread);
    for (i = 0; i < REUSE_SLOTS; i++) {
	if (c->given[i] == NULL) {
	    c->given[i] = o;		/* The spare's reference moves here. */
	    return o;
	}
    }
    *dropPtr = 1;			/* No free slot: just hand it over. */
    return o;
}
#endif /* TKUVP_SYNC_READS */

/*
 *----------------------------------------------------------------------
 *
 * AllocProc, ReadProc, AfterData --
 *
 *	Reading. libuv fills the thread's spare byte array (or, on Windows,
 *	a buffer of its own); ReadProc turns it into a byte array object and
 *	queues the data event.
 *
 *----------------------------------------------------------------------
 */

static void
AllocProc(
    uv_handle_t *h,
    size_t suggested,
    uv_buf_t *buf)
{
#if !TKUVP_SYNC_READS
    /*
     * libuv on Windows may hold a buffer across a pending read on each of
     * several streams at once, so a shared buffer would be filled twice.
     */
    (void) h;
    (void) suggested;
    buf->base = TkuvAlloc(TKUV_READ_BUFFER_SIZE);
#else
    /* Unix reads are synchronous: alloc, fill, ReadProc, one at a time. */
    (void) h;
    (void) suggested;
    buf->base = TkuvReadBuffer();
#endif
    buf->len = TKUV_READ_BUFFER_SIZE;
}

static void
ReadProc(
    uv_stream_t *uv,
    ssize_t nread,
    const uv_buf_t *buf)
{
    TkuvStream *s = uv->data;
    TkuvHandle *owner = s->owner;
    Tcl_Obj *args;

    if (nread > 0) {
	Tcl_Obj *words[2];
	int drop = 0;

	words[0] = Tcl_NewStringObj(s->dataEvent, -1);

#if !TKUVP_SYNC_READS
	words[1] = Tcl_NewByteArrayObj((unsigned char *) buf->base, (int) nread);
#else
	words[1] = TakeData(buf->base, (int) nread, &drop);
#endif
	args = Tcl_NewListObj(2, words);
	if (drop) {
	    Tcl_DecrRefCount(words[1]);
	}
	s->undelivered += (size_t) nread;
	TkuvHandleQueueEvent(owner, args, AfterData, s, (size_t) nread);
	if (s->undelivered > s->readLimit) {
	    UpdateReading(s);
	}
    } else if (nread < 0) {
	s->eof = 1;
	UpdateReading(s);
	if (nread == UV_EOF) {
	    if (s->eofEvent != NULL) {
		QueueSimpleEvent(s, s->eofEvent);
	    }
	} else {
	    TkuvHandleQueueEvent(owner, TkuvErrorEventArgs((int) nread),
		    NULL, NULL, 0);
	}
    }
#if !TKUVP_SYNC_READS
    if (buf->base != NULL) {
	TkuvFree(buf->base);
    }
#endif
}

static void
AfterData(
    TkuvHandle *h,
    void *clientData,
    size_t size)
{
    TkuvStream *s = clientData;

    (void) h;
    s->undelivered -= size;
    if (!h->closed) {
	UpdateReading(s);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvStreamConnected --
 *
 *	The owner's connection is up: start reading, send held writes, and a
 *	shutdown asked for meanwhile.
 *
 *----------------------------------------------------------------------
 */

void
TkuvStreamConnected(
    TkuvStream *s)
{
    TkuvWriteReq *wr;
    int err;

    s->connected = 1;
    while ((wr = s->heldFirst) != NULL) {
	s->heldFirst = wr->next;
	if ((err = Submit(&s->queue, wr)) != 0) {
	    s->writeQueued -= wr->length;
	    TkuvFree(wr);
	    TkuvHandleQueueEvent(s->owner, TkuvErrorEventArgs(err), NULL,
		    NULL, 0);
	}
    }
    s->heldLast = NULL;
    if (s->shutdownAsked && (err = StartShutdown(s)) != 0) {
	TkuvHandleQueueEvent(s->owner, TkuvErrorEventArgs(err), NULL, NULL, 0);
    }
    UpdateReading(s);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvStreamWrite --
 *
 *	Queues bytes for writing; never blocks. The interp result is the
 *	number of bytes now queued on the stream.
 *
 *----------------------------------------------------------------------
 */

int
TkuvStreamWrite(
    Tcl_Interp *interp,
    TkuvStream *s,
    Tcl_Obj *bytes)
{
    Tcl_Size length;
    int err;
    const unsigned char *data;
    TkuvWriteReq *wr;

    if ((data = TkuvGetBytes(interp, bytes, &length)) == NULL) {
	return TCL_ERROR;
    }
    if (s->shutdownAsked) {
	return TkuvUsageError(interp, "%s: cannot write after shutdown",
		Tcl_GetString(s->owner->nameObj));
    }
    if (length == 0) {
	Tcl_SetObjResult(interp, Tcl_NewWideIntObj((Tcl_WideInt) s->writeQueued));
	return TCL_OK;
    }
    if (s->connected && s->writeQueued == 0) {
	/*
	 * Nothing is queued, so the kernel may take the bytes now: no
	 * request, no copy, and no tick needed to complete it. Only what the
	 * socket does not take goes through uv_write (as does everything
	 * after an error, so that failures still arrive as error events).
	 * Taken whole, the write needs no drain event (Node's rule): its
	 * result, 0 bytes queued, already says so.
	 */
	uv_buf_t buf = uv_buf_init((char *) data, (unsigned int) length);
	int n = uv_try_write(s->uv, &buf, 1);

	if (n == length) {
	    Tcl_SetObjResult(interp, Tcl_NewWideIntObj(0));
	    return TCL_OK;
	}
	if (n > 0) {
	    data += n;
	    length -= n;
	}
    }
    if (!s->connected) {
	wr = NewWriteReq((const char *) data, (size_t) length);
	if (s->heldLast != NULL) {
	    s->heldLast->next = wr;
	} else {
	    s->heldFirst = wr;
	}
	s->heldLast = wr;
    } else if ((err = TkuvWriteQueueWrite(&s->queue, (const char *) data,
	    (size_t) length)) != 0) {
	return TkuvUvError(interp, "write", err);
    }
    s->writeQueued += (size_t) length;
    Tcl_SetObjResult(interp, Tcl_NewWideIntObj((Tcl_WideInt) s->writeQueued));
    return TCL_OK;
}

/*
 * StreamWriteDone --
 *	A write of the stream's completed: a failure is an error event; the
 *	queue emptied after a write that had to wait is a drain event.
 */

static void
StreamWriteDone(
    TkuvWriteQueue *q,
    size_t length,
    int status)
{
    TkuvStream *s = q->clientData;

    s->writeQueued -= length;
    if (status < 0) {
	if (status != UV_ECANCELED) {
	    TkuvHandleQueueEvent(s->owner, TkuvErrorEventArgs(status), NULL,
		    NULL, 0);
	}
    } else if (s->writeQueued == 0) {
	QueueSimpleEvent(s, "drain");
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvStreamShutdown --
 *
 *	Half-close: the peer sees EOF once queued writes are sent; reading
 *	goes on.
 *
 *----------------------------------------------------------------------
 */

int
TkuvStreamShutdown(
    Tcl_Interp *interp,
    TkuvStream *s)
{
    int err;

    if (s->shutdownAsked) {
	return TCL_OK;
    }
    s->shutdownAsked = 1;
    if (s->connected && (err = StartShutdown(s)) != 0) {
	return TkuvUvError(interp, "shutdown", err);
    }
    return TCL_OK;
}

static int
StartShutdown(
    TkuvStream *s)
{
    return TkuvShutdown(s->uv, s->owner->bridge, ShutdownDone, s);
}

static void
ShutdownDone(
    uv_shutdown_t *req,
    int status)
{
    TkuvStream *s = req->data;

    TkuvFree(req);
    if (status < 0 && status != UV_ECANCELED && status != UV_ENOTCONN) {
	TkuvHandleQueueEvent(s->owner, TkuvErrorEventArgs(status), NULL,
		NULL, 0);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvStreamClosing --
 *
 *	The owner is closing: drop writes that were never submitted. (Those
 *	given to libuv complete with UV_ECANCELED before the close callback.)
 *
 *----------------------------------------------------------------------
 */

void
TkuvStreamClosing(
    TkuvStream *s)
{
    TkuvWriteReq *wr;

    while ((wr = s->heldFirst) != NULL) {
	s->heldFirst = wr->next;
	s->writeQueued -= wr->length;
	TkuvFree(wr);
    }
    s->heldLast = NULL;
    s->reading = 0;		/* uv_close stops reading. */
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvErrorEventArgs, QueueSimpleEvent --
 *
 *	{error {UV_ERRNAME {message}}}, and events with no arguments.
 *
 *----------------------------------------------------------------------
 */

Tcl_Obj *
TkuvErrorEventArgs(
    int err)
{
    Tcl_Obj *code = Tcl_NewListObj(0, NULL);
    Tcl_Obj *args = Tcl_NewListObj(0, NULL);

    Tcl_ListObjAppendElement(NULL, code, Tcl_NewStringObj(uv_err_name(err), -1));
    Tcl_ListObjAppendElement(NULL, code, Tcl_NewStringObj(uv_strerror(err), -1));
    Tcl_ListObjAppendElement(NULL, args, Tcl_NewStringObj("error", 5));
    Tcl_ListObjAppendElement(NULL, args, code);
    return args;
}

static void
QueueSimpleEvent(
    TkuvStream *s,
    const char *event)
{
    TkuvHandleQueueEvent(s->owner, Tcl_NewStringObj(event, -1), NULL, NULL, 0);
}

/*
 *----------------------------------------------------------------------
 *
 * The write queue (tkuvInt.h), for streams and tkuv::socket's channels.
 *
 * TkuvWriteQueueInit, TkuvWriteQueueWrite --
 *
 *	A queue on uv; and queueing a copy of the bytes (the caller has
 *	tried uv_try_write first when nothing was queued). Returns 0 or a
 *	libuv error.
 *
 *----------------------------------------------------------------------
 */

void
TkuvWriteQueueInit(
    TkuvWriteQueue *q,
    uv_stream_t *uv,
    TkuvBridge *bridge,
    TkuvWriteDoneProc *doneProc,
    void *clientData)
{
    q->uv = uv;
    q->bridge = bridge;
    q->doneProc = doneProc;
    q->clientData = clientData;
    q->first = q->last = NULL;
}

int
TkuvWriteQueueWrite(
    TkuvWriteQueue *q,
    const char *data,
    size_t length)
{
    TkuvWriteReq *wr = NewWriteReq(data, length);
    int err = Submit(q, wr);

    if (err != 0) {
	TkuvFree(wr);
    }
    return err;
}

static TkuvWriteReq *
NewWriteReq(
    const char *data,
    size_t length)
{
    TkuvWriteReq *wr = TkuvAlloc(sizeof(TkuvWriteReq) + length);

    wr->queue = NULL;
    wr->prev = wr->next = NULL;
    wr->length = length;
    memcpy(wr->data, data, length);
    return wr;
}

/*
 * Submit, WriteDone --
 *	Hands a request to uv_write and lists it last; takes it off the list
 *	when libuv is done with it, then tells the owner.
 */

static int
Submit(
    TkuvWriteQueue *q,
    TkuvWriteReq *wr)
{
    uv_buf_t buf = uv_buf_init(wr->data, (unsigned int) wr->length);
    int err = uv_write(&wr->req, q->uv, &buf, 1, WriteDone);

    if (err != 0) {
	return err;
    }
    wr->queue = q;
    wr->next = NULL;
    wr->prev = q->last;
    if (q->last != NULL) {
	q->last->next = wr;
    } else {
	q->first = wr;
    }
    q->last = wr;
    TkuvBridgeKick(q->bridge);
    return 0;
}

static void
WriteDone(
    uv_write_t *req,
    int status)
{
    TkuvWriteReq *wr = (TkuvWriteReq *) req;
    TkuvWriteQueue *q = wr->queue;
    size_t length = wr->length;

    if (wr->prev != NULL) {
	wr->prev->next = wr->next;
    } else {
	q->first = wr->next;
    }
    if (wr->next != NULL) {
	wr->next->prev = wr->prev;
    } else {
	q->last = wr->prev;
    }
    TkuvFree(wr);
    q->doneProc(q, length, status);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvWriteQueueUnsent --
 *
 *	Appends to *outPtr the bytes of the queue libuv has not sent yet.
 *	libuv sends a stream's writes in order and counts the bytes not yet
 *	written (uv_stream_get_write_queue_size), so those are the last that
 *	many bytes of the requests still listed.
 *
 *----------------------------------------------------------------------
 */

void
TkuvWriteQueueUnsent(
    TkuvWriteQueue *q,
    char **outPtr,
    size_t *lenPtr)
{
    TkuvWriteReq *wr;
    size_t unsent, total = 0, skip;

    unsent = uv_stream_get_write_queue_size(q->uv);
    for (wr = q->first; wr != NULL; wr = wr->next) {
	total += wr->length;
    }
    if (unsent > total) {
	unsent = total;
    }
    if (unsent == 0) {
	return;
    }
    *outPtr = realloc(*outPtr, *lenPtr + unsent);
    if (*outPtr == NULL) {
	Tcl_Panic("tkuv: out of memory");
    }
    skip = total - unsent;
    for (wr = q->first; wr != NULL; wr = wr->next) {
	if (skip >= wr->length) {
	    skip -= wr->length;
	    continue;
	}
	memcpy(*outPtr + *lenPtr, wr->data + skip, wr->length - skip);
	*lenPtr += wr->length - skip;
	skip = 0;
    }
}

/*
 * TkuvShutdown --
 *	uv_shutdown with a request of its own (req->data = data), which cb
 *	frees. Returns 0 or a libuv error.
 */

int
TkuvShutdown(
    uv_stream_t *uv,
    TkuvBridge *bridge,
    uv_shutdown_cb cb,
    void *data)
{
    uv_shutdown_t *req = TkuvAlloc(sizeof(uv_shutdown_t));
    int err;

    req->data = data;
    if ((err = uv_shutdown(req, uv, cb)) != 0) {
	TkuvFree(req);
	return err;
    }
    TkuvBridgeKick(bridge);
    return 0;
}
