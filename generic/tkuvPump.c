/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvPump.c --
 *
 *	How the owning Tcl thread learns that a waitable (a loop's backend,
 *	a guest's fd) has work, and the handoff that turns that into ticks.
 *
 *	Ticks. Whatever reports the waitable, the owner runs the tick proc
 *	(uv_run NOWAIT, or a guest's TICKCMD) on its own thread, from a Tcl
 *	event, and the tick returns the next timeout. Timeouts are the owner's
 *	own business: the setup proc of the pump's event source bounds Tcl's
 *	wait by the deadline (Tcl_SetMaxBlockTime) and its check proc queues a
 *	tick when it has passed, so no thread is woken for a timer. A tick is
 *	never re-entered (inTick), at most one tick event is ever queued, and
 *	the pump may be destroyed from inside its own tick (freeAfterTick).
 *
 *	Wait modes. The waitable is watched in one of two ways, chosen per
 *	pump when it is made and switched live by tkuv::waitmode (SetMode):
 *
 *	thread	  A poll thread waits on the waitable through the platform
 *		  poller (unix/tkuvEpoll.c, macosx/tkuvSelect.c,
 *		  win/tkuvIocp.c), sets `ready` and alerts the owner
 *		  (Tcl_ThreadAlert); the check proc turns `ready` into the
 *		  tick event. After reporting, the poll thread must not report
 *		  the same unconsumed work again: with a one-shot poller
 *		  (epoll) the waitable stays disabled in its set until the
 *		  owner re-arms it after the tick (Resume: one epoll_ctl, no
 *		  thread switch) and the poll thread goes straight back to
 *		  waiting; the level-triggered pollers wait on the `handoff`
 *		  semaphore until the owner's tick has run, their "turn".
 *		  Why a flag and Tcl_ThreadAlert rather than
 *		  Tcl_ThreadQueueEvent from the poll thread: the owner queues
 *		  its own events, so none is pushed into a thread that is
 *		  tearing down, and "one tick queued" is kept by owner-only
 *		  state.
 *
 *	notifier  The fd is given to Tcl's own notifier
 *		  (Tcl_CreateFileHandler); its file event calls FileProc on
 *		  the owner, which runs the tick at once. No thread of ours is
 *		  involved: with Tcl 9's epoll notifier (or tkuv's, see
 *		  unix/tkuvNotifier.c) the owner itself waits on the fd, with
 *		  Tcl 8.6's select() notifier its notifier thread does, as for
 *		  Tcl's own sockets. Tcl reports an fd for as long as it is
 *		  readable, so a report the owner cannot act on at once (during
 *		  a tick, which may run a nested vwait, update or dialog; while
 *		  a tick is queued or due again) deletes the file handler:
 *		  otherwise every pass of a nested event loop would be woken
 *		  by the same readiness, a busy loop. Resume creates it again
 *		  after the next tick, like the one-shot re-arm above; the
 *		  common case, a tick that consumes what was reported, touches
 *		  the handler not at all. A guest's fd is dup'ed first, so
 *		  that Tcl's notifier never holds an fd its caller closes (a
 *		  closed fd makes 8.6's notifier thread spin and Tcl 9's
 *		  panic) and two guests on one fd do not share Tcl's one
 *		  handler per fd; when a report finds the caller's fd closed
 *		  the dup goes too (FileProc).
 *
 *	Mode thread works everywhere. Mode notifier needs Tcl's notifier to
 *	wait on the fd (NotifierRefused): only in the epoll build (Linux; the
 *	select build stands in for macOS, whose notifier is the CFRunLoop, and
 *	Windows has IOCP), and with 8.6's select() notifier only for an fd
 *	below FD_SETSIZE. Auto picks the cheaper where both work
 *	(AutoPrefersNotifier, with the measurements). The request (auto,
 *	notifier, thread) is per thread: TKUV_WAIT when the thread's first
 *	pump is made, then tkuv::waitmode.
 *
 *	`wakeups` counts the times the backend alerted the owner, in both
 *	modes: poll-thread alerts, or FileProc calls. Two shortcuts involve no
 *	report at all: a kick (the loop changed outside a tick) queues a tick
 *	on the owner, and a tick that leaves work for right away is followed
 *	by another one from the owner's own check proc (TkuvPumpKick,
 *	TickAgain); meanwhile a reported waitable stays disarmed (one-shot
 *	poller, or file handler deleted by FileProc) or the turn stays with
 *	the owner.
 */

#include "tkuvInt.h"
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

enum { WAIT_AUTO, WAIT_NOTIFIER, WAIT_THREAD };
static const char *const waitNames[] = { "auto", "notifier", "thread", NULL };

struct TkuvPump {
    /* Fixed at creation. */
    Tcl_ThreadId owner;
    TkuvWaitable backend;
    int foreign;		/* TKUV_PUMP_FOREIGN: a guest's fd. */
    TkuvTickProc *tickProc;
    void *tickData;
    int oneShot;		/* TkuvPollerIsOneShot(). */

    /* Mode thread; the thread itself only reads `poller`. */
    TkuvPoller *poller;		/* NULL in mode notifier. */
    uv_thread_t thread;
    uv_sem_t handoff;		/* Owner -> poll thread: "your turn". */
    int threadRunning;		/* Guarded by registryMutex. */

    /* Mode notifier: owner thread only. */
    int fileFd;			/* The fd Tcl's notifier waits on, or -1. */
    int armed;			/* Its file handler exists. */
#if TKUVP_FILE_HANDLERS
    dev_t fileDev;		/* A guest's file, as it was when fileFd */
    ino_t fileIno;		/* was dup'ed from it (GuestFdClosed). */
#endif

