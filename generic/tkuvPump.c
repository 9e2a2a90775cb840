/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvPump.c --
 *
 *	The poll thread and its handoff with the owning Tcl thread.
 *
 *	The poll thread only watches the backend: it waits (no timeout) until
 *	the backend has work or a wake comes, sets `ready` and alerts the
 *	owner. The owner's event-source check proc turns `ready` into one
 *	queued tick event; the tick event runs the tick proc (uv_run NOWAIT, or
 *	a guest's TICKCMD), which returns the next timeout. Timeouts are the
 *	owner's own business: its setup proc bounds Tcl's wait by the deadline
 *	(Tcl_SetMaxBlockTime) and its check proc queues a tick when it has
 *	passed, so no thread is woken for a timer. So the poll thread never
 *	touches loop state, and at most one tick event is ever queued.
 *
 *	After reporting the backend, the poll thread must not report the same
 *	unconsumed work again. With a one-shot poller (epoll) the backend is
 *	disabled in its set until the owner re-arms it after a tick (one
 *	epoll_ctl, no thread switch), and the poll thread goes straight back
 *	to waiting. Other pollers are level-triggered, so the poll thread
 *	waits on the `handoff` semaphore until the owner's tick has run: its
 *	"turn". Round trip of one event: one-shot, two thread wake-ups (poll
 *	thread, owner); otherwise three (and the owner posts the turn).
 *
 *	Two shortcuts keep the Tcl thread from involving the poll thread at
 *	all: a kick (the loop changed outside a tick) queues a tick on the
 *	owner, and a tick that leaves work for right away is followed by
 *	another one from the owner's own check proc (TkuvPumpKick,
 *	TickAgain); the backend stays disarmed (or the turn with the owner)
 *	meanwhile.
 *
 *	Why a flag + Tcl_ThreadAlert rather than Tcl_ThreadQueueEvent from the
 *	poll thread: the owner queues its own events, so no event is ever pushed
 *	into a thread that is tearing down, and the "one tick queued" rule is
 *	kept by owner-only state instead of cross-thread bookkeeping.
 */

#include "tkuvInt.h"
#include <string.h>

struct TkuvPump {
    /* Fixed at creation. */
    Tcl_ThreadId owner;
    TkuvPoller *poller;
    TkuvTickProc *tickProc;
    void *tickData;
    uv_thread_t thread;
    uv_sem_t handoff;		/* Owner -> poll thread: "your turn". */
    int oneShot;		/* TkuvPollerIsOneShot(). */

    /* Shared with the poll thread: guarded by lock. */
    uv_mutex_t lock;
    int ready;			/* Poll thread returned, owner not told yet. */
    int stopping;
    int wakePending;		/* A wake was sent and the poll thread has
				 * not returned since: coalesces
				 * TkuvPumpWakeAnyThread. */
    int turnWanted;		/* The poll thread waits on `handoff`. */
    int disarmed;		/* One-shot: the backend was reported and
				 * needs TkuvPollerRearm. */
    uint64_t wakeups;		/* Times the poll thread alerted the owner. */

    int joined;			/* Guarded by registryMutex. */

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

    TkuvPump *nextPump;		/* Process-wide list, for exit. */
};

typedef struct TickEvent {
    Tcl_Event header;		/* Must be first. */
    TkuvPump *pump;
} TickEvent;

#define NO_DEADLINE UINT64_MAX

TCL_DECLARE_MUTEX(registryMutex)
static TkuvPump *allPumps = NULL;

static void	PollThreadMain(void *arg);
static void	PumpSetupProc(ClientData clientData, int flags);
static void	PumpCheckProc(ClientData clientData, int flags);
static int	TickEventProc(Tcl_Event *evPtr, int flags);
static int	IsTickOf(Tcl_Event *evPtr, ClientData clientData);
static void	Resume(TkuvPump *pump);
static void	QueueTick(TkuvPump *pump);
static uint64_t	NowUs(void);
static void	TickAgain(TkuvPump *pump);
static void	IdleMark(ClientData clientData);
static void	StopThread(TkuvPump *pump);

