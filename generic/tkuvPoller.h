/*
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

#ifdef _WIN32
typedef HANDLE TkuvWaitable;		/* an I/O completion port */
#else
typedef int TkuvWaitable;		/* a pollable fd (epoll, kqueue ...) */
#endif

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

#endif /* TKUV_POLLER_H */
