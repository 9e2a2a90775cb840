/*
 * tkuvPump.c --
 *
 *	The poll thread and its handoff with the owning Tcl thread.
 *
 *	Turns alternate. The owning thread "hands off" by storing the next
 *	timeout and posting the semaphore; the poll thread then waits on the
 *	backend (ready, timeout or wake), sets `ready` and alerts the owner.
 *	The owner's event-source check proc turns `ready` into one queued tick
 *	event; the tick event runs the tick proc (uv_run NOWAIT, or a guest's
 *	TICKCMD) and hands off again. So the poll thread never touches loop
 *	state, and at most one tick event is ever queued.
 *
 *	Two shortcuts keep the Tcl thread from waking the poll thread only to
 *	be alerted back: a kick (the loop changed outside a tick) queues a
 *	"direct" tick on the owner while the poll thread keeps its turn, and a
 *	tick that leaves work for right away is followed by another one from
 *	the owner's own check proc (TkuvPumpKick, TickAgain).
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

    /* Shared with the poll thread: guarded by lock. */
    uv_mutex_t lock;
    int timeout;		/* For the next wait. */
    int ready;			/* Poll thread returned, owner not told yet. */
    int stopping;
    int wakePending;		/* A wake was sent and no tick has started
				 * since: coalesces TkuvPumpWakeAnyThread. */
    uint64_t wakeups;		/* Times the poll thread alerted the owner. */

    int joined;			/* Guarded by registryMutex. */

    /* Owner thread only. */
    int waiting;		/* The poll thread holds the turn. */
    int kicked;			/* A wake was sent during this turn. */
    uint64_t waitDue;		/* uv_hrtime (ms) the poll thread's wait ends
				 * by itself; UINT64_MAX for none. */
    int tickQueued;
    int again;			/* The last tick left work for right away:
				 * tick again without a thread round trip. */
    int idleWait;		/* ... but first let idle handlers (Tk's
				 * redraws) run once: IdleMark pending. */
    int inTick;
    int freeAfterTick;		/* Destroyed from inside its own tick. */
    uint64_t ticks;

    TkuvPump *nextPump;		/* Process-wide list, for exit. */
};

typedef struct TickEvent {
    Tcl_Event header;		/* Must be first. */
    TkuvPump *pump;
    int direct;			/* Queued by a kick while the poll thread
				 * holds the turn (see TkuvPumpKick). */
} TickEvent;

TCL_DECLARE_MUTEX(registryMutex)
static TkuvPump *allPumps = NULL;

static void	PollThreadMain(void *arg);
static void	PumpSetupProc(ClientData clientData, int flags);
static void	PumpCheckProc(ClientData clientData, int flags);
static int	TickEventProc(Tcl_Event *evPtr, int flags);
static int	IsTickOf(Tcl_Event *evPtr, ClientData clientData);
static void	Handoff(TkuvPump *pump, int timeout);
static void	QueueTick(TkuvPump *pump, int direct);
static uint64_t	NowMs(void);
static void	TickAgain(TkuvPump *pump);
static void	IdleMark(ClientData clientData);
static void	StopThread(TkuvPump *pump);

/*
 *----------------------------------------------------------------------
 *
 * TkuvPumpCreate --
 *
 *	Starts a poll thread on `backend` owned by the calling Tcl thread.
 *	The first wait uses `firstTimeout`.
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

    Handoff(pump, firstTimeout);
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
    int timeout, stop;

    for (;;) {
	uv_sem_wait(&pump->handoff);
	uv_mutex_lock(&pump->lock);
	stop = pump->stopping;
	timeout = pump->timeout;
	uv_mutex_unlock(&pump->lock);
	if (stop) {
	    break;
	}

	/*
	 * Whatever the result (ready, timeout, woken or an error such as a
	 * guest closing its fd) the owner must run a tick: it is the one that
	 * knows what to do next. Errors are not retried here, so a broken fd
	 * costs one tick per turn, not a spin on this thread.
	 */
	(void) TkuvPollerWait(pump->poller, timeout);

	uv_mutex_lock(&pump->lock);
	stop = pump->stopping;
	if (!stop) {
	    pump->ready = 1;
	    pump->wakePending = 0;
	    pump->wakeups++;
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
 *	The event source. Setup asks for no blocking only when the poll
 *	thread already has news (otherwise idle costs nothing); check queues
 *	the one tick event.
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

    if (!(flags & TCL_FILE_EVENTS)) {
	return;
    }
    uv_mutex_lock(&pump->lock);
    ready = pump->ready;
    uv_mutex_unlock(&pump->lock);
    if (ready || pump->again) {
	Tcl_Time zero = {0, 0};

	Tcl_SetMaxBlockTime(&zero);
    }
}