/*
 *----------------------------------------------------------------------
 *
 * TkuvPumpCreate --
 *
 *	Starts a poll thread on `backend` owned by the calling Tcl thread.
 *	The first tick comes after `firstTimeout` ms (-1: when the backend
 *	has work or a kick).
 *
 * Results:
 *	0 and *pumpPtr set, or a negative libuv error code.
 *
 * Side effects:
 *	A thread and a Tcl event source are created.
 *
 *----------------------------------------------------------------------
 */

int
TkuvPumpCreate(
    TkuvWaitable backend,
    TkuvTickProc *tickProc,
    void *clientData,
    int firstTimeout,
    TkuvPump **pumpPtr)
{
    TkuvPump *pump = TkuvAlloc(sizeof(TkuvPump));
    int err;

    memset(pump, 0, sizeof(TkuvPump));
    pump->owner = Tcl_GetCurrentThread();
    pump->tickProc = tickProc;
    pump->tickData = clientData;
    pump->oneShot = TkuvPollerIsOneShot();
    pump->timeout = firstTimeout;
    pump->deadline = (firstTimeout < 0) ? NO_DEADLINE
	    : NowUs() + (uint64_t) firstTimeout * 1000;
    err = TkuvPollerCreate(backend, &pump->poller);
    if (err != 0) {
	TkuvFree(pump);
	return err;
    }
    if ((err = uv_sem_init(&pump->handoff, 0)) != 0) {
	TkuvPollerDestroy(pump->poller);
	TkuvFree(pump);
	return err;
    }
    if ((err = uv_mutex_init(&pump->lock)) != 0) {
	uv_sem_destroy(&pump->handoff);
	TkuvPollerDestroy(pump->poller);
	TkuvFree(pump);
	return err;
    }
    if ((err = uv_thread_create(&pump->thread, PollThreadMain, pump)) != 0) {
	uv_mutex_destroy(&pump->lock);
	uv_sem_destroy(&pump->handoff);
	TkuvPollerDestroy(pump->poller);
	TkuvFree(pump);
	return err;
    }
    Tcl_CreateEventSource(PumpSetupProc, PumpCheckProc, pump);

    Tcl_MutexLock(&registryMutex);
    pump->nextPump = allPumps;
    allPumps = pump;
    Tcl_MutexUnlock(&registryMutex);

    *pumpPtr = pump;
    return 0;
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
	result = TkuvPollerWait(pump->poller, -1);

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

/*
 *----------------------------------------------------------------------
 *
 * PumpSetupProc, PumpCheckProc --
 *
 *	The event source. Setup asks for no blocking when the poll thread
 *	already has news, and bounds the wait by the tick deadline (otherwise
 *	idle costs nothing); check queues the one tick event.
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
 * TickEventProc --
 *
 *	Runs the tick proc on the owning thread, then lets the poll thread
 *	watch the backend again (Resume) unless the tick left work for right
 *	away.
 *
 *----------------------------------------------------------------------
 */

static int
TickEventProc(
    Tcl_Event *evPtr,
    int flags)
{
    TkuvPump *pump = ((TickEvent *) evPtr)->pump;
    int timeout;

    if (!(flags & TCL_FILE_EVENTS)) {
	return 0;
    }
    pump->tickQueued = 0;
    pump->ticks++;

    /*
     * The `ready` the poll thread reports from here on needs another tick:
     * it may come from work this tick is already past. (Earlier reports
     * are served by this tick; a wake sent before the poll thread returned
     * was coalesced into that return.)
     */
    uv_mutex_lock(&pump->lock);
    pump->ready = 0;
    uv_mutex_unlock(&pump->lock);

    pump->inTick = 1;
    timeout = pump->tickProc(pump->tickData);
    pump->inTick = 0;
    if (pump->freeAfterTick) {
	TkuvFree(pump);
	return 1;
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
    return 1;
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
 *	by this thread's own check proc, instead of handing the turn to the
 *	poll thread only to be alerted back at once: that round trip cost two
 *	thread wake-ups per loop iteration. The next tick comes from the check
 *	proc, not straight from here, so timers and window-system events
 *	queued by other event sources go first; and it waits for one pass of
 *	idle handlers, so that Tk's redraws (idle handlers, which Tcl runs
 *	only when a pass finds no event) are not starved by a loop that keeps
 *	returning 0.
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
 *	After a tick: the poll thread may report the backend again. Re-arms a
 *	one-shot backend the poll thread reported (it is consumed now, or
 *	TkuvPollerRearm reports it again at once), or gives the poll thread
 *	its turn.
 *
 *----------------------------------------------------------------------
 */

static void
Resume(
    TkuvPump *pump)
{
    int rearm, turn;

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
 *	it runs the loop on this thread while the poll thread keeps waiting
 *	(it only observes the backend, so that is safe), which costs no
 *	thread switch. New fds and watchers reach the backend in that tick,
 *	and the tick sets the new deadline. Many kicks before the tick runs
 *	queue one tick; nothing is needed while a tick is queued, running or
 *	about to be queued (again): it recomputes.
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
 *	Like TkuvPumpKick but callable from any thread; coalesced until the
 *	poll thread next returns. On the owner thread no other thread is
 *	involved: a tick is queued, or follows the tick under way.
 *
 *----------------------------------------------------------------------
 */

void
TkuvPumpWakeAnyThread(
    TkuvPump *pump)
{
    int send;

    if (Tcl_GetCurrentThread() == pump->owner) {
	if (pump->inTick) {
	    pump->wakeInTick = 1;
	} else {
	    TkuvPumpKick(pump);
	}
	return;
    }
    uv_mutex_lock(&pump->lock);
    send = !pump->wakePending && !pump->stopping;
    pump->wakePending = 1;
    uv_mutex_unlock(&pump->lock);
    if (send) {
	TkuvPollerWake(pump->poller);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Accessors for tkuv::info.
 *
 *----------------------------------------------------------------------
 */

int
TkuvPumpIsWaiting(
    const TkuvPump *pump)
{
    uv_mutex_t *lock = (uv_mutex_t *) &pump->lock;
    int waiting;

    uv_mutex_lock(lock);
    waiting = !pump->turnWanted && !pump->disarmed;
    uv_mutex_unlock(lock);
    return waiting;
}

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

/*
 *----------------------------------------------------------------------
 *
 * StopThread --
 *
 *	Makes the poll thread leave wherever it is (waiting for its turn or
 *	waiting on the backend) and joins it. Idempotent.
 *
 *----------------------------------------------------------------------
 */

static void
StopThread(
    TkuvPump *pump)
{
    if (pump->joined) {
	return;
    }
    uv_mutex_lock(&pump->lock);
    pump->stopping = 1;
    uv_mutex_unlock(&pump->lock);
    TkuvPollerWake(pump->poller);
    uv_sem_post(&pump->handoff);
    uv_thread_join(&pump->thread);
    pump->joined = 1;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvPumpDestroy --
 *
 *	Owner thread: stops and joins the poll thread, removes the event
 *	source and any queued tick, frees the pump (after its tick if called
 *	from inside it).
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

    Tcl_DeleteEventSource(PumpSetupProc, PumpCheckProc, pump);
    Tcl_DeleteEvents(IsTickOf, pump);
    if (pump->idleWait) {
	Tcl_CancelIdleCall(IdleMark, pump);
    }
    TkuvPollerDestroy(pump->poller);
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
 *	none alerts a notifier that is being finalized. The pumps themselves
 *	stay allocated for their owners to destroy.
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
    }
    Tcl_MutexUnlock(&registryMutex);
}
