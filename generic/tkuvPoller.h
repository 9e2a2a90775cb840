/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvPoller.h --
 *
 *	The interface every platform poller implements (unix/tkuvEpoll.c,
 *	macosx/tkuvSelect.c, win/tkuvIocp.c). A poller only observes whether a
 *	loop's backend (an epoll or kqueue fd, or an IOCP handle) has work; it
 *	never consumes that work, so the owning thread's uv_run still sees it.
 */

#ifndef TKUV_POLLER_H
#define TKUV_POLLER_H

#include <uv.h>			/* Brings windows.h in the right order. */

#include "tkuvPort.h"		/* TkuvWaitable: an fd or an IOCP. */

typedef struct TkuvPoller TkuvPoller;

/* Results of TkuvPollerWait; negative values are libuv error codes. */
enum {
    TKUV_POLL_TIMEOUT = 0,		/* the timeout ran out */
    TKUV_POLL_READY = 1,		/* the backend has work */
    TKUV_POLL_WOKEN = 2			/* TkuvPollerWake was called */
};

/*
 * TkuvPollerCreate stores a new poller in *pollerPtr and returns 0, or
 * returns a negative libuv error code. The waitable stays owned by the caller.
 */
int		TkuvPollerCreate(TkuvWaitable backend, TkuvPoller **pollerPtr);
int		TkuvPollerWait(TkuvPoller *poller, int timeoutMs);
void		TkuvPollerWake(TkuvPoller *poller);	/* any thread */
void		TkuvPollerDestroy(TkuvPoller *poller);
const char *	TkuvPollerName(void);

/*
 * A one-shot poller (TkuvPollerIsOneShot() is 1: epoll) reports the backend
 * once (TKUV_POLL_READY, which then wins over a wake in the same wait) and
 * ignores it until TkuvPollerRearm, which reports it again at once if it
 * still has work. The others report the backend for as long as it has work,
 * and their TkuvPollerRearm does nothing.
 */
int		TkuvPollerIsOneShot(void);
void		TkuvPollerRearm(TkuvPoller *poller);	/* any thread */

#endif /* TKUV_POLLER_H */