    /* Shared with the poll thread and waking threads: guarded by lock. */
    uv_mutex_t lock;
    int mode;			/* WAIT_THREAD or WAIT_NOTIFIER (written
				 * by the owner under lock). */
    int ready;			/* Reported, owner not told yet. */
    int stopping;		/* The poll thread is to leave. */
    int closed;			/* Destroyed or process exit: no more
				 * wakes. */
    int wakePending;		/* A wake was sent and not yet served:
				 * coalesces TkuvPumpWakeAnyThread. */
    int turnWanted;		/* The poll thread waits on `handoff`. */
    int disarmed;		/* One-shot: the backend was reported and
				 * needs TkuvPollerRearm. */
    uint64_t wakeups;		/* Times the backend alerted the owner. */

    /* Owner thread only. */
    int timeout;		/* The last tick's answer, for tkuv::info. */
    uint64_t deadline;		/* uv_hrtime (us) for the next tick by
				 * timeout; UINT64_MAX for none. */
    int tickQueued;
    int again;			/* The last tick left work for right away:
				 * tick again without a thread round trip. */
    int idleWait;		/* ... but first let idle handlers (Tk's
				 * redraws) run once: IdleMark pending. */
    int passesWithoutIdle;	/* Passes the check proc saw idleWait:
				 * the second ticks anyway (PumpCheckProc). */
    int inTick;
    int wakeInTick;		/* The owner asked for a wake during a tick. */
    int freeAfterTick;		/* Destroyed from inside its own tick. */
    uint64_t ticks;

    TkuvPump *nextPump;		/* Process-wide list: exit, ReselectAll. */
};

typedef struct TickEvent {
    Tcl_Event header;		/* Must be first. */
    TkuvPump *pump;
} TickEvent;

#define NO_DEADLINE UINT64_MAX

/*
 * Per thread, in its TkuvThread: the wait request (waitRequest: WAIT_AUTO,
 * WAIT_NOTIFIER or WAIT_THREAD), tkuv::waitmode's last word, or TKUV_WAIT
 * read when the thread's first pump (its loop) was made; and whether Tk
 * was loaded in the interp of the last pump made or tkuv::waitmode call
 * (tk, NoteTk).
 */

TCL_DECLARE_MUTEX(registryMutex)
static TkuvPump *allPumps = NULL;

static int	GetRequest(Tcl_Interp *interp, int *requestPtr);
static int	NotifierRefused(Tcl_Interp *interp, int fd);
static int	EpollNotifier(void);
static void	NoteTk(Tcl_Interp *interp);
static int	AutoPrefersNotifier(void);
static int	ChooseMode(Tcl_Interp *interp, TkuvPump *pump, int request,
		    int *modePtr);
static int	ApplyRequest(Tcl_Interp *interp, TkuvPump *pump, int request);
static int	SetMode(Tcl_Interp *interp, TkuvPump *pump, int mode);
static int	StartThread(TkuvPump *pump);
static void	StopThread(TkuvPump *pump);
static void	DropPoller(TkuvPump *pump);
static int	ThreadPumps(TkuvPump ***pumpsPtr);
static void	PollThreadMain(void *arg);
#if TKUVP_FILE_HANDLERS
static int	StartNotifier(Tcl_Interp *interp, TkuvPump *pump);
static void	StopNotifier(TkuvPump *pump);
static int	GuestFdClosed(TkuvPump *pump);
static void	FileProc(ClientData clientData, int mask);
#endif
static void	Arm(TkuvPump *pump);
static void	Disarm(TkuvPump *pump);
static void	PumpSetupProc(ClientData clientData, int flags);
static void	PumpCheckProc(ClientData clientData, int flags);
static int	TickEventProc(Tcl_Event *evPtr, int flags);
static void	RunTick(TkuvPump *pump);
static int	IsTickOf(Tcl_Event *evPtr, ClientData clientData);
static void	Resume(TkuvPump *pump);
static void	QueueTick(TkuvPump *pump);
static uint64_t	NowUs(void);
static void	TickAgain(TkuvPump *pump);
static void	IdleMark(ClientData clientData);

/*
 *----------------------------------------------------------------------
 *
 * TkuvPumpCreate --
 *
 *	Starts watching `backend` for the calling Tcl thread, in the wait
 *	mode the thread asks for (tkuv::waitmode, TKUV_WAIT). The first tick
 *	comes after `firstTimeout` ms (-1: when the backend has work or a
 *	kick). With TKUV_PUMP_FOREIGN the backend is a caller's fd (a
 *	guest's), which mode notifier dups.
 *
 * Results:
 *	TCL_OK and *pumpPtr set, or TCL_ERROR with a message in interp.
 *
 * Side effects:
 *	A poll thread or a Tcl file handler, and a Tcl event source.
 *
 *----------------------------------------------------------------------
 */

