/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvNotifier.c --
 *
 *	tkuv::notifier: an opt-in replacement for Tcl 8.6's Unix notifier on
 *	Linux, installed with Tcl_SetNotifier at run time (even after Tk has
 *	registered its display). Each thread waits on an epoll set of its own,
 *	woken by an eventfd, as Tcl 9's notifier does: every Tcl file handler
 *	(Tk's display, Tcl's sockets and pipes, libuv's backend) wakes its
 *	thread directly, with no notifier thread in between, and descriptors
 *	above FD_SETSIZE work for every channel in the process.
 *
 *	The hard part is the switch itself. Tcl_SetNotifier replaces the hooks
 *	of every thread at once, but the file handlers registered before it
 *	(Tk's display, server sockets) live in the stock notifier's private
 *	per-thread record, and a thread may be blocked in the stock wait at
 *	that moment. So this file knows the layout of that record (Tcl
 *	8.6.x, tclUnixNotfy.c, threaded, not Cygwin), validates it before
 *	trusting it, and:
 *
 *	- obtains a thread's stock record without side effects: with our
 *	  hooks installed, Tcl_ThreadAlert on the calling thread hands our
 *	  alert hook the clientData tclNotify.c keeps for that thread, which
 *	  is the stock record (Tcl_InitNotifier's result). A flag on the
 *	  thread's own record makes that one alert a "capture". (Calling
 *	  Tcl_InitNotifier while the stock hooks are in place would return
 *	  the same pointer, but it counts one more user of the stock
 *	  notifier thread, which would then never be stopped and joined.)
 *	- validates it on install: two probe handlers on a pipe registered
 *	  through the stock notifier must appear at the head of the captured
 *	  record's list with their masks, procs and select bits, and the
 *	  record must show the alert given just before. Otherwise the hooks
 *	  are put back and the command fails, nothing moved.
 *	- moves handlers lazily: each thread moves its own stock handlers into
 *	  its epoll set on its first call into our hooks (the installing
 *	  thread at once). Other threads are never refused: they convert when
 *	  they next touch the notifier.
 *	- wakes a thread still blocked in the stock wait when it is alerted
 *	  (thread::send...): the stock alert is redone on its record (flag and
 *	  condition broadcast), repeated briefly until the thread consumed it,
 *	  because without the stock notifier's private mutex one broadcast can
 *	  fall between its check and its wait.
 *	- uninstalls by moving every converted thread's handlers back into its
 *	  stock record (while the hooks are still ours, so no stock code runs
 *	  on those records meanwhile), then restoring the stock hooks and
 *	  waking every thread out of its epoll wait.
 *
 *	Threads whose Tcl notifier was initialised after the install have no
 *	stock record at all (tclNotify.c keeps our record for them): while one
 *	of them lives, uninstalling is refused. The stock notifier thread
 *	stays (idle) while ours is installed; when the last thread finalizes,
 *	the stock hooks come back and Tcl stops it as usual.
 */

#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE		/* pipe2 */
#endif
#include "tkuvInt.h"

#if defined(__linux__)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <unistd.h>
#endif

#if defined(__linux__)

/*
 * The stock notifier's records, as tclUnixNotfy.c (Tcl 8.6, threaded, not
 * Cygwin) declares them. Only read or written after Install has checked
 * them against probes; see ValidateStock.
 */

typedef struct StockHandler {
    int fd;
    int mask;
    int readyMask;
    Tcl_FileProc *proc;
    void *clientData;
    struct StockHandler *nextPtr;
} StockHandler;

typedef struct StockRecord {
    StockHandler *firstFileHandlerPtr;
    fd_set checkReadable, checkWritable, checkException;
    fd_set readyReadable, readyWritable, readyException;
    int numFdBits;
    int onList;
    unsigned int pollState;
    struct StockRecord *nextPtr, *prevPtr;
    pthread_cond_t waitCV;
    int waitCVinitialized;
    int eventReady;
} StockRecord;

/*
 * One registered file handler of a thread, in its slot array (indexed by fd).
 */

typedef struct Handler {
    Tcl_FileProc *proc;		/* NULL: the slot is free. */
    void *clientData;
    int mask;			/* TCL_READABLE | TCL_WRITABLE | TCL_EXCEPTION */
    int readyMask;		/* Seen since the last event ran; an event is
				 * queued while non-zero. */
    int state;			/* HANDLER_* below */
} Handler;

enum {
    HANDLER_IDLE,		/* Not in the epoll set (nothing to watch). */
    HANDLER_EPOLL,		/* In the epoll set. */
    HANDLER_ALWAYS,		/* A regular file: epoll refuses it, select
				 * calls it always ready, so do we. */
    HANDLER_PARKED		/* Hung up with nothing its mask can report:
				 * out of the set until the handler is set
				 * again, or the thread would spin on it. */
};

/*
 * A thread's notifier. Created on the thread's first call into our hooks
 * (or by the init hook for threads born after the install), freed when the
 * thread finalizes its notifier or, failing that, exits.
 */

typedef struct Notifier {
    Tcl_ThreadId threadId;
    int epfd;			/* The thread's epoll set. */
    int evfd;			/* eventfd in it: Tcl_ThreadAlert. */
    int converted;		/* The thread's handlers are here (not in its
				 * stock record). Written under notifierLock
				 * and the record's lock. */
    int own;			/* Made by the init hook: tclNotify.c keeps
				 * this record, the thread has no stock one. */
    int captured;		/* stock is known (maybe NULL). */
    StockRecord *stock;		/* The thread's stock record, or NULL. */
    int capturing;		/* The next alert of this thread is ours. */
    void *capturedData;
    Tcl_Mutex lock;		/* Guards the handlers against an uninstall
				 * running in another thread. */
    Handler *slots;
    int numSlots;
    int numHandlers;
    int numAlways;		/* Handlers in state HANDLER_ALWAYS waiting
				 * to read or write: the wait polls. */
    struct Notifier *nextPtr;	/* In notifiers (notifierLock). */
} Notifier;

/*
 * What Tcl queues when a handler is ready (as the stock notifier does: the
 * fd, not the handler, which may be gone or replaced when the event runs).
 */

typedef struct FileEvent {
    Tcl_Event header;
    int fd;
} FileEvent;

enum { STATE_STOCK, STATE_INSTALLING, STATE_EPOLL, STATE_UNINSTALLING };

/*
 * notifierLock guards state, generation, notifiers, deferred and every
 * record's converted flag. Lock order: Tcl's notifier list lock (held
 * around our init, finalize and alert hooks) before notifierLock before a
 * record's lock. Nothing calls into Tcl's notifier while holding ours.
 */

TCL_DECLARE_MUTEX(notifierLock)
static Tcl_Condition stateChanged;	/* Install/uninstall finished. */
static int state = STATE_STOCK;
static unsigned long generation;	/* Counts installs and uninstalls. */
static Notifier *notifiers;
static pid_t installPid;		/* A forked child's init hook knows. */
static void **deferred;			/* Stock records alerted while the */
static int numDeferred, maxDeferred;	/* layout was not yet validated. */

static pthread_key_t recordKey;
static pthread_once_t recordKeyOnce = PTHREAD_ONCE_INIT;
static int recordKeyError;

static int probeCookie;			/* The probes' clientData. */

static void		AlertNotifier(ClientData clientData);
static Notifier *	CurrentNotifier(void);
static void		CreateFileHandler(int fd, int mask, Tcl_FileProc *proc,
			    ClientData clientData);
static void		DeleteFileHandler(int fd);
static void		DropHandler(Notifier *n, int fd);
static void		FinalizeNotifier(ClientData clientData);
static int		FileEventProc(Tcl_Event *evPtr, int flags);
static void		FreeNotifier(Notifier *n);
static ClientData	InitNotifier(void);
static int		Install(Tcl_Interp *interp);
static void		MakeRecordKey(void);
static void		MarkReady(Handler *h, int fd, int mask);
static int		MoveFromStock(Notifier *n);
static void		MoveToStock(Notifier *n);
static Notifier *	NewNotifier(Tcl_Interp *interp);
static void		ProbeProc(ClientData clientData, int mask);
static void		RecordKeyDestructor(void *value);
static void		ServiceModeHook(int mode);
static void		SetHandler(Notifier *n, int fd, int mask,
			    Tcl_FileProc *proc, void *clientData);
static void		SetTimer(const Tcl_Time *timePtr);
static void		StockAlert(StockRecord *s);
static int		StockRecordIsSane(const StockRecord *s);
static int		Uninstall(Tcl_Interp *interp);
static int		ValidateStock(const StockRecord *s, int readFd,
			    int writeFd);
static int		WaitForEvent(const Tcl_Time *timePtr);
static void		Wake(Notifier *n);
static void		WaitSwitches(void);

static Tcl_NotifierProcs epollHooks = {
    SetTimer, WaitForEvent, CreateFileHandler, DeleteFileHandler,
    InitNotifier, FinalizeNotifier, AlertNotifier, ServiceModeHook
};
static Tcl_NotifierProcs stockHooks;	/* All NULL: Tcl's own. */

#define MAX_EVENTS	256	/* epoll events taken per wait. */
#define ALERT_RETRIES	5	/* StockAlert's rebroadcasts, ALERT_PAUSE_US */
#define ALERT_PAUSE_US	100	/* apart. */

/*
 *----------------------------------------------------------------------
 *
 * MakeRecordKey, RecordKeyDestructor --
 *
 *	The thread-specific key of each thread's Notifier. The destructor
 *	frees a record its thread left behind (a thread that finalized its
 *	notifier through the stock hooks, after an uninstall). A record the
 *	init hook made stays: its thread ended without finalizing its Tcl
 *	notifier, so tclNotify.c still lists it and may still alert it.
 *
 *----------------------------------------------------------------------
 */

static void
MakeRecordKey(void)
{
    recordKeyError = pthread_key_create(&recordKey, RecordKeyDestructor);
}

static void
RecordKeyDestructor(
    void *value)
{
    Notifier *n = value, **pp;

    if (n->own) {
	return;
    }
    Tcl_MutexLock(&notifierLock);
    for (pp = &notifiers; *pp != NULL; pp = &(*pp)->nextPtr) {
	if (*pp == n) {
	    *pp = n->nextPtr;
	    break;
	}
    }
    Tcl_MutexUnlock(&notifierLock);
    FreeNotifier(n);
}

/*
 *----------------------------------------------------------------------
 *
 * NewNotifier --
 *
 *	Creates the calling thread's record (epoll set and eventfd),
 *	unconverted, and adds it to the list of notifiers.
 *
 * Results:
 *	The record, or NULL with an error in interp (when not NULL; the
 *	hooks, which cannot fail, panic instead).
 *
 *----------------------------------------------------------------------
 */

static Notifier *
NewNotifier(
    Tcl_Interp *interp)
{
    Notifier *n;
    struct epoll_event ev;
    int err;

    pthread_once(&recordKeyOnce, MakeRecordKey);
    if (recordKeyError) {
	err = recordKeyError;
	goto fail;
    }
    n = calloc(1, sizeof(Notifier));
    if (n == NULL) {
	err = ENOMEM;
	goto fail;
    }
    n->threadId = Tcl_GetCurrentThread();
    n->epfd = epoll_create1(EPOLL_CLOEXEC);
    n->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.fd = n->evfd;
    if (n->epfd < 0 || n->evfd < 0
	    || epoll_ctl(n->epfd, EPOLL_CTL_ADD, n->evfd, &ev) != 0) {
	err = errno;
	if (n->epfd >= 0) {
	    close(n->epfd);
	}
	if (n->evfd >= 0) {
	    close(n->evfd);
	}
	free(n);
	goto fail;
    }
    pthread_setspecific(recordKey, n);
    Tcl_MutexLock(&notifierLock);
    n->nextPtr = notifiers;
    notifiers = n;
    Tcl_MutexUnlock(&notifierLock);
    return n;

  fail:
    if (interp == NULL) {
	Tcl_Panic("tkuv epoll notifier: cannot create a thread's epoll set: %s",
		strerror(err));
    }
    Tcl_SetObjResult(interp, Tcl_ObjPrintf(
	    "tkuv::notifier: cannot create an epoll set: %s", strerror(err)));
    Tcl_SetErrorCode(interp, "TKUV", "NOTIFIER", strerror(err), NULL);
    return NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * FreeNotifier --
 *
 *	Closes a record's descriptors and frees it (already off the list).
 *
 *----------------------------------------------------------------------
 */

static void
FreeNotifier(
    Notifier *n)
{
    close(n->epfd);
    close(n->evfd);
    free(n->slots);
    Tcl_MutexFinalize(&n->lock);
    free(n);
}

/*
 *----------------------------------------------------------------------
 *
 * Wake --
 *
 *	Makes the record's thread return from (or not enter) its epoll wait.
 *
 *----------------------------------------------------------------------
 */

static void
Wake(
    Notifier *n)
{
    uint64_t one = 1;

    /* EAGAIN: the counter is full, so the thread is woken anyway. */
    if (write(n->evfd, &one, sizeof(one)) < 0) {
	(void) errno;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * StockRecordIsSane --
 *
 *	Checks a stock record's invariants before moving handlers out of it:
 *	its thread is not in the stock wait, its condition variable is set
 *	up, and every handler's fd is below numFdBits with exactly the select
 *	bits its mask asks for.
 *
 *----------------------------------------------------------------------
 */

static int
StockRecordIsSane(
    const StockRecord *s)
{
    const StockHandler *h;
    int count = 0;

    if (s->onList != 0 || s->waitCVinitialized != 1
	    || s->numFdBits < 0 || s->numFdBits > FD_SETSIZE) {
	return 0;
    }
    for (h = s->firstFileHandlerPtr; h != NULL; h = h->nextPtr) {
	if (++count > FD_SETSIZE || h->fd < 0 || h->fd >= s->numFdBits
		|| h->proc == NULL
		|| !(h->mask & TCL_READABLE) != !FD_ISSET(h->fd, &s->checkReadable)
		|| !(h->mask & TCL_WRITABLE) != !FD_ISSET(h->fd, &s->checkWritable)
		|| !(h->mask & TCL_EXCEPTION)
			!= !FD_ISSET(h->fd, &s->checkException)) {
	    return 0;
	}
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * ValidateStock --
 *
 *	Install's check of the layout this file assumes, on the installing
 *	thread's record: the two probes registered just before (writeFd last)
 *	head its handler list with their masks, procs and clientData, their
 *	select bits are where the layout puts them, and the alert given
 *	just before is in eventReady.
 *
 *----------------------------------------------------------------------
 */

static int
ValidateStock(
    const StockRecord *s,
    int readFd,
    int writeFd)
{
    const StockHandler *w, *r;

    if (s == NULL || !StockRecordIsSane(s) || s->eventReady != 1) {
	return 0;
    }
    w = s->firstFileHandlerPtr;
    r = w ? w->nextPtr : NULL;
    return w != NULL && r != NULL
	    && w->fd == writeFd && w->mask == (TCL_WRITABLE | TCL_EXCEPTION)
	    && w->proc == ProbeProc && w->clientData == &probeCookie
	    && w->readyMask == 0
	    && r->fd == readFd && r->mask == TCL_READABLE
	    && r->proc == ProbeProc && r->clientData == &probeCookie
	    && FD_ISSET(readFd, &s->checkReadable)
	    && !FD_ISSET(readFd, &s->checkWritable)
	    && !FD_ISSET(writeFd, &s->checkReadable)
	    && FD_ISSET(writeFd, &s->checkWritable)
	    && FD_ISSET(writeFd, &s->checkException)
	    && s->numFdBits > (readFd > writeFd ? readFd : writeFd);
}

static void
ProbeProc(
    ClientData clientData,
    int mask)
{
    (void) clientData;
    (void) mask;
}

/*
 *----------------------------------------------------------------------
 *
 * MoveFromStock --
 *
 *	Moves the calling thread's handlers out of its stock record into its
 *	epoll set, leaving the stock record empty (stock events still queued
 *	then find no handler: the readiness is level, epoll reports it again).
 *	Runs on the record's own thread, outside the stock wait, so no stock
 *	code reads the record meanwhile.
 *
 * Results:
 *	0 if the record does not look like a stock record (nothing moved).
 *
 *----------------------------------------------------------------------
 */

static int
MoveFromStock(
    Notifier *n)
{
    StockRecord *s = n->stock;
    StockHandler *h, *next;

    if (s == NULL) {
	return 1;
    }
    if (!StockRecordIsSane(s)) {
	return 0;
    }
    for (h = s->firstFileHandlerPtr; h != NULL; h = h->nextPtr) {
	SetHandler(n, h->fd, h->mask, h->proc, h->clientData);
    }
    h = s->firstFileHandlerPtr;
    s->firstFileHandlerPtr = NULL;
    FD_ZERO(&s->checkReadable);
    FD_ZERO(&s->checkWritable);
    FD_ZERO(&s->checkException);
    FD_ZERO(&s->readyReadable);
    FD_ZERO(&s->readyWritable);
    FD_ZERO(&s->readyException);
    s->numFdBits = 0;
    for (; h != NULL; h = next) {
	next = h->nextPtr;
	ckfree((char *) h);
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * MoveToStock --
 *
 *	Uninstall's move of a converted record's handlers back into its
 *	thread's stock record, from any thread: the hooks are still ours, so
 *	neither the thread nor the stock notifier thread reads that record
 *	meanwhile. The list is built first and published with one store
 *	(a stock event still queued from before the install walks it).
 *	Caller holds notifierLock and the record's lock, and has checked
 *	every fd is below FD_SETSIZE.
 *
 *----------------------------------------------------------------------
 */

static void
MoveToStock(
    Notifier *n)
{
    StockRecord *s = n->stock;
    StockHandler *head = s->firstFileHandlerPtr;
    int fd, numFdBits = s->numFdBits;

    for (fd = 0; fd < n->numSlots; fd++) {
	Handler *h = &n->slots[fd];
	StockHandler *sh;

	if (h->proc == NULL) {
	    continue;
	}
	sh = (StockHandler *) ckalloc(sizeof(StockHandler));
	sh->fd = fd;
	sh->mask = h->mask;
	sh->readyMask = 0;
	sh->proc = h->proc;
	sh->clientData = h->clientData;
	sh->nextPtr = head;
	head = sh;
	if (h->mask & TCL_READABLE) {
	    FD_SET(fd, &s->checkReadable);
	}
	if (h->mask & TCL_WRITABLE) {
	    FD_SET(fd, &s->checkWritable);
	}
	if (h->mask & TCL_EXCEPTION) {
	    FD_SET(fd, &s->checkException);
	}
	if (fd >= numFdBits) {
	    numFdBits = fd + 1;
	}
	DropHandler(n, fd);
    }
    s->numFdBits = numFdBits;
    s->firstFileHandlerPtr = head;
}

/*
 *----------------------------------------------------------------------
 *
 * SetHandler, DropHandler --
 *
 *	A thread's handler table and epoll set: add or change the handler of
 *	fd, or remove it. Caller holds the record's lock (or is its thread
 *	converting it).
 *
 *----------------------------------------------------------------------
 */

static void
SetHandler(
    Notifier *n,
    int fd,
    int mask,
    Tcl_FileProc *proc,
    void *clientData)
{
    Handler *h;
    struct epoll_event ev;

    if (fd >= n->numSlots) {
	int size = n->numSlots ? n->numSlots : 64;
	Handler *slots;

	while (size <= fd) {
	    size *= 2;
	}
	slots = realloc(n->slots, size * sizeof(Handler));
	if (slots == NULL) {
	    Tcl_Panic("tkuv epoll notifier: out of memory");
	}
	memset(slots + n->numSlots, 0, (size - n->numSlots) * sizeof(Handler));
	n->slots = slots;
	n->numSlots = size;
    }
    h = &n->slots[fd];
    if (h->proc == NULL) {
	n->numHandlers++;
	h->readyMask = 0;
    }
    if (h->state == HANDLER_ALWAYS) {
	/* Tried again below: the fd may have been reopened since. */
	if (h->mask & (TCL_READABLE | TCL_WRITABLE)) {
	    n->numAlways--;
	}
	h->state = HANDLER_IDLE;
    }
    h->proc = proc;
    h->clientData = clientData;
    h->mask = mask;

    memset(&ev, 0, sizeof(ev));
    ev.events = ((mask & TCL_READABLE) ? EPOLLIN : 0)
	    | ((mask & TCL_WRITABLE) ? EPOLLOUT : 0)
	    | ((mask & TCL_EXCEPTION) ? EPOLLPRI : 0);
    ev.data.fd = fd;
    if (ev.events == 0) {
	/* epoll would still report hang-ups the mask cannot deliver. */
	if (h->state == HANDLER_EPOLL) {
	    epoll_ctl(n->epfd, EPOLL_CTL_DEL, fd, &ev);
	}
	h->state = HANDLER_IDLE;
	return;
    }
    if (h->state == HANDLER_EPOLL
	    && epoll_ctl(n->epfd, EPOLL_CTL_MOD, fd, &ev) == 0) {
	return;
    }
    /*
     * Not in the set, or it was but the fd was closed and reopened since
     * (MOD fails with ENOENT).
     */
    if (epoll_ctl(n->epfd, EPOLL_CTL_ADD, fd, &ev) == 0
	    || (errno == EEXIST
		&& epoll_ctl(n->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)) {
	h->state = HANDLER_EPOLL;
    } else if (errno == EPERM) {
	h->state = HANDLER_ALWAYS;
	if (mask & (TCL_READABLE | TCL_WRITABLE)) {
	    n->numAlways++;
	}
    } else {
	/* EBADF and the like: select would fail too; it never fires. */
	h->state = HANDLER_IDLE;
    }
}

static void
DropHandler(
    Notifier *n,
    int fd)
{
    Handler *h;
    struct epoll_event ev;

    if (fd < 0 || fd >= n->numSlots || n->slots[fd].proc == NULL) {
	return;
    }
    h = &n->slots[fd];
    if (h->state == HANDLER_EPOLL) {
	memset(&ev, 0, sizeof(ev));
	epoll_ctl(n->epfd, EPOLL_CTL_DEL, fd, &ev);
    } else if (h->state == HANDLER_ALWAYS
	    && (h->mask & (TCL_READABLE | TCL_WRITABLE))) {
	n->numAlways--;
    }
    memset(h, 0, sizeof(Handler));
    n->numHandlers--;
}

/*
 *----------------------------------------------------------------------
 *
 * CurrentNotifier --
 *
 *	The calling thread's record, converted: created and its stock
 *	handlers moved in on the first call. Waits while an install or an
 *	uninstall is under way.
 *
 * Results:
 *	The record, or NULL when the epoll notifier is not installed (any
 *	more): the caller then redoes its call through Tcl's public function,
 *	which now reaches the stock notifier.
 *
 *----------------------------------------------------------------------
 */

static Notifier *
CurrentNotifier(void)
{
    Notifier *n;
    unsigned long gen;

    pthread_once(&recordKeyOnce, MakeRecordKey);
    n = recordKeyError ? NULL : pthread_getspecific(recordKey);
    if (n != NULL && __atomic_load_n(&n->converted, __ATOMIC_ACQUIRE)) {
	return n;
    }
    if (n == NULL) {
	n = NewNotifier(NULL);
    }
    for (;;) {
	Tcl_MutexLock(&notifierLock);
	WaitSwitches();
	if (state != STATE_EPOLL) {
	    Tcl_MutexUnlock(&notifierLock);
	    return NULL;
	}
	if (n->captured) {
	    break;
	}
	gen = generation;
	Tcl_MutexUnlock(&notifierLock);

	/*
	 * Capture: our alert hook gets tclNotify.c's clientData for this
	 * thread. Only valid if our hooks stayed installed throughout.
	 */

	n->capturedData = NULL;
	n->capturing = 1;
	Tcl_ThreadAlert(n->threadId);
	n->capturing = 0;
	Tcl_MutexLock(&notifierLock);
	if (gen == generation && state == STATE_EPOLL) {
	    n->stock = n->capturedData;
	    n->captured = 1;
	}
	Tcl_MutexUnlock(&notifierLock);
    }

    Tcl_MutexLock(&n->lock);
    if (!n->converted) {
	if (!MoveFromStock(n)) {
	    Tcl_Panic("tkuv epoll notifier: the stock notifier record of "
		    "thread %p is not as expected", (void *) n->threadId);
	}
	__atomic_store_n(&n->converted, 1, __ATOMIC_RELEASE);
	/*
	 * An alert sent before this record was found went to the stock
	 * record: the first epoll wait must not block.
	 */
	Wake(n);
    }
    Tcl_MutexUnlock(&n->lock);
    Tcl_MutexUnlock(&notifierLock);
    return n;
}

/*
 *----------------------------------------------------------------------
 *
 * WaitSwitches --
 *
 *	Waits until no install or uninstall is under way (another thread's).
 *	Caller holds notifierLock.
 *
 *----------------------------------------------------------------------
 */

static void
WaitSwitches(void)
{
    while (state == STATE_INSTALLING || state == STATE_UNINSTALLING) {
	Tcl_ConditionWait(&stateChanged, &notifierLock, NULL);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * CreateFileHandler, DeleteFileHandler, SetTimer, ServiceModeHook --
 *
 *	The notifier hooks of the same names. The timer needs nothing: Tcl
 *	hands the timeout to WaitForEvent, and there is no notifier thread
 *	to start.
 *
 *----------------------------------------------------------------------
 */

static void
CreateFileHandler(
    int fd,
    int mask,
    Tcl_FileProc *proc,
    ClientData clientData)
{
    Notifier *n = CurrentNotifier();

    if (n != NULL) {
	Tcl_MutexLock(&n->lock);
	if (n->converted) {
	    if (fd >= 0) {
		SetHandler(n, fd, mask, proc, clientData);
	    }
	    Tcl_MutexUnlock(&n->lock);
	    return;
	}
	Tcl_MutexUnlock(&n->lock);
    }
    Tcl_CreateFileHandler(fd, mask, proc, clientData);
}

static void
DeleteFileHandler(
    int fd)
{
    Notifier *n = CurrentNotifier();

    if (n != NULL) {
	Tcl_MutexLock(&n->lock);
	if (n->converted) {
	    DropHandler(n, fd);
	    Tcl_MutexUnlock(&n->lock);
	    return;
	}
	Tcl_MutexUnlock(&n->lock);
    }
    Tcl_DeleteFileHandler(fd);
}

static void
SetTimer(
    const Tcl_Time *timePtr)
{
    if (CurrentNotifier() == NULL) {
	Tcl_SetTimer(timePtr);
    }
}

static void
ServiceModeHook(
    int mode)
{
    if (CurrentNotifier() == NULL) {
	Tcl_ServiceModeHook(mode);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * WaitForEvent --
 *
 *	Waits in the thread's epoll set for readiness, an alert or the
 *	timeout, and queues a FileEvent for each ready handler (one at a
 *	time per handler, as the stock notifier does). Hang-ups and errors
 *	count as readable and writable, as select reports them.
 *
 * Results:
 *	0 (the threaded stock notifier never returns -1 either).
 *
 *----------------------------------------------------------------------
 */

static int
WaitForEvent(
    const Tcl_Time *timePtr)
{
    Notifier *n = CurrentNotifier();
    struct epoll_event events[MAX_EVENTS];
    int timeout, count, i, fd;

    if (n == NULL) {
	return Tcl_WaitForEvent(timePtr);
    }
    if (timePtr == NULL) {
	timeout = -1;
    } else {
	Tcl_Time t = *timePtr;

	if (t.sec != 0 || t.usec != 0) {
	    Tcl_GetTimeProc *getProc;
	    Tcl_ScaleTimeProc *scaleProc;
	    ClientData timeData;

	    /* Virtual time (TIP 233), as the stock notifier honours it. */
	    Tcl_QueryTimeProc(&getProc, &scaleProc, &timeData);
	    if (scaleProc != NULL) {
		scaleProc(&t, timeData);
	    }
	}
	if (t.sec < 0 || (t.sec == 0 && t.usec <= 0)) {
	    timeout = 0;
	} else if (t.sec >= INT_MAX / 1000 - 1) {
	    timeout = INT_MAX;
	} else {
	    /* Rounded up: a sub-millisecond wait must not become a poll loop. */
	    timeout = (int) (t.sec * 1000 + (t.usec + 999) / 1000);
	}
    }
    Tcl_MutexLock(&n->lock);
    if (n->numAlways > 0) {
	timeout = 0;
    }
    Tcl_MutexUnlock(&n->lock);

    count = epoll_wait(n->epfd, events, MAX_EVENTS, timeout);

    Tcl_MutexLock(&n->lock);
    if (!n->converted) {
	/* Uninstalled meanwhile: the handlers are back in the stock record. */
	Tcl_MutexUnlock(&n->lock);
	return 0;
    }
    for (i = 0; i < count; i++) {
	uint32_t e = events[i].events;
	int mask = 0;
	Handler *h;

	fd = events[i].data.fd;
	if (fd == n->evfd) {
	    uint64_t value;

	    if (read(n->evfd, &value, sizeof(value)) < 0) {
		(void) errno;	/* EAGAIN: already drained. */
	    }
	    continue;
	}
	if (fd < 0 || fd >= n->numSlots || n->slots[fd].proc == NULL) {
	    continue;
	}
	h = &n->slots[fd];
	if (e & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
	    mask |= TCL_READABLE;
	}
	if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
	    mask |= TCL_WRITABLE;
	}
	if (e & EPOLLPRI) {
	    mask |= TCL_EXCEPTION;
	}
	mask &= h->mask;
	if (mask == 0) {
	    struct epoll_event ev;

	    /* A hang-up nobody asked for would wake us for ever. */
	    memset(&ev, 0, sizeof(ev));
	    epoll_ctl(n->epfd, EPOLL_CTL_DEL, fd, &ev);
	    h->state = HANDLER_PARKED;
	    continue;
	}
	MarkReady(h, fd, mask);
    }
    if (n->numAlways > 0) {
	for (fd = 0; fd < n->numSlots; fd++) {
	    Handler *h = &n->slots[fd];

	    if (h->proc != NULL && h->state == HANDLER_ALWAYS
		    && (h->mask & (TCL_READABLE | TCL_WRITABLE))) {
		MarkReady(h, fd, h->mask & (TCL_READABLE | TCL_WRITABLE));
	    }
	}
    }
    Tcl_MutexUnlock(&n->lock);
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * MarkReady --
 *
 *	Records what is ready on a handler, and queues its FileEvent unless
 *	one is queued already (its readyMask is then non-zero).
 *
 *----------------------------------------------------------------------
 */

static void
MarkReady(
    Handler *h,
    int fd,
    int mask)
{
    if (h->readyMask == 0) {
	FileEvent *evPtr = (FileEvent *) ckalloc(sizeof(FileEvent));

	evPtr->header.proc = FileEventProc;
	evPtr->fd = fd;
	Tcl_QueueEvent((Tcl_Event *) evPtr, TCL_QUEUE_TAIL);
    }
    h->readyMask = mask;
}

/*
 *----------------------------------------------------------------------
 *
 * FileEventProc --
 *
 *	Runs a queued FileEvent: calls the fd's handler with what is ready
 *	and still wanted. A handler deleted or replaced since, or a thread
 *	uninstalled since, gets nothing (its readiness is level: the next
 *	wait reports it again).
 *
 *----------------------------------------------------------------------
 */

static int
FileEventProc(
    Tcl_Event *evPtr,
    int flags)
{
    FileEvent *fileEvPtr = (FileEvent *) evPtr;
    Notifier *n;
    Tcl_FileProc *proc = NULL;
    void *clientData = NULL;
    int mask = 0, fd = fileEvPtr->fd;

    if (!(flags & TCL_FILE_EVENTS)) {
	return 0;
    }
    n = recordKeyError ? NULL : pthread_getspecific(recordKey);
    if (n == NULL) {
	return 1;
    }
    Tcl_MutexLock(&n->lock);
    if (n->converted && fd >= 0 && fd < n->numSlots
	    && n->slots[fd].proc != NULL) {
	Handler *h = &n->slots[fd];

	mask = h->readyMask & h->mask;
	h->readyMask = 0;
	proc = h->proc;
	clientData = h->clientData;
    }
    Tcl_MutexUnlock(&n->lock);
    if (mask != 0) {
	proc(clientData, mask);
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * AlertNotifier --
 *
 *	Tcl_ThreadAlert's hook. clientData is what Tcl_InitNotifier returned
 *	for the target thread: one of our records (a thread born after the
 *	install) or its stock record. A converted target's eventfd is
 *	written; an unconverted one may be blocked in the stock wait and gets
 *	the stock alert (StockAlert). While an install is still validating the
 *	layout, such alerts are kept for Install to deliver.
 *
 *----------------------------------------------------------------------
 */

static void
AlertNotifier(
    ClientData clientData)
{
    Notifier *n = recordKeyError ? NULL : pthread_getspecific(recordKey);

    if (n != NULL && n->capturing) {
	n->capturedData = clientData;
	n->capturing = 0;
	return;
    }
    Tcl_MutexLock(&notifierLock);
    for (n = notifiers; n != NULL; n = n->nextPtr) {
	if ((void *) n == clientData
		|| (n->captured && (void *) n->stock == clientData)) {
	    break;
	}
    }
    if (n != NULL && n->converted) {
	Wake(n);
	Tcl_MutexUnlock(&notifierLock);
	return;
    }
    if (n != NULL && (void *) n == clientData) {
	/* Ours (always converted while listed): never a stock record. */
	Tcl_MutexUnlock(&notifierLock);
	return;
    }
    if (state == STATE_INSTALLING) {
	if (numDeferred == maxDeferred) {
	    int size = maxDeferred ? 2 * maxDeferred : 16;
	    void **bigger = realloc(deferred, size * sizeof(void *));

	    if (bigger == NULL) {
		Tcl_Panic("tkuv epoll notifier: out of memory");
	    }
	    deferred = bigger;
	    maxDeferred = size;
	}
	deferred[numDeferred++] = clientData;
	Tcl_MutexUnlock(&notifierLock);
	return;
    }
    Tcl_MutexUnlock(&notifierLock);
    StockAlert((StockRecord *) clientData);
}

/*
 *----------------------------------------------------------------------
 *
 * StockAlert --
 *
 *	Tcl_AlertNotifier's stock work on a thread that may still be blocked
 *	in the stock wait: set eventReady and broadcast its condition. The
 *	stock notifier's mutex is private, so a broadcast can fall between
 *	the thread's check of eventReady and its wait; the broadcast is
 *	repeated a few times, 100 us apart, until the thread has consumed the
 *	flag (a thread not waiting at all costs the alerter half a
 *	millisecond, once, until it converts).
 *
 *----------------------------------------------------------------------
 */

static void
StockAlert(
    StockRecord *s)
{
    int i;

    __atomic_store_n(&s->eventReady, 1, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&s->waitCV);
    for (i = 0; i < ALERT_RETRIES
	    && __atomic_load_n(&s->eventReady, __ATOMIC_SEQ_CST); i++) {
	usleep(ALERT_PAUSE_US);
	pthread_cond_broadcast(&s->waitCV);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * InitNotifier --
 *
 *	The init hook: a thread whose Tcl notifier starts after the install
 *	gets a record of ours (converted, no stock record). In a forked child
 *	(Tcl's atfork handler calls it) nothing is created.
 *
 *----------------------------------------------------------------------
 */

static ClientData
InitNotifier(void)
{
    static int forkChild;
    Notifier *n;

    if (getpid() != installPid) {
	return &forkChild;
    }
    pthread_once(&recordKeyOnce, MakeRecordKey);
    n = recordKeyError ? NULL : pthread_getspecific(recordKey);
    if (n == NULL) {
	n = NewNotifier(NULL);
    }
    Tcl_MutexLock(&notifierLock);
    Tcl_MutexLock(&n->lock);
    n->own = 1;
    n->captured = 1;
    n->stock = NULL;
    n->converted = 1;
    Tcl_MutexUnlock(&n->lock);
    Tcl_MutexUnlock(&notifierLock);
    return n;
}

/*
 *----------------------------------------------------------------------
 *
 * FinalizeNotifier --
 *
 *	The finalize hook: frees the thread's record. When the last record
 *	goes and the thread has a stock record (the main thread at exit,
 *	typically), the stock hooks come back and the stock finalize runs,
 *	so the stock notifier thread is stopped and joined as usual.
 *
 *----------------------------------------------------------------------
 */

static void
FinalizeNotifier(
    ClientData clientData)
{
    Notifier *n = recordKeyError ? NULL : pthread_getspecific(recordKey);
    Notifier **pp;
    int i, restore;

    Tcl_MutexLock(&notifierLock);
    if (n != NULL) {
	for (pp = &notifiers; *pp != NULL; pp = &(*pp)->nextPtr) {
	    if (*pp == n) {
		*pp = n->nextPtr;
		break;
	    }
	}
	pthread_setspecific(recordKey, NULL);
    }
    for (i = 0; i < numDeferred; i++) {
	if (deferred[i] == clientData) {
	    deferred[i--] = deferred[--numDeferred];
	}
    }
    restore = (state == STATE_EPOLL && notifiers == NULL
	    && (void *) n != clientData);
    if (restore) {
	Tcl_SetNotifier(&stockHooks);
	state = STATE_STOCK;
	generation++;
	Tcl_ConditionNotify(&stateChanged);
    }
    Tcl_MutexUnlock(&notifierLock);
    if (n != NULL) {
	FreeNotifier(n);
    }
    if (restore) {
	Tcl_FinalizeNotifier(clientData);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Install --
 *
 *	tkuv::notifier epoll: checks the Tcl, registers two probes through
 *	the stock notifier, installs our hooks, captures and validates this
 *	thread's stock record, and converts this thread. On a failed check
 *	the stock hooks come back and nothing has moved.
 *
 *----------------------------------------------------------------------
 */

static int
Install(
    Tcl_Interp *interp)
{
    int major, minor, pipeFds[2], valid, i, numAlerts;
    Notifier *n;
    void **alerts;

    Tcl_GetVersion(&major, &minor, NULL, NULL);
    if (major != 8 || minor != 6) {
	return TkuvUsageError(interp, "tkuv::notifier epoll: needs Tcl 8.6, "
		"this is Tcl %d.%d (Tcl 9's own notifier uses epoll already)",
		major, minor);
    }
    Tcl_MutexLock(&notifierLock);
    WaitSwitches();
    if (state != STATE_STOCK) {
	Tcl_MutexUnlock(&notifierLock);
	return TCL_OK;		/* Installed (by another thread, maybe). */
    }
    state = STATE_INSTALLING;
    generation++;
    Tcl_MutexUnlock(&notifierLock);

    pthread_once(&recordKeyOnce, MakeRecordKey);
    n = recordKeyError ? NULL : pthread_getspecific(recordKey);
    if (n == NULL && (n = NewNotifier(interp)) == NULL) {
	goto restoreState;
    }
    if (pipe2(pipeFds, O_CLOEXEC) != 0) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		"tkuv::notifier: cannot create a pipe: %s", strerror(errno)));
	Tcl_SetErrorCode(interp, "TKUV", "NOTIFIER", strerror(errno), NULL);
	goto restoreState;
    }

    /*
     * Through the stock notifier: two probes, and an alert of this thread
     * (eventReady becomes 1).
     */

    Tcl_CreateFileHandler(pipeFds[0], TCL_READABLE, ProbeProc, &probeCookie);
    Tcl_CreateFileHandler(pipeFds[1], TCL_WRITABLE | TCL_EXCEPTION,
	    ProbeProc, &probeCookie);
    Tcl_ThreadAlert(n->threadId);

    installPid = getpid();
    Tcl_SetNotifier(&epollHooks);
    n->capturedData = NULL;
    n->capturing = 1;
    Tcl_ThreadAlert(n->threadId);
    n->capturing = 0;

    /*
     * TKUV_TEST_BAD_LAYOUT (tests only): expect the probes swapped, so the
     * refusal path runs.
     */

    Tcl_MutexLock(&notifierLock);
    if (getenv("TKUV_TEST_BAD_LAYOUT") != NULL) {
	valid = ValidateStock(n->capturedData, pipeFds[1], pipeFds[0]);
    } else {
	valid = ValidateStock(n->capturedData, pipeFds[0], pipeFds[1]);
    }
    if (valid) {
	n->stock = n->capturedData;
	n->captured = 1;
	n->own = 0;
	Tcl_MutexLock(&n->lock);
	MoveFromStock(n);
	DropHandler(n, pipeFds[0]);
	DropHandler(n, pipeFds[1]);
	n->converted = 1;
	Tcl_MutexUnlock(&n->lock);
	state = STATE_EPOLL;
    } else {
	Tcl_SetNotifier(&stockHooks);
	state = STATE_STOCK;
    }
    generation++;
    alerts = deferred;
    numAlerts = numDeferred;
    deferred = NULL;
    numDeferred = maxDeferred = 0;
    Tcl_ConditionNotify(&stateChanged);
    Tcl_MutexUnlock(&notifierLock);

    /* Alerts that came in while the layout was unchecked. */
    for (i = 0; i < numAlerts; i++) {
	if (valid) {
	    AlertNotifier(alerts[i]);
	} else {
	    Tcl_AlertNotifier(alerts[i]);	/* The stock hook is back. */
	}
    }
    free(alerts);
    if (!valid) {
	Tcl_DeleteFileHandler(pipeFds[0]);
	Tcl_DeleteFileHandler(pipeFds[1]);
    }
    close(pipeFds[0]);
    close(pipeFds[1]);
    if (!valid) {
	return TkuvUsageError(interp, "tkuv::notifier epoll: Tcl %s's stock "
		"notifier is not laid out as expected: not installed",
		Tcl_GetVar(interp, "tcl_patchLevel", TCL_GLOBAL_ONLY));
    }
    TkuvPumpReselectAll();
    return TCL_OK;

  restoreState:
    Tcl_MutexLock(&notifierLock);
    state = STATE_STOCK;
    generation++;
    Tcl_ConditionNotify(&stateChanged);
    Tcl_MutexUnlock(&notifierLock);
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * Uninstall --
 *
 *	tkuv::notifier stock: moves every converted thread's handlers back
 *	into its stock record, restores the stock hooks and wakes every
 *	thread out of its epoll wait. Refused (nothing changed) while a
 *	thread born after the install lives, or a handler's fd is at or
 *	above FD_SETSIZE (select cannot watch it).
 *
 *----------------------------------------------------------------------
 */

static int
Uninstall(
    Tcl_Interp *interp)
{
    Notifier *n;
    int fd, numOwn = 0, bigFd = -1;

    Tcl_MutexLock(&notifierLock);
    WaitSwitches();
    if (state != STATE_EPOLL) {
	Tcl_MutexUnlock(&notifierLock);
	return TCL_OK;
    }
    for (n = notifiers; n != NULL; n = n->nextPtr) {
	Tcl_MutexLock(&n->lock);
	if (n->own || (n->converted && n->stock == NULL && n->numHandlers)) {
	    numOwn++;
	}
	for (fd = FD_SETSIZE; n->converted && fd < n->numSlots; fd++) {
	    if (n->slots[fd].proc != NULL) {
		bigFd = fd;
		break;
	    }
	}
	Tcl_MutexUnlock(&n->lock);
    }
    if (numOwn > 0) {
	Tcl_MutexUnlock(&notifierLock);
	return TkuvUsageError(interp, "tkuv::notifier stock: %d thread%s "
		"started after the epoll notifier was installed still run%s "
		"(%s no stock notifier to go back to)", numOwn,
		numOwn == 1 ? "" : "s", numOwn == 1 ? "s" : "",
		numOwn == 1 ? "it has" : "they have");
    }
    if (bigFd >= 0) {
	Tcl_MutexUnlock(&notifierLock);
	return TkuvUsageError(interp, "tkuv::notifier stock: a file handler "
		"watches fd %d, which select() cannot (FD_SETSIZE is %d): "
		"close it first", bigFd, FD_SETSIZE);
    }
    state = STATE_UNINSTALLING;
    for (n = notifiers; n != NULL; n = n->nextPtr) {
	Tcl_MutexLock(&n->lock);
	if (n->converted) {
	    if (n->stock != NULL) {
		MoveToStock(n);
	    }
	    __atomic_store_n(&n->converted, 0, __ATOMIC_RELEASE);
	    Wake(n);
	}
	Tcl_MutexUnlock(&n->lock);
    }
    Tcl_SetNotifier(&stockHooks);
    state = STATE_STOCK;
    generation++;
    Tcl_ConditionNotify(&stateChanged);
    Tcl_MutexUnlock(&notifierLock);
    TkuvPumpReselectAll();
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvNotifierIsEpoll --
 *
 *	1 while the epoll notifier is installed: a Tcl file handler then
 *	wakes its thread directly.
 *
 *----------------------------------------------------------------------
 */

int
TkuvNotifierIsEpoll(void)
{
    return __atomic_load_n(&state, __ATOMIC_ACQUIRE) == STATE_EPOLL;
}

#else /* !__linux__ */

int
TkuvNotifierIsEpoll(void)
{
    return 0;
}

#endif /* __linux__ */

/*
 *----------------------------------------------------------------------
 *
 * TkuvNotifierObjCmd --
 *
 *	tkuv::notifier ?stock|epoll?: the notifier in effect, after switching
 *	to the one named. Process-wide.
 *
 *----------------------------------------------------------------------
 */

int
TkuvNotifierObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const modes[] = {"stock", "epoll", NULL};
    int index;

    (void) clientData;
    if (objc > 2) {
	return TkuvWrongNumArgs(interp, 1, objv, "?stock|epoll?");
    }
    if (objc == 2) {
	if (TkuvGetIndex(interp, objv[1], modes, "notifier", &index)
		!= TCL_OK) {
	    return TCL_ERROR;
	}
#if defined(__linux__)
	if ((index == 1 ? Install(interp) : Uninstall(interp)) != TCL_OK) {
	    return TCL_ERROR;
	}
#else
	if (index == 1) {
	    return TkuvUsageError(interp, "tkuv::notifier epoll is not "
		    "available on this platform (Linux only)");
	}
#endif
    }
    Tcl_SetObjResult(interp, Tcl_NewStringObj(
	    TkuvNotifierIsEpoll() ? "epoll" : "stock", -1));
    return TCL_OK;
}