static void
PumpCheckProc(
    ClientData clientData,
    int flags)
{
    TkuvPump *pump = clientData;
    int ready;

    if (!(flags & TCL_FILE_EVENTS) || pump->tickQueued) {
	return;
    }
    uv_mutex_lock(&pump->lock);
    ready = pump->ready;
    pump->ready = 0;
    uv_mutex_unlock(&pump->lock);
    if (ready) {
	pump->waiting = 0;
	pump->again = 0;
	QueueTick(pump, 0);
    } else if (pump->again
	    && (!pump->idleWait || !(flags & TCL_IDLE_EVENTS))) {
	/*
	 * Direct while the poll thread holds the turn, a normal tick (that
	 * hands off) when this thread does.
	 */
	pump->again = 0;
	QueueTick(pump, pump->waiting);
    }
}

static void
QueueTick(
    TkuvPump *pump,
    int direct)
{
    TickEvent *ev = (TickEvent *) ckalloc(sizeof(TickEvent));

    ev->header.proc = TickEventProc;
    ev->pump = pump;
    ev->direct = direct;
    pump->tickQueued = 1;
    Tcl_QueueEvent(&ev->header, TCL_QUEUE_TAIL);
}

/*
 *----------------------------------------------------------------------
 *
 * TickEventProc --
 *
 *	Runs the tick proc on the owning thread and hands the turn back.
 *
 *----------------------------------------------------------------------
 */

static int
TickEventProc(
    Tcl_Event *evPtr,
    int flags)
{
    TkuvPump *pump = ((TickEvent *) evPtr)->pump;
    int direct = ((TickEvent *) evPtr)->direct;
    int timeout;

    if (!(flags & TCL_FILE_EVENTS)) {
	return 0;
    }
    pump->tickQueued = 0;
    pump->ticks++;

    /*
     * Wakes asked for from here on need another tick: this one may already
     * be past the point where it would see their work. Wakes asked for
     * before this point are served by this tick. (A direct tick leaves the
     * flag alone: the poll thread has not returned, so the wake that set
     * it is still to come.)
     */
    if (!direct) {
	uv_mutex_lock(&pump->lock);
	pump->wakePending = 0;
	uv_mutex_unlock(&pump->lock);
    }

    pump->inTick = 1;
    timeout = pump->tickProc(pump->tickData);
    pump->inTick = 0;
    if (pump->freeAfterTick) {
	TkuvFree(pump);
	return 1;
    }
    if (timeout == 0) {
	TickAgain(pump);
    } else if (!direct) {
	Handoff(pump, timeout);
    } else if (pump->waiting && !pump->kicked && timeout >= 0
	    && NowMs() + (uint64_t) timeout < pump->waitDue) {
	/*
	 * The poll thread still holds the turn, waiting with a deadline
	 * later than the one this tick found (an earlier timer): it must come
	 * back and take the new one.
	 */
	pump->kicked = 1;
	TkuvPollerWake(pump->poller);
    }
    return 1;
}

static uint64_t
NowMs(void)
{
    return uv_hrtime() / 1000000;
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
    ((TkuvPump *) clientData)->idleWait = 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Handoff --
 *
 *	Gives the turn to the poll thread with `timeout`.
 *
 *----------------------------------------------------------------------
 */

static void
Handoff(
    TkuvPump *pump,
    int timeout)
{
    uv_mutex_lock(&pump->lock);
    pump->timeout = timeout;
    uv_mutex_unlock(&pump->lock);
    pump->waiting = 1;
    pump->kicked = 0;
    pump->waitDue = (timeout < 0) ? UINT64_MAX : NowMs() + (uint64_t) timeout;
    uv_sem_post(&pump->handoff);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvPumpKick --
 *
 *	Owner thread: something changed that the poll thread's current wait
 *	does not cover (an earlier deadline, a new fd, a write to complete).
 *	When the owner holds the turn (a tick is queued or running), nothing
 *	is needed: the tick recomputes.
 *
 *	Otherwise the owner queues a "direct" tick for itself instead of
 *	waking the poll thread: the tick runs the loop on this thread while
 *	the poll thread keeps waiting (it only observes the backend, so that
 *	is safe), which costs no thread switch. New fds and watchers reach
 *	the backend in that tick, so the poll thread's wait covers them; only
 *	if the tick finds an earlier deadline than the poll thread's (or work
 *	left for right away) is the poll thread woken to take the new one.
 *	Many kicks before the tick runs queue one tick.
 *
 *----------------------------------------------------------------------
 */

void
TkuvPumpKick(
    TkuvPump *pump)
{
    if (pump->waiting && !pump->kicked && !pump->tickQueued
	    && !pump->inTick) {
	QueueTick(pump, 1);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvPumpWakeAnyThread --
 *
 *	Like TkuvPumpKick but callable from any thread; coalesced until the
 *	poll thread next returns.
 *
 *----------------------------------------------------------------------
 */

void
TkuvPumpWakeAnyThread(
    TkuvPump *pump)
{
    int send;

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
    return pump->waiting;
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
    /* Only the owner writes it (in Handoff), so the owner may read it. */
    return pump->timeout;
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
