/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvUnixPort.c --
 *
 *	The platform layer's Unix functions (unix/tkuvPort.h): file names,
 *	pipes, pids, services, signal dispositions, a guest's fd and the
 *	standard descriptors 0-2.
 */

#include "tkuvInt.h"
#include <signal.h>

/*
 *----------------------------------------------------------------------
 *
 * TkuvpFsPath --
 *
 *	The name libuv opens for a path Tcl has checked: Tcl's native form,
 *	which is already in the system encoding here.
 *
 *----------------------------------------------------------------------
 */

void
TkuvpFsPath(
    Tcl_Obj *pathObj,
    const char *native,
    Tcl_DString *dsPtr)
{
    (void) pathObj;
    Tcl_DStringInit(dsPtr);
    Tcl_DStringAppend(dsPtr, native, -1);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvpInputWaiting --
 *
 *	Whether reading the pipe `fd` would not block: data, end-of-file or
 *	an error.
 *
 *----------------------------------------------------------------------
 */

int
TkuvpInputWaiting(
    uv_os_fd_t fd)
{
    struct pollfd pfd;

    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    return poll(&pfd, 1, 0) > 0;	/* Data, end-of-file or an error. */
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvpDetachPid --
 *
 *	Gives a running child's pid to Tcl's reaper, which collects it the
 *	next time Tcl runs exec or closes a pipeline.
 *
 *----------------------------------------------------------------------
 */

void
TkuvpDetachPid(
    int pid)
{
    Tcl_Pid tclPid = (Tcl_Pid) (intptr_t) pid;

    Tcl_DetachPids(1, &tclPid);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvpServicePort --
 *
 *	A TCP service name (http, ...) from the services database.
 *
 * Results:
 *	1 and *portPtr set when the name is known, else 0.
 *
 *----------------------------------------------------------------------
 */

int
TkuvpServicePort(
    const char *name,
    int *portPtr)
{
    struct servent entry, *found = NULL;
    char buf[1024];

    if (getservbyname_r(name, "tcp", &entry, buf, sizeof(buf), &found)
	    == 0 && found != NULL) {
	*portPtr = ntohs((unsigned short) found->s_port);
	return 1;
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvpSignalStart, TkuvpSignalStop --
 *
 *	uv_signal_start and uv_signal_stop, keeping the process-wide count
 *	of tkuv handles per signal (in any thread): the last one to stop
 *	puts back the disposition the first one found (tkuvSignal.c).
 *
 * Results:
 *	TkuvpSignalStart: 0 or a libuv error code.
 *
 *----------------------------------------------------------------------
 */

TCL_DECLARE_MUTEX(dispositionMutex)
static int watchers[TKUV_MAX_SIGNAL + 1];
static struct sigaction savedAction[TKUV_MAX_SIGNAL + 1];

int
TkuvpSignalStart(
    uv_signal_t *uv,
    uv_signal_cb cb,
    int signum)
{
    int err;

    Tcl_MutexLock(&dispositionMutex);
    if (watchers[signum] == 0
	    && sigaction(signum, NULL, &savedAction[signum]) != 0) {
	Tcl_MutexUnlock(&dispositionMutex);
	return UV_EINVAL;
    }
    err = uv_signal_start(uv, cb, signum);
    if (err == 0) {
	watchers[signum]++;
    }
    Tcl_MutexUnlock(&dispositionMutex);
    return err;
}

void
TkuvpSignalStop(
    uv_signal_t *uv,
    int signum)
{
    struct sigaction now;
    struct sigaction *saved = &savedAction[signum];

    Tcl_MutexLock(&dispositionMutex);
    uv_signal_stop(uv);
    if (--watchers[signum] == 0
#ifdef SIGCHLD
	    && signum != SIGCHLD
#endif
	    && saved->sa_handler != SIG_DFL
	    && sigaction(signum, NULL, &now) == 0
	    && now.sa_handler == SIG_DFL) {
	/* libuv had no other handle left for it and reset it: put back. */
	sigaction(signum, saved, NULL);
    }
    Tcl_MutexUnlock(&dispositionMutex);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvpGuestWaitable --
 *
 *	A guest's -fd value as the waitable the pump waits on.
 *
 * Results:
 *	TCL_OK, or {TKUV EBADF ...} when no such descriptor is open.
 *
 *----------------------------------------------------------------------
 */

int
TkuvpGuestWaitable(
    Tcl_Interp *interp,
    Tcl_WideInt value,
    TkuvWaitable *waitablePtr)
{
    *waitablePtr = (int) value;
    if (fcntl(*waitablePtr, F_GETFD) < 0) {
	return TkuvUvError(interp, "guest -fd", UV_EBADF);
    }
    return TCL_OK;
}

/*
 * Set when a standard channel is closed (StdChannelClosed): the next tick
 * fills its descriptor before libuv can accept a connection into it.
 */
static int stdioMaybeFree = 0;

static void
StdChannelClosed(
    ClientData clientData)
{
    (void) clientData;
    __atomic_store_n(&stdioMaybeFree, 1, __ATOMIC_RELAXED);
}

/*
 * A tick makes descriptors without a command (accepted connections):
 * refill 0-2 first if a standard channel has been closed since.
 */

void
TkuvpCheckStdFds(void)
{
    if (__atomic_load_n(&stdioMaybeFree, __ATOMIC_RELAXED)
	    && __atomic_exchange_n(&stdioMaybeFree, 0, __ATOMIC_RELAXED)) {
	TkuvpReserveStdFds();
    }
}

/*
 * This thread's standard channels, when closed, will set stdioMaybeFree.
 */

void
TkuvpWatchStdChannels(void)
{
    static const int types[] = { TCL_STDIN, TCL_STDOUT, TCL_STDERR };
    Tcl_Channel chan;
    size_t i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
	if ((chan = Tcl_GetStdChannel(types[i])) != NULL) {
	    Tcl_CreateCloseHandler(chan, StdChannelClosed, NULL);
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvpReserveStdFds --
 *
 *	Fills each of descriptors 0-2 that is not open with /dev/null. A
 *	script that closed stdin (a daemon's habit) or was started with
 *	stdio closed would otherwise get libuv descriptors there: libuv never
 *	closes a stream on 0-2 (the peer never sees the end of a closed
 *	connection) and asserts, aborting the process, when its loop closes
 *	one. Called before every command makes descriptors, so it also covers
 *	stdin closed after the package was loaded, and by a tick after a
 *	standard channel was closed (TkuvpCheckStdFds), for descriptors made
 *	without a command. Left open across exec, so child processes get
 *	/dev/null there too, as a daemon's would.
 *
 *----------------------------------------------------------------------
 */

void
TkuvpReserveStdFds(void)
{
    int fd, filler;

    for (fd = 0; fd <= STDERR_FILENO; fd++) {
	if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) {
	    continue;
	}
	/* open() takes the lowest free descriptor: this one. */
	filler = open("/dev/null", O_RDWR);
	if (filler < 0) {
	    return;
	}
	if (filler > STDERR_FILENO) {
	    close(filler);		/* Another thread took the slot. */
	}
    }
}