int
TkuvPumpCreate(
    Tcl_Interp *interp,
    TkuvWaitable backend,
    int flags,
    TkuvTickProc *tickProc,
    void *clientData,
    int firstTimeout,
    TkuvPump **pumpPtr)
{
    TkuvPump *pump;
    int request = WAIT_AUTO, err;

    if (GetRequest(interp, &request) != TCL_OK) {
	return TCL_ERROR;
    }
    NoteTk(interp);
    pump = TkuvAlloc(sizeof(TkuvPump));
    memset(pump, 0, sizeof(TkuvPump));
    pump->owner = Tcl_GetCurrentThread();
    pump->backend = backend;
    pump->foreign = (flags & TKUV_PUMP_FOREIGN) != 0;
    pump->tickProc = tickProc;
    pump->tickData = clientData;
    pump->oneShot = TkuvPollerIsOneShot();
    pump->mode = -1;			/* Nothing watches yet. */
    pump->fileFd = -1;
    pump->timeout = firstTimeout;
    pump->deadline = (firstTimeout < 0) ? NO_DEADLINE
	    : NowUs() + (uint64_t) firstTimeout * 1000;
    if ((err = uv_sem_init(&pump->handoff, 0)) != 0) {
	TkuvFree(pump);
	return TkuvUvError(interp, "starting the pump", err);
    }
    if ((err = uv_mutex_init(&pump->lock)) != 0) {
	uv_sem_destroy(&pump->handoff);
	TkuvFree(pump);
	return TkuvUvError(interp, "starting the pump", err);
    }
    if (ApplyRequest(interp, pump, request) != TCL_OK) {
	uv_mutex_destroy(&pump->lock);
	uv_sem_destroy(&pump->handoff);
	TkuvFree(pump);
	return TCL_ERROR;
    }
    Tcl_CreateEventSource(PumpSetupProc, PumpCheckProc, pump);

    Tcl_MutexLock(&registryMutex);
    pump->nextPump = allPumps;
    allPumps = pump;
    Tcl_MutexUnlock(&registryMutex);

    *pumpPtr = pump;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * GetRequest --
 *
 *	The calling thread's wait request; read from TKUV_WAIT the first
 *	time (unset or empty means auto).
 *
 * Results:
 *	TCL_OK and *requestPtr set, or TCL_ERROR for a bad TKUV_WAIT (read
 *	again next time).
 *
 *----------------------------------------------------------------------
 */

static int
GetRequest(
    Tcl_Interp *interp,
    int *requestPtr)
{
    TkuvThread *thr = TkuvThreadGet();
    const char *value;
    int i;

    if (!thr->waitRequestRead) {
	value = getenv("TKUV_WAIT");
	thr->waitRequest = WAIT_AUTO;
	if (value != NULL && value[0] != '\0') {
	    for (i = 0; waitNames[i] != NULL; i++) {
		if (strcmp(value, waitNames[i]) == 0) {
		    break;
		}
	    }
	    if (waitNames[i] == NULL) {
		return TkuvUsageError(interp, "bad TKUV_WAIT value \"%s\": "
			"must be auto, notifier, or thread", value);
	    }
	    thr->waitRequest = i;
	}
	thr->waitRequestRead = 1;
    }
    *requestPtr = thr->waitRequest;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * NotifierRefused --
 *
 *	Can Tcl's notifier wait on `fd`? Only in the epoll
 *	build: the select build stands in for macOS, where Tcl's notifier is
 *	the CFRunLoop (which cannot wait on a kqueue fd), and on Windows the
 *	backend is an IOCP. Tcl 8.6's notifier (and Tcl 9's other than on
 *	Linux) uses select(), which takes only fds below FD_SETSIZE; Tcl 9's
 *	on Linux and tkuv's own (TkuvNotifierIsEpoll) use epoll.
 *
 * Results:
 *	0, or 1 with {TKUV ENOTSUP reason} in interp (if not NULL).
 *
 *----------------------------------------------------------------------
 */

static int
NotifierRefused(
    Tcl_Interp *interp,
    int fd)
{
    char why[160];

    if (strcmp(TkuvPollerName(), "epoll") != 0) {
	snprintf(why, sizeof(why), "the %s poller build waits with a poll "
		"thread only", TkuvPollerName());
#if TKUVP_FILE_HANDLERS
    } else if (fd >= FD_SETSIZE && !EpollNotifier()) {
	snprintf(why, sizeof(why), "fd %d is not below FD_SETSIZE (%d), the "
		"limit of Tcl's select() notifier", fd, (int) FD_SETSIZE);
#endif
    } else {
	return 0;
    }
    if (interp != NULL) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		"wait mode notifier is not available: %s", why));
	Tcl_SetErrorCode(interp, "TKUV", "ENOTSUP", why, NULL);
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * EpollNotifier, NoteTk, AutoPrefersNotifier --
 *
 *	Where both modes work, is mode notifier the cheaper? With an epoll
 *	notifier (Tcl 9 on Linux, or tkuv's) it is: the owner itself waits
 *	on the fd, no other thread is woken at all. With Tcl 8.6's select()
 *	notifier it depends on whether the thread already waits on fds:
 *	8.6 wakes its notifier thread (through its trigger pipe) every time a
 *	thread with file handlers starts or ends a wait. Tk's connection to
 *	the display is such a handler, so with Tk loaded that cost is paid
 *	anyway and notifier mode only saves the poll thread; without it, mode
 *	notifier brings the notifier thread in, and the poll thread is the
 *	cheaper hop. Measured: voluntary context switches of all the
 *	process's threads per 64-byte round trip over loopback to
 *	bench/echosrv, 20,000 round trips, tkuv::tcp and tkuv::socket alike
 *	(Tcl 8.6.13, libuv 1.44, 2 cores; Tcl's own socket for comparison):
 *
 *		    thread     notifier   Tcl's socket
 *	    tclsh   2.0-2.35   2.05-2.6   2.8
 *	    wish    3.5-4.1    2.0-2.1    2.5-2.6
 *
 *	(A Python asyncio guest in tkinter, bench/client.py tkuv-asyncio:
 *	thread 3.6-4.2, notifier 2.0-2.3.)
 *
 *	So auto is mode notifier in a thread with Tk (as seen when its loop,
 *	or a guest, was made, or at tkuv::waitmode), mode thread without.
 *
 *----------------------------------------------------------------------
 */

static int
EpollNotifier(void)
{
#ifdef __linux__
    int major;

    Tcl_GetVersion(&major, NULL, NULL, NULL);
    if (major >= 9) {
	return 1;
    }
#endif
    return TkuvNotifierIsEpoll();
}

static void
NoteTk(
    Tcl_Interp *interp)
{
    if (interp != NULL) {
	TkuvThreadGet()->tk = Tcl_GetVar2(interp, "tk_version", NULL,
		TCL_GLOBAL_ONLY) != NULL;
    }
}

static int
AutoPrefersNotifier(void)
{
    return EpollNotifier() || TkuvThreadGet()->tk;
}

/*
 *----------------------------------------------------------------------
 *
 * ChooseMode, ApplyRequest --
 *
 *	ChooseMode turns a request into the mode for one pump: an explicit
 *	notifier that cannot be had is an error {TKUV ENOTSUP reason}; auto
 *	then falls back to thread. ApplyRequest also puts the mode in place,
 *	falling back to thread for auto if mode notifier fails to start.
 *
 *----------------------------------------------------------------------
 */

static int
ChooseMode(
    Tcl_Interp *interp,
    TkuvPump *pump,
    int request,
    int *modePtr)
{
    Tcl_Interp *errInterp = (request == WAIT_NOTIFIER) ? interp : NULL;

    if (request == WAIT_THREAD) {
	*modePtr = WAIT_THREAD;
	return TCL_OK;
    }
    if (NotifierRefused(errInterp, TkuvpWaitableFd(pump->backend))) {
	if (request == WAIT_NOTIFIER) {
	    return TCL_ERROR;
	}
	*modePtr = WAIT_THREAD;
	return TCL_OK;
    }
    *modePtr = (request == WAIT_NOTIFIER || AutoPrefersNotifier())
	    ? WAIT_NOTIFIER : WAIT_THREAD;
    return TCL_OK;
}

static int
ApplyRequest(
    Tcl_Interp *interp,
    TkuvPump *pump,
    int request)
{
    int mode;

    if (ChooseMode(interp, pump, request, &mode) != TCL_OK) {
	return TCL_ERROR;
    }
    if (SetMode(interp, pump, mode) == TCL_OK) {
	return TCL_OK;
    }
    if (request != WAIT_AUTO || mode == WAIT_THREAD) {
	return TCL_ERROR;
    }
    if (interp != NULL) {
	Tcl_ResetResult(interp);
    }
    return SetMode(interp, pump, WAIT_THREAD);
}

/*
 *----------------------------------------------------------------------
 *
 * SetMode --
 *
 *	Owner thread: makes `mode` the pump's wait mode, stopping the other
 *	one. Safe at any time, inside a tick too. After a switch the owner
 *	runs one tick at once (`ready`), so nothing the old watcher saw or
 *	would have seen is lost.
 *
 * Results:
 *	TCL_OK, or TCL_ERROR (message in interp if not NULL) with the old
 *	mode still in place.
 *
 *----------------------------------------------------------------------
 */

static int
SetMode(
    Tcl_Interp *interp,
    TkuvPump *pump,
    int mode)
{
    int old = pump->mode, err;

    if (mode == old) {
	return TCL_OK;
    }
    if (mode == WAIT_THREAD) {
	/* Both watch for a moment: harmless, a report only asks a tick. */
	if ((err = StartThread(pump)) != 0) {
	    return interp == NULL ? TCL_ERROR
		    : TkuvUvError(interp, "starting the poll thread", err);
	}
#if TKUVP_FILE_HANDLERS
	StopNotifier(pump);
#endif
    } else {
#if TKUVP_FILE_HANDLERS
	if (StartNotifier(interp, pump) != TCL_OK) {
	    return TCL_ERROR;
	}
	Tcl_MutexLock(&registryMutex);
	StopThread(pump);
	Tcl_MutexUnlock(&registryMutex);
	DropPoller(pump);
#endif
    }
    uv_mutex_lock(&pump->lock);
    pump->mode = mode;
    if (old >= 0) {
	pump->ready = 1;
    }
    uv_mutex_unlock(&pump->lock);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * StartThread, StopThread, DropPoller --
 *
 *	Mode thread's poll thread. StartThread makes a poller and the thread
 *	(a libuv error code on failure); StopThread (called with
 *	registryMutex held, from any thread) makes the thread leave wherever
 *	it is, waiting for its turn or on the backend, and joins it;
 *	DropPoller (owner) frees the poller once the thread is gone.
 *
 *----------------------------------------------------------------------
 */

static int
StartThread(
    TkuvPump *pump)
{
    TkuvPoller *poller;
    int err;

    if ((err = TkuvPollerCreate(pump->backend, &poller)) != 0) {
	return err;
    }
    while (uv_sem_trywait(&pump->handoff) == 0) {
	/* A turn posted for an earlier thread. */
    }
    uv_mutex_lock(&pump->lock);
    pump->poller = poller;
    pump->stopping = 0;
    pump->turnWanted = 0;
    pump->disarmed = 0;
    pump->wakePending = 0;
    uv_mutex_unlock(&pump->lock);

    Tcl_MutexLock(&registryMutex);
    uv_mutex_lock(&pump->lock);
    err = pump->closed ? UV_ECANCELED : 0;	/* Process exit has begun. */
    uv_mutex_unlock(&pump->lock);
    if (err == 0) {
	err = uv_thread_create(&pump->thread, PollThreadMain, pump);
    }
    pump->threadRunning = (err == 0);
    Tcl_MutexUnlock(&registryMutex);
    if (err != 0) {
	DropPoller(pump);
    }
    return err;
}

static void
StopThread(
    TkuvPump *pump)
{
    if (!pump->threadRunning) {
	return;
    }
    uv_mutex_lock(&pump->lock);
    pump->stopping = 1;
    uv_mutex_unlock(&pump->lock);
    TkuvPollerWake(pump->poller);
    uv_sem_post(&pump->handoff);
    uv_thread_join(&pump->thread);
    pump->threadRunning = 0;
}

static void
DropPoller(
    TkuvPump *pump)
{
    TkuvPoller *poller;

    uv_mutex_lock(&pump->lock);
    poller = pump->poller;
    pump->poller = NULL;
    pump->turnWanted = 0;
    pump->disarmed = 0;
    pump->wakePending = 0;
    uv_mutex_unlock(&pump->lock);
    if (poller != NULL) {
	TkuvPollerDestroy(poller);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * PollThreadMain --
 *
 *	The poll thread: wait for the turn, wait on the backend, tell the
 *	owner, repeat until stopping.
 *
 *----------------------------------------------------------------------
 */

static void
PollThreadMain(
    void *arg)
{
    TkuvPump *pump = arg;
    TkuvPoller *poller = pump->poller;	/* Freed only after the join. */
    int result, stop, waitTurn = 0;

    for (;;) {
	if (waitTurn) {
	    uv_sem_wait(&pump->handoff);
	}
	uv_mutex_lock(&pump->lock);
	stop = pump->stopping;
	uv_mutex_unlock(&pump->lock);
	if (stop) {
	    break;
	}

	/*
	 * Whatever the result (ready, woken or an error such as a guest
	 * closing its fd) the owner must run a tick: it is the one that knows
	 * what to do next. After an error this thread waits for its turn, so
	 * a broken fd costs one tick per turn, not a spin on this thread.
	 */
	result = TkuvPollerWait(poller, -1);

	uv_mutex_lock(&pump->lock);
	stop = pump->stopping;
	if (!stop) {
	    pump->ready = 1;
	    pump->wakePending = 0;
	    pump->wakeups++;
	    if (!pump->oneShot || result < 0) {
		pump->turnWanted = 1;
	    } else if (result == TKUV_POLL_READY) {
		pump->disarmed = 1;
	    }
	    waitTurn = pump->turnWanted;
	}
	uv_mutex_unlock(&pump->lock);
	if (stop) {
	    break;
	}
	Tcl_ThreadAlert(pump->owner);
    }
}

#if TKUVP_FILE_HANDLERS
/*
 *----------------------------------------------------------------------
 *
 * StartNotifier, StopNotifier --
 *
 *	Mode notifier: give the fd to Tcl's notifier, or take it back. A
 *	guest's fd is dup'ed (see the header comment); the dup must pass
 *	NotifierRefused too.
 *
 *----------------------------------------------------------------------
 */

static int
StartNotifier(
    Tcl_Interp *interp,
    TkuvPump *pump)
{
    int fd = pump->backend;
    struct stat st;

    if (pump->foreign) {
	fd = fcntl(pump->backend, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
	    return interp == NULL ? TCL_ERROR : TkuvUvError(interp,
		    "giving the fd to Tcl's notifier",
		    uv_translate_sys_error(errno));
	}
	if (NotifierRefused(interp, fd)) {
	    close(fd);
	    return TCL_ERROR;
	}
	if (fstat(fd, &st) != 0) {
	    int err = uv_translate_sys_error(errno);

	    close(fd);
	    return interp == NULL ? TCL_ERROR : TkuvUvError(interp,
		    "giving the fd to Tcl's notifier", err);
	}
	pump->fileDev = st.st_dev;
	pump->fileIno = st.st_ino;
    }
    pump->fileFd = fd;
    Arm(pump);
    return TCL_OK;
}

/*
 * Has the caller closed the guest's fd (or reused its number for another
 * file) since fileFd was dup'ed from it? Our dup's own file never changes,
 * so only the caller's fd is looked at.
 */

static int
GuestFdClosed(
    TkuvPump *pump)
{
    struct stat st;

    return fstat(pump->backend, &st) != 0 || st.st_dev != pump->fileDev
	    || st.st_ino != pump->fileIno;
}

static void
StopNotifier(
    TkuvPump *pump)
{
    if (pump->fileFd < 0) {
	return;
    }
    Disarm(pump);
    if (pump->foreign) {
	close(pump->fileFd);
    }
    pump->fileFd = -1;
}

/*
 *----------------------------------------------------------------------
 *
 * FileProc --
 *
 *	Mode notifier: Tcl's notifier found the fd readable. Runs the tick
 *	at once if it may; otherwise (a tick is running, queued, or due
 *	again) deletes the file handler until the next Resume, so that Tcl
 *	does not report the same readiness over and over meanwhile, and
 *	during a tick keeps it in `ready` for the first pass after it.
 *
 *----------------------------------------------------------------------
 */

static void
FileProc(
    ClientData clientData,
    int mask)
{
    TkuvPump *pump = clientData;

    (void) mask;
    if (pump->foreign && GuestFdClosed(pump)) {
	/*
	 * The caller closed the guest's fd (and perhaps reused its number):
	 * our dup alone keeps that file open, and may report it forever (a
	 * pipe at end of file). Watch nothing more, as a poller does whose
	 * fd was closed: the guest goes on with its timeouts and wakes.
	 */
	StopNotifier(pump);
    }
    uv_mutex_lock(&pump->lock);
    pump->wakeups++;
    if (pump->inTick) {
	pump->ready = 1;
    }
    uv_mutex_unlock(&pump->lock);
    if (pump->inTick || pump->tickQueued || pump->again) {
	Disarm(pump);
	return;
    }
    RunTick(pump);
}
#endif /* TKUVP_FILE_HANDLERS */

/*
 *----------------------------------------------------------------------
 *
 * Arm, Disarm --
 *
 *	Mode notifier: create or delete the file handler. Cheap with every
 *	notifier: 8.6's edits the thread's select() masks, which its notifier
 *	thread reads when the thread next waits; epoll's is one epoll_ctl.
 *
 *----------------------------------------------------------------------
 */

static void
Arm(
    TkuvPump *pump)
{
#if TKUVP_FILE_HANDLERS
    if (!pump->armed && pump->fileFd >= 0) {
	Tcl_CreateFileHandler(pump->fileFd, TCL_READABLE, FileProc, pump);
	pump->armed = 1;
    }
#else
    (void) pump;
#endif
}

static void
Disarm(
    TkuvPump *pump)
{
#if TKUVP_FILE_HANDLERS
    if (pump->armed) {
	Tcl_DeleteFileHandler(pump->fileFd);
	pump->armed = 0;
    }
#else
    (void) pump;
#endif
}

/*
 *----------------------------------------------------------------------
 *
 * PumpSetupProc, PumpCheckProc --
 *
 *	The event source. Setup asks for no blocking when a report or a wake
 *	is waiting, and bounds the wait by the tick deadline (otherwise idle
 *	costs nothing); check queues the one tick event.
 *
 *----------------------------------------------------------------------
 */

static void
PumpSetupProc(
    ClientData clientData,
    int flags)
{
    TkuvPump *pump = clientData;
    int ready;

    if (!(flags & TCL_FILE_EVENTS) || pump->inTick) {
	return;				/* See PumpCheckProc. */
    }
    uv_mutex_lock(&pump->lock);
    ready = pump->ready;
    uv_mutex_unlock(&pump->lock);
    if (ready || pump->again) {
	Tcl_Time zero = {0, 0};

	Tcl_SetMaxBlockTime(&zero);
    } else if (pump->deadline != NO_DEADLINE) {
	uint64_t now = NowUs(), left;
	Tcl_Time block;

	left = (pump->deadline > now) ? pump->deadline - now : 0;
	block.sec = (long) (left / 1000000);
	block.usec = (long) (left % 1000000);
	Tcl_SetMaxBlockTime(&block);
    }
}

static void
PumpCheckProc(
    ClientData clientData,
    int flags)
{
    TkuvPump *pump = clientData;
    int ready;

    /*
     * A tick is never re-entered: a tick that runs a nested event loop
     * (vwait, update, a dialog) would otherwise be run again inside itself
     * for every readiness or deadline the nested loop sees, and a guest
     * closed by the inner run would be freed under the outer one. What is
     * reported meanwhile stays in `ready` for the first pass after the
     * tick; the setup proc does not shorten the nested loop's waits for it
     * either, so a nested loop costs nothing while it waits.
     */
    if (!(flags & TCL_FILE_EVENTS) || pump->tickQueued || pump->inTick) {
	return;
    }
    uv_mutex_lock(&pump->lock);
    ready = pump->ready;
    pump->ready = 0;
    uv_mutex_unlock(&pump->lock);
    if (ready) {
	QueueTick(pump);
    } else if (pump->again && (!pump->idleWait || !(flags & TCL_IDLE_EVENTS)
	    || ++pump->passesWithoutIdle > 1)) {
	/*
	 * The wait for idle handlers lasts one pass at most: a pass that
	 * finds an event runs none, and an event source may have one every
	 * pass (Tcl 9's channels re-arm a 0 ms timer while a nonblocking
	 * channel waits to flush), which would stop the loop for good.
	 */
	QueueTick(pump);
    } else if (pump->deadline != NO_DEADLINE && NowUs() >= pump->deadline) {
	QueueTick(pump);
    }
}

/*
 * The tick recomputes what `again` and `deadline` stood for.
 */

static void
QueueTick(
    TkuvPump *pump)
{
    TickEvent *ev = (TickEvent *) ckalloc(sizeof(TickEvent));

    ev->header.proc = TickEventProc;
    ev->pump = pump;
    pump->again = 0;
    pump->passesWithoutIdle = 0;
    pump->deadline = NO_DEADLINE;
    pump->tickQueued = 1;
    Tcl_QueueEvent(&ev->header, TCL_QUEUE_TAIL);
}

/*
 *----------------------------------------------------------------------
 *
 * TickEventProc, RunTick --
 *
 *	Run the tick proc on the owning thread, then let the backend be
 *	reported again (Resume) unless the tick left work for right away.
 *	RunTick is also called straight from FileProc.
 *
 *----------------------------------------------------------------------
 */

static int
TickEventProc(
    Tcl_Event *evPtr,
    int flags)
{
    TkuvPump *pump = ((TickEvent *) evPtr)->pump;

    if (!(flags & TCL_FILE_EVENTS)) {
	return 0;
    }
    pump->tickQueued = 0;
    RunTick(pump);
    return 1;
}

static void
RunTick(
    TkuvPump *pump)
{
    int timeout;

    pump->again = 0;
    pump->deadline = NO_DEADLINE;
    pump->ticks++;

    /*
     * A report from here on needs another tick: it may come from work
     * this tick is already past. (Earlier reports are served by this
     * tick; in mode thread a wake sent before the poll thread returned was
     * coalesced into that return, in mode notifier the wake is this tick.)
     */
    uv_mutex_lock(&pump->lock);
    pump->ready = 0;
    if (pump->mode == WAIT_NOTIFIER) {
	pump->wakePending = 0;
    }
    uv_mutex_unlock(&pump->lock);

    pump->inTick = 1;
    timeout = pump->tickProc(pump->tickData);
    pump->inTick = 0;
    if (pump->freeAfterTick) {
	TkuvFree(pump);
	return;
    }
    pump->timeout = timeout;
    if (timeout == 0 || pump->wakeInTick) {
	pump->wakeInTick = 0;
	TickAgain(pump);
    } else {
	if (timeout > 0) {
	    pump->deadline = NowUs() + (uint64_t) timeout * 1000;
	}
	Resume(pump);
    }
}

static uint64_t
NowUs(void)
{
    return uv_hrtime() / 1000;
}

/*
 *----------------------------------------------------------------------
 *
 * TickAgain, IdleMark --
 *
 *	A tick that leaves work for right away (timeout 0: a guest's ready
 *	callbacks, libuv's pending queue) is followed by another tick queued
 *	by this thread's own check proc, instead of re-arming the backend
 *	only to be told back at once: in mode thread that round trip cost
 *	two thread wake-ups per loop iteration. The next tick comes from the
 *	check proc, not straight from here, so timers and window-system
 *	events queued by other event sources go first; and it waits for one
 *	pass of idle handlers, so that Tk's redraws (idle handlers, which Tcl
 *	runs only when a pass finds no event) are not starved by a loop that
 *	keeps returning 0.
 *
 *----------------------------------------------------------------------
 */

static void
TickAgain(
    TkuvPump *pump)
{
    pump->again = 1;
    if (!pump->idleWait) {
	pump->idleWait = 1;
	Tcl_DoWhenIdle(IdleMark, pump);
    }
}

static void
IdleMark(
    ClientData clientData)
{
    TkuvPump *pump = clientData;

    /*
     * The pass that got here has polled for events (and its idle handlers,
     * Tk's redraws among them, run now): queue the tick at once rather
     * than let the next pass poll again only to find it due. Polling costs
     * a round trip through Tcl's notifier thread.
     */
    pump->idleWait = 0;
    if (pump->again && !pump->tickQueued && !pump->inTick) {
	QueueTick(pump);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Resume --
 *
 *	After a tick: the backend may be reported again. Mode notifier:
 *	creates the file handler again if a report deleted it. Mode thread:
 *	re-arms a one-shot backend the poll thread reported (it is consumed
 *	now, or TkuvPollerRearm reports it again at once), or gives the poll
 *	thread its turn.
 *
 *----------------------------------------------------------------------
 */

static void
Resume(
    TkuvPump *pump)
{
    int rearm, turn;

    if (pump->mode == WAIT_NOTIFIER) {
	Arm(pump);
	return;
    }
    uv_mutex_lock(&pump->lock);
    rearm = pump->disarmed;
    pump->disarmed = 0;
    turn = pump->turnWanted;
    pump->turnWanted = 0;
    uv_mutex_unlock(&pump->lock);
    if (rearm) {
	TkuvPollerRearm(pump->poller);
    }
    if (turn) {
	uv_sem_post(&pump->handoff);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvPumpKick --
 *
 *	Owner thread: something changed outside a tick (an earlier deadline,
 *	a new fd, a write to complete). The owner queues a tick for itself:
 *	it runs the loop on this thread while the backend stays watched (a
 *	watcher only observes, so that is safe), which costs no thread
 *	switch. New fds and watchers reach the backend in that tick, and the
 *	tick sets the new deadline. Many kicks before the tick runs queue one
 *	tick; nothing is needed while a tick is queued, running or about to
 *	be queued (again): it recomputes.
 *
 *----------------------------------------------------------------------
 */

void
TkuvPumpKick(
    TkuvPump *pump)
{
    if (!pump->tickQueued && !pump->inTick && !pump->again) {
	QueueTick(pump);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvPumpWakeAnyThread --
 *
 *	Like TkuvPumpKick but callable from any thread; coalesced until it
 *	is served. On the owner thread no other thread is involved: a tick
 *	is queued, or follows the tick under way. From another thread: the
 *	poll thread is woken (mode thread) or the owner alerted (mode
 *	notifier), under the lock so that a mode switch or the pump's end
 *	cannot come in between.
 *
 *----------------------------------------------------------------------
 */

void
TkuvPumpWakeAnyThread(
    TkuvPump *pump)
{
    if (Tcl_GetCurrentThread() == pump->owner) {
	if (pump->inTick) {
	    pump->wakeInTick = 1;
	} else {
	    TkuvPumpKick(pump);
	}
	return;
    }
    uv_mutex_lock(&pump->lock);
    if (!pump->wakePending && !pump->closed) {
	pump->wakePending = 1;
	if (pump->mode == WAIT_THREAD) {
	    TkuvPollerWake(pump->poller);
	} else {
	    pump->ready = 1;
	    Tcl_ThreadAlert(pump->owner);
	}
    }
    uv_mutex_unlock(&pump->lock);
}

/*
 *----------------------------------------------------------------------
 *
 * Accessors for tkuv::info and $guest info.
 *
 *----------------------------------------------------------------------
 */

uint64_t
TkuvPumpTicks(
    const TkuvPump *pump)
{
    return pump->ticks;
}

uint64_t
TkuvPumpWakeups(
    TkuvPump *pump)
{
    uint64_t n;

    uv_mutex_lock(&pump->lock);
    n = pump->wakeups;
    uv_mutex_unlock(&pump->lock);
    return n;
}

int
TkuvPumpTimeout(
    const TkuvPump *pump)
{
    return pump->timeout;		/* Owner thread only. */
}

const char *
TkuvPumpWaitName(
    const TkuvPump *pump)
{
    return waitNames[pump->mode];	/* Owner thread only. */
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvPumpDestroy --
 *
 *	Owner thread: stops watching (joins the poll thread or deletes the
 *	file handler), removes the event source and any queued tick, frees
 *	the pump (after its tick if called from inside it).
 *
 *----------------------------------------------------------------------
 */

void
TkuvPumpDestroy(
    TkuvPump *pump)
{
    TkuvPump **pp;

    Tcl_MutexLock(&registryMutex);
    for (pp = &allPumps; *pp != NULL; pp = &(*pp)->nextPump) {
	if (*pp == pump) {
	    *pp = pump->nextPump;
	    break;
	}
    }
    StopThread(pump);
    Tcl_MutexUnlock(&registryMutex);
    uv_mutex_lock(&pump->lock);
    pump->closed = 1;
    uv_mutex_unlock(&pump->lock);

    Tcl_DeleteEventSource(PumpSetupProc, PumpCheckProc, pump);
    Tcl_DeleteEvents(IsTickOf, pump);
    if (pump->idleWait) {
	Tcl_CancelIdleCall(IdleMark, pump);
    }
#if TKUVP_FILE_HANDLERS
    StopNotifier(pump);
#endif
    DropPoller(pump);
    uv_sem_destroy(&pump->handoff);
    uv_mutex_destroy(&pump->lock);
    if (pump->inTick) {
	pump->freeAfterTick = 1;
    } else {
	TkuvFree(pump);
    }
}

static int
IsTickOf(
    Tcl_Event *evPtr,
    ClientData clientData)
{
    return evPtr->proc == TickEventProc
	    && ((TickEvent *) evPtr)->pump == (TkuvPump *) clientData;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvPumpStopAll --
 *
 *	Process exit: joins every poll thread, whichever thread owns it, so
 *	none alerts a notifier that is being finalized, and drops later
 *	wakes from other threads. The pumps themselves stay allocated (and
 *	file handlers in place) for their owners to destroy.
 *
 *----------------------------------------------------------------------
 */

void
TkuvPumpStopAll(void)
{
    TkuvPump *pump;

    Tcl_MutexLock(&registryMutex);
    for (pump = allPumps; pump != NULL; pump = pump->nextPump) {
	StopThread(pump);
	uv_mutex_lock(&pump->lock);
	pump->closed = 1;
	uv_mutex_unlock(&pump->lock);
    }
    Tcl_MutexUnlock(&registryMutex);
}

/*
 *----------------------------------------------------------------------
 *
 * ThreadPumps --
 *
 *	The calling thread's pumps, in a TkuvAlloc'ed array (the caller
 *	frees it), so that they can be switched without holding
 *	registryMutex (SetMode takes it). Only their owner destroys them.
 *
 *----------------------------------------------------------------------
 */

static int
ThreadPumps(
    TkuvPump ***pumpsPtr)
{
    Tcl_ThreadId self = Tcl_GetCurrentThread();
    TkuvPump *pump, **pumps;
    int n = 0;

    Tcl_MutexLock(&registryMutex);
    for (pump = allPumps; pump != NULL; pump = pump->nextPump) {
	n += (pump->owner == self);
    }
    pumps = TkuvAlloc(sizeof(TkuvPump *) * (n + 1));
    n = 0;
    for (pump = allPumps; pump != NULL; pump = pump->nextPump) {
	if (pump->owner == self) {
	    pumps[n++] = pump;
	}
    }
    Tcl_MutexUnlock(&registryMutex);
    *pumpsPtr = pumps;
    return n;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvPumpReselectAll --
 *
 *	Re-chooses the wait mode of every pump of the calling thread, after
 *	a notifier was installed or uninstalled (unix/tkuvNotifier.c): what
 *	Tcl's notifier can wait on may have changed, and a pump that stays
 *	in mode notifier gives its fd to the notifier now in place. An
 *	explicit notifier request that can no longer be had falls back to
 *	thread here (there is no caller to tell).
 *
 *----------------------------------------------------------------------
 */

void
TkuvPumpReselectAll(void)
{
    TkuvThread *thr = TkuvThreadGet();
    TkuvPump **pumps;
    int i, n;

    if (!thr->waitRequestRead) {
	return;				/* No pump in this thread yet. */
    }
    n = ThreadPumps(&pumps);
    for (i = 0; i < n; i++) {
	if (pumps[i]->mode == WAIT_NOTIFIER) {
	    Disarm(pumps[i]);
	    Arm(pumps[i]);
	}
	if (ApplyRequest(NULL, pumps[i], thr->waitRequest) != TCL_OK) {
	    (void) ApplyRequest(NULL, pumps[i], WAIT_AUTO);
	}
    }
    TkuvFree(pumps);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvWaitModeObjCmd --
 *
 *	tkuv::waitmode ?auto|notifier|thread?: the calling thread's wait
 *	request, or switches its loop and guests to it. A request some pump
 *	cannot follow is an error and changes nothing.
 *
 *----------------------------------------------------------------------
 */

int
TkuvWaitModeObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    TkuvThread *thr;
    TkuvBridge *bridge;
    TkuvPump **pumps;
    int i, n, mode, request, code = TCL_OK;

    (void) clientData;
    if (objc > 2) {
	return TkuvWrongNumArgs(interp, 1, objv, "?auto|notifier|thread?");
    }
    if (TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }
    thr = TkuvThreadGet();
    NoteTk(interp);
    if (objc == 2) {
	if (TkuvGetIndex(interp, objv[1], waitNames, "wait mode", &request)
		!= TCL_OK) {
	    return TCL_ERROR;
	}
	n = ThreadPumps(&pumps);
	for (i = 0; i < n && code == TCL_OK; i++) {
	    code = ChooseMode(interp, pumps[i], request, &mode);
	}
	for (i = 0; i < n && code == TCL_OK; i++) {
	    code = ApplyRequest(interp, pumps[i], request);
	}
	TkuvFree(pumps);
	if (code != TCL_OK) {
	    return TCL_ERROR;
	}
	thr->waitRequest = request;
    }
    Tcl_SetObjResult(interp, Tcl_NewStringObj(waitNames[thr->waitRequest], -1));
    return TCL_OK;
}
