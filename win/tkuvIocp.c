/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvIocp.c --
 *
 *	Windows poller. libuv's Windows backend is an I/O completion port
 *	(uv_backend_fd is -1 there). The poll thread dequeues one packet to
 *	learn that work arrived, then posts it back unchanged so uv_run still
 *	sees it: libuv reads a request's status from its OVERLAPPED, not from
 *	the dequeue, so the re-posted packet is handled exactly as the original.
 *
 *	Wakes are packets with our own key and no OVERLAPPED. The poll thread
 *	swallows them; if uv_run dequeues one first, libuv ignores packets
 *	without an OVERLAPPED, so a stray wake is harmless.
 */

#include "tkuvInt.h"

struct TkuvPoller {
    HANDLE iocp;
};

static char wakeKeyTag;		/* Its address is the wake packets' key. */
#define WAKE_KEY ((ULONG_PTR) &wakeKeyTag)

const char *
TkuvPollerName(void)
{
    return "iocp";
}

int
TkuvPollerCreate(
    TkuvWaitable backend,
    TkuvPoller **pollerPtr)
{
    TkuvPoller *p;

    if (backend == NULL || backend == INVALID_HANDLE_VALUE) {
	return UV_EINVAL;
    }
    p = TkuvAlloc(sizeof(TkuvPoller));
    p->iocp = backend;
    *pollerPtr = p;
    return 0;
}

int
TkuvPollerWait(
    TkuvPoller *p,
    int timeoutMs)
{
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED *overlapped = NULL;
    BOOL ok;

    ok = GetQueuedCompletionStatus(p->iocp, &bytes, &key, &overlapped,
	    timeoutMs < 0 ? INFINITE : (DWORD) timeoutMs);
    if (overlapped != NULL) {
	/* A real completion (successful or failed): give it back to libuv. */
	if (!PostQueuedCompletionStatus(p->iocp, bytes, key, overlapped)) {
	    return uv_translate_sys_error((int) GetLastError());
	}
	return TKUV_POLL_READY;
    }
    if (ok) {
	/* A packet without OVERLAPPED: ours, or a wake-up posted by libuv. */
	if (key == WAKE_KEY) {
	    return TKUV_POLL_WOKEN;
	}
	PostQueuedCompletionStatus(p->iocp, bytes, key, NULL);
	return TKUV_POLL_READY;
    }
    if (GetLastError() == WAIT_TIMEOUT) {
	return TKUV_POLL_TIMEOUT;
    }
    return uv_translate_sys_error((int) GetLastError());
}

/*
 * Level-triggered: the poll thread waits for its turn after each report.
 */

int
TkuvPollerIsOneShot(void)
{
    return 0;
}

void
TkuvPollerRearm(
    TkuvPoller *p)
{
    (void) p;
}

void
TkuvPollerWake(
    TkuvPoller *p)
{
    PostQueuedCompletionStatus(p->iocp, 0, WAKE_KEY, NULL);
}

void
TkuvPollerDestroy(
    TkuvPoller *p)
{
    /* The port belongs to the loop (or the guest); nothing to close. */
    TkuvFree(p);
}
