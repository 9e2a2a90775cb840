/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvBridge.c --
 *
 *	One libuv loop per Tcl thread, driven by a pump (tkuvPump.c). A tick
 *	runs uv_run(UV_RUN_NOWAIT) on the owning thread; libuv callbacks only
 *	queue Tcl events (tkuvHandle.c), so uv_run is never re-entered and a
 *	script may vwait, update or open a dialog from any callback.
 *
 *	The loop is part of the thread's record (TkuvThread), which holds
 *	everything tkuv keeps per thread; one thread exit handler tears it
 *	all down in one order (ThreadTeardown).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* on_exit, dladdr and RTLD_NODELETE, glibc */
#endif
#include "tkuvInt.h"
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#if defined(__GLIBC__)
#include <dlfcn.h>
#endif

/*
 * How long teardown waits for libuv's threadpool to finish the requests of
 * a closing loop (a file chunk being read or written, a name lookup, the
 * close of a file) before it abandons the loop to them.
 */
#define TEARDOWN_GRACE_MS	500

static Tcl_ThreadDataKey dataKey;	/* The thread's TkuvThread. */

TCL_DECLARE_MUTEX(exitMutex)
static int exitHandlerInstalled = 0;

/*
 * Loops abandoned at teardown to threadpool work that would not finish
 * (guarded by exitMutex). Each stays allocated and open for good: when its
 * work does finish, the pool thread writes into the request, queues it on
 * the loop under the loop's mutex and signals the loop's async fd, so none
 * of that may be freed or closed (a closed fd number could be reused).
 * Listing them keeps them reachable for leak checkers.
 */
static TkuvBridge *abandoned = NULL;

/*
 * Requests handed to libuv's threadpool whose callback has not run yet, in
 * every thread (TkuvPoolBegin/End). At process exit libuv's destructor
 * joins the pool threads, which waits for their work however stuck it is;
 * ExitWithoutJoin skips that while any request is out.
 */
#if defined(__GLIBC__)
static int poolInFlight = 0;
static void	InstallExitGuard(void);
static void	ExitWithoutJoin(int status, void *arg);
#endif

static int	BridgeTick(void *clientData);
static int	ComputeTimeout(TkuvBridge *bridge);
static void	ThreadTeardown(ClientData clientData);
static int	CloseLoop(TkuvBridge *bridge);
static void	ProcessExitProc(ClientData clientData);
static void	CloseStray(uv_handle_t *handle, void *arg);
static void	OnGraceOver(uv_timer_t *timer);
static void	Abandon(TkuvBridge *bridge);

/*
 *----------------------------------------------------------------------
 *
 * TkuvThreadGet --
 *
 *	The calling thread's record of everything tkuv keeps per thread,
 *	made (zeroed) on first use, when its one thread exit handler is
 *	registered: ThreadTeardown tears it all down, in its written order.
 *
 *----------------------------------------------------------------------
 */

TkuvThread *
TkuvThreadGet(void)
{
    TkuvThread *thr = Tcl_GetThreadData(&dataKey, sizeof(TkuvThread));

    if (!thr->teardownInstalled) {
	thr->teardownInstalled = 1;
	Tcl_CreateThreadExitHandler(ThreadTeardown, NULL);
    }
    return thr;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvBridgeGet --
 *
 *	Returns the calling thread's bridge, creating the loop and its pump
 *	on first use.
 *
 * Results:
 *	TCL_OK and *bridgePtr set, or TCL_ERROR with a message in interp.
 *
 *----------------------------------------------------------------------
 */

int
TkuvBridgeGet(
    Tcl_Interp *interp,
    TkuvBridge **bridgePtr)
{
    TkuvThread *thr = TkuvThreadGet();
    TkuvBridge *bridge;
    TkuvWaitable backend;
    int err;

    TkuvpReserveStdFds();
    if (thr->bridge != NULL) {
	*bridgePtr = thr->bridge;
	return TCL_OK;
    }
    if (thr->finalized) {
	return TkuvUsageError(interp,
		"tkuv: this thread's loop has already been shut down");
    }

    /*
     * Tcl's select() notifier thread makes its wake-up pipe when it starts,
     * lazily, at the first event wait. Started after a script has opened
     * 1,024 tkuv sockets, that pipe gets an fd past FD_SETSIZE and glibc
     * aborts; switching the service mode starts the thread now, while fds
     * are low (it would start anyway). A no-op with other notifiers.
     */
    Tcl_SetServiceMode(Tcl_SetServiceMode(TCL_SERVICE_ALL));

    bridge = TkuvAlloc(sizeof(TkuvBridge));
    memset(bridge, 0, sizeof(TkuvBridge));
    if ((err = uv_loop_init(&bridge->loop)) != 0) {
	TkuvFree(bridge);
	return TkuvUvError(interp, "creating the libuv loop", err);
    }
    bridge->loop.data = bridge;
    bridge->tickDue = UINT64_MAX;
    backend = TkuvpLoopWaitable(&bridge->loop);
    if (TkuvPumpCreate(interp, backend, 0, BridgeTick, bridge, -1,
	    &bridge->pump) != TCL_OK) {
	uv_loop_close(&bridge->loop);
	TkuvFree(bridge);
	return TCL_ERROR;
    }
    /* Only now: uv_loop_close above would refuse a loop with a handle. */
    uv_idle_init(&bridge->loop, &bridge->sweep);
    thr->bridge = bridge;
    TkuvpWatchStdChannels();

    Tcl_MutexLock(&exitMutex);
    if (!exitHandlerInstalled) {
	exitHandlerInstalled = 1;
	Tcl_CreateExitHandler(ProcessExitProc, NULL);
#if defined(__GLIBC__)
	InstallExitGuard();
#endif
    }
    Tcl_MutexUnlock(&exitMutex);

    *bridgePtr = bridge;
    return TCL_OK;
}

static void
OnSweep(
    uv_idle_t *idle)
{
    uv_idle_stop(idle);
}

/*
 *----------------------------------------------------------------------
 *
 * BridgeTick, ComputeTimeout --
 *
 *	The pump's tick, run on this thread from a Tcl event: one
 *	non-blocking pass of the loop (and one more if it leaves nothing
 *	alive: the sweep). Returns libuv's timeout: the ms after which the
 *	pump ticks again even if the backend reports nothing (the next
 *	timer), -1 for none. The pump turns it into its deadline, which
 *	bounds Tcl's own wait; tickDue keeps the same deadline in loop time
 *	for TkuvBridgeKickDue.
 *
 *----------------------------------------------------------------------
 */

static int
BridgeTick(
    void *clientData)
{
    TkuvBridge *bridge = clientData;

    TkuvpCheckStdFds();
    bridge->inTick = 1;
    uv_run(&bridge->loop, UV_RUN_NOWAIT);
    if (!uv_loop_alive(&bridge->loop)) {
	/*
	 * libuv drops a descriptor it has stopped watching (a stream that
	 * stopped reading at end of file or for backpressure) from its epoll
	 * set only when it polls, and a loop with nothing alive does not
	 * poll: the descriptor, still ready, would report the backend
	 * again and again. The sweep handle makes the loop alive for one
	 * pass that polls without waiting.
	 */
	uv_idle_start(&bridge->sweep, OnSweep);
	uv_run(&bridge->loop, UV_RUN_NOWAIT);
    }
    bridge->inTick = 0;
    return ComputeTimeout(bridge);
}

static int
ComputeTimeout(
    TkuvBridge *bridge)
{
    int timeout;

    /*
     * uv_backend_timeout answers 0 for a loop with nothing alive; for us
     * that means "sleep until kicked", not "spin".
     */
    uv_update_time(&bridge->loop);
    timeout = uv_loop_alive(&bridge->loop)
	    ? uv_backend_timeout(&bridge->loop) : -1;
    bridge->tickDue = (timeout < 0) ? UINT64_MAX
	    : uv_now(&bridge->loop) + (uint64_t) timeout;
    return timeout;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvBridgeKick, TkuvBridgeKickDue --
 *
 *	Called by commands that change the loop outside a tick: the pump
 *	queues a tick on this thread, whose timeout becomes the pump's new
 *	deadline. KickDue is for a new timer, due at `due` (loop time, ms):
 *	only one due before the pump's deadline (tickDue) needs that tick;
 *	for a later one the tick the deadline brings computes the timeout
 *	anew.
 *
 *----------------------------------------------------------------------
 */

void
TkuvBridgeKick(
    TkuvBridge *bridge)
{
    if (!bridge->inTick && !bridge->finalizing) {
	TkuvPumpKick(bridge->pump);
    }
}

void
TkuvBridgeKickDue(
    TkuvBridge *bridge,
    uint64_t due)
{
    if (due < bridge->tickDue) {
	TkuvBridgeKick(bridge);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ThreadTeardown --
 *
 *	The one thread exit handler (thread end; exit, after
 *	ProcessExitProc; Tcl_FinalizeThread of an embedder). Everything
 *	tkuv keeps for the thread goes, in this order:
 *
 *	1. `finalizing`: from here on a kick leaves the pump alone, a
 *	   socket never runs the loop, and a process handle that closes
 *	   hands its child to Tcl's reaper rather than wait for it.
 *	2. The pump: no more ticks; its poll thread is joined, or its file
 *	   handler deleted, while Tcl's notifier still exists.
 *	3. Socket channels: each leaves libuv as a plain descriptor taking
 *	   the bytes libuv had not sent, before any libuv handle closes
 *	   (a closed handle drops them); Tcl's last flush and close, after
 *	   every exit handler, write straight to it. Their companion
 *	   handles close on the way, without disconnecting.
 *	4. Handles: queued callback events are dropped, every handle still
 *	   open is closed (and its command deleted).
 *	5. Children still watched by process handles closed before the
 *	   teardown (interp deletion; a child ignoring SIGTERM) go to Tcl's
 *	   reaper: their watchers would hold the loop until the grace
 *	   period ended, and the loop would be abandoned.
 *	6. The loop: stray libuv handles are closed and it runs until the
 *	   close callbacks have fired and the threadpool has returned its
 *	   requests, then it is closed, or abandoned (CloseLoop).
 *	7. What the loop's callbacks used: the socket part (its handles'
 *	   close callbacks ran in step 6) and the read buffers, once no read
 *	   can come. These are Tcl objects, freed before Tcl finalizes the
 *	   thread's objects.
 *
 *	From step 6 on the thread refuses a new loop (finalized).
 *
 *----------------------------------------------------------------------
 */

static void
ThreadTeardown(
    ClientData clientData)
{
    TkuvThread *thr = Tcl_GetThreadData(&dataKey, sizeof(TkuvThread));
    TkuvBridge *bridge = thr->bridge;

    (void) clientData;
    if (bridge != NULL) {
	bridge->finalizing = 1;
	TkuvPumpDestroy(bridge->pump);
	bridge->pump = NULL;
    }
    if (thr->sock != NULL) {
	TkuvSockThreadExit(thr->sock);
    }
    if (bridge != NULL) {
	TkuvHandleCloseAll(bridge);
	TkuvProcessThreadExit(bridge);
    }
    thr->bridge = NULL;
    thr->finalized = 1;
    if (bridge != NULL && CloseLoop(bridge)) {
	TkuvFree(bridge);
    }
    if (thr->sock != NULL) {
	TkuvFree(thr->sock);
	thr->sock = NULL;
    }
    if (thr->readCache != NULL) {
	TkuvReadCacheFree(thr->readCache);
	thr->readCache = NULL;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * CloseLoop --
 *
 *	Teardown of a loop whose handles are all closing: runs it until
 *	the close callbacks have fired and the threadpool has returned the
 *	loop's requests, and closes it. Requests the pool has not started
 *	are cancelled; the pool is given TEARDOWN_GRACE_MS for those it is
 *	running, after which the loop is abandoned to them (Abandon): exit,
 *	thread end and the last interp's deletion never wait for a read
 *	that cannot end.
 *
 * Results:
 *	1 when the loop is closed (the caller frees the bridge), 0 when
 *	it was abandoned.
 *
 *----------------------------------------------------------------------
 */

static int
CloseLoop(
    TkuvBridge *bridge)
{
    int graceOver = 0;

    uv_walk(&bridge->loop, CloseStray, NULL);

    /*
     * Everything is closing. The grace timer is unreferenced: it does not
     * keep the loop alive, but it bounds each UV_RUN_ONCE's wait while the
     * loop is alive with requests on the pool.
     */
    uv_timer_init(&bridge->loop, &bridge->graceTimer);
    bridge->graceTimer.data = &graceOver;
    uv_timer_start(&bridge->graceTimer, OnGraceOver, TEARDOWN_GRACE_MS, 0);
    uv_unref((uv_handle_t *) &bridge->graceTimer);
    while (uv_loop_alive(&bridge->loop) && !graceOver) {
	uv_run(&bridge->loop, UV_RUN_ONCE);
    }
    if (uv_loop_alive(&bridge->loop)) {
	Abandon(bridge);
	return 0;
    }
    uv_close((uv_handle_t *) &bridge->graceTimer, NULL);
    uv_run(&bridge->loop, UV_RUN_NOWAIT);
    if (uv_loop_close(&bridge->loop) != 0) {
	Abandon(bridge);		/* Cannot happen: nothing is left. */
	return 0;
    }
    return 1;
}

static void
OnGraceOver(
    uv_timer_t *timer)
{
    *(int *) timer->data = 1;
}

/*
 *----------------------------------------------------------------------
 *
 * Abandon --
 *
 *	Teardown gives up on a loop whose threadpool requests did not finish
 *	in time (a read of a hung network file system, a name lookup waiting
 *	on a dead server). What is leaked, for good: the bridge and its loop
 *	(memory, the epoll and async descriptors), and each request record
 *	still on the pool with its buffer and the file it has open. All of it
 *	stays valid for the pool thread that finishes the work later.
 *
 *	libuv joins its pool threads when the process exits, which would
 *	wait for that work after all; on glibc an on_exit handler (run
 *	before libuv's destructor) ends the process with _exit instead, once
 *	Tcl's own exit processing is done.
 *
 *----------------------------------------------------------------------
 */

static void
Abandon(
    TkuvBridge *bridge)
{
    bridge->graceTimer.data = NULL;
    Tcl_MutexLock(&exitMutex);
    bridge->nextAbandoned = abandoned;
    abandoned = bridge;
    Tcl_MutexUnlock(&exitMutex);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvPoolBegin, TkuvPoolEnd, ExitWithoutJoin --
 *
 *	Every request given to libuv's threadpool (a file operation, a name
 *	lookup) is counted from its submission until its callback runs; an
 *	abandoned loop's requests are never uncounted. The on_exit handler,
 *	installed with the first loop and run after Tcl's (and Python's) own
 *	exit processing but before libuv's destructor, ends the process with
 *	_exit while any is out: a lookup waiting on a dead DNS server or a
 *	read of a hung file system cannot hold exit, in a thread that tore
 *	its loop down or in one that never did (another Tcl thread, a Python
 *	program, which never finalizes Tcl). Without requests out it returns
 *	and the process ends as usual.
 *
 *----------------------------------------------------------------------
 */

void
TkuvPoolBegin(void)
{
#if defined(__GLIBC__)
    __atomic_add_fetch(&poolInFlight, 1, __ATOMIC_RELAXED);
#endif
}

void
TkuvPoolEnd(void)
{
#if defined(__GLIBC__)
    __atomic_sub_fetch(&poolInFlight, 1, __ATOMIC_RELAXED);
#endif
}

#if defined(__GLIBC__)
/*
 * The guard is code of this library, run by exit() after Tcl is done; but
 * Tcl_Finalize (exit with TCL_FINALIZE_ON_EXIT, or an embedder's) unloads
 * every loaded library first. So the library is pinned (RTLD_NODELETE)
 * before the guard is installed, and without a pin there is no guard.
 * tkuv has no unload procedure, so nothing is lost by staying loaded.
 */

static void
InstallExitGuard(void)
{
    Dl_info self;

    if (dladdr((void *) ExitWithoutJoin, &self) == 0
	    || self.dli_fname == NULL
	    || dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE)
		== NULL) {
	return;
    }
    on_exit(ExitWithoutJoin, NULL);
}

static void
ExitWithoutJoin(
    int status,
    void *arg)
{
    (void) arg;
    if (__atomic_load_n(&poolInFlight, __ATOMIC_RELAXED) > 0) {
	fflush(NULL);
	_exit(status);
    }
}
#endif

static void
CloseStray(
    uv_handle_t *handle,
    void *arg)
{
    (void) arg;
    if (!uv_is_closing(handle)) {
	uv_close(handle, NULL);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ProcessExitProc --
 *
 *	exit: stop every poll thread in the process (they may belong to other
 *	threads) before Tcl's notifier goes away. The calling thread's loop is
 *	then torn down by its thread exit handler.
 *
 *----------------------------------------------------------------------
 */

static void
ProcessExitProc(
    ClientData clientData)
{
    (void) clientData;
    TkuvPumpStopAll();
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvBridgeRunOnce --
 *
 *	One pass of the loop outside a tick, for a blocking channel
 *	operation (wait != 0: a blocking connect, gets on an empty buffer, a
 *	blocking flush of tkuv::socket), or without waiting, so that a
 *	non-blocking operation makes the progress Tcl's own socket makes by
 *	asking the system (a connect that finished, a name looked up) even
 *	while no event loop runs. Safe because whatever watches the backend
 *	(a poll thread or Tcl's notifier: tkuvPump.c) only reports readiness
 *	and never runs the loop, and tkuv's callbacks only queue Tcl events
 *	or update records, so nothing re-enters Tcl or the loop. Afterwards
 *	the bridge is kicked, so that a tick recomputes the timeout.
 *
 * Results:
 *	0 when the loop cannot be run here (inside a tick, or teardown).
 *
 *----------------------------------------------------------------------
 */

int
TkuvBridgeRunOnce(
    TkuvBridge *bridge,
    int wait)
{
    if (bridge == NULL || bridge->inTick || bridge->finalizing) {
	return 0;
    }
    bridge->inTick = 1;
    uv_run(&bridge->loop, wait ? UV_RUN_ONCE : UV_RUN_NOWAIT);
    bridge->inTick = 0;
    TkuvBridgeKick(bridge);
    return 1;
}
