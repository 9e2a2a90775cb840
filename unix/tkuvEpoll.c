/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvEpoll.c --
 *
 *	Linux poller: a private epoll set holding the loop's backend fd (itself
 *	an epoll fd, readable while it has events) and an eventfd for wakes.
 *	The backend is one-shot: once reported it stays disabled in our set
 *	(its events stay for uv_run to consume) until TkuvPollerRearm, so the
 *	poll thread can go straight back to waiting.
 */

#include "tkuvInt.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct TkuvPoller {
    int epfd;
    int wakefd;
    int backend;
};

#define BACKEND_EVENTS (EPOLLIN | EPOLLONESHOT)

const char *
TkuvPollerName(void)
{
    return "epoll";
}

int
TkuvPollerCreate(
    TkuvWaitable backend,
    TkuvPoller **pollerPtr)
{
    TkuvPoller *p = TkuvAlloc(sizeof(TkuvPoller));
    struct epoll_event ev;
    int err;

    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (p->epfd < 0) {
	err = uv_translate_sys_error(errno);
	TkuvFree(p);
	return err;
    }
    p->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->wakefd < 0) {
	err = uv_translate_sys_error(errno);
	close(p->epfd);
	TkuvFree(p);
	return err;
    }
    ev.events = EPOLLIN;
    ev.data.fd = p->wakefd;
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->wakefd, &ev) != 0) {
	goto fail;
    }
    p->backend = backend;
    ev.events = BACKEND_EVENTS;
    ev.data.fd = backend;
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, backend, &ev) != 0) {
	goto fail;
    }
    *pollerPtr = p;
    return 0;

  fail:
    err = uv_translate_sys_error(errno);
    close(p->wakefd);
    close(p->epfd);
    TkuvFree(p);
    return err;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvPollerWait --
 *
 *	Blocks until the backend is readable, the timeout (ms, -1 = none)
 *	runs out, or a wake. A wake is consumed here. A reported backend is
 *	disabled until TkuvPollerRearm.
 *
 *----------------------------------------------------------------------
 */

int
TkuvPollerWait(
    TkuvPoller *p,
    int timeoutMs)
{
    struct epoll_event events[2];
    int n, i, result = TKUV_POLL_TIMEOUT;
    uint64_t count;

    n = epoll_wait(p->epfd, events, 2, timeoutMs);
    if (n < 0) {
	/* EINTR: report a wake; the owner's tick simply recomputes. */
	return errno == EINTR ? TKUV_POLL_WOKEN : uv_translate_sys_error(errno);
    }
    for (i = 0; i < n; i++) {
	if (events[i].data.fd == p->wakefd) {
	    while (read(p->wakefd, &count, sizeof(count)) > 0) {
		/* drain */
	    }
	    if (result == TKUV_POLL_TIMEOUT) {
		result = TKUV_POLL_WOKEN;
	    }
	} else {
	    result = TKUV_POLL_READY;	/* and now disabled: say so */
	}
    }
    return result;
}

int
TkuvPollerIsOneShot(void)
{
    return 1;
}

void
TkuvPollerRearm(
    TkuvPoller *p)
{
    struct epoll_event ev;

    ev.events = BACKEND_EVENTS;
    ev.data.fd = p->backend;

    /*
     * Fails only if the backend fd was closed (a guest's loop went away):
     * then there is nothing left to watch, and its owner closes us.
     */
    (void) epoll_ctl(p->epfd, EPOLL_CTL_MOD, p->backend, &ev);
}

void
TkuvPollerWake(
    TkuvPoller *p)
{
    uint64_t one = 1;
    ssize_t r;

    do {
	r = write(p->wakefd, &one, sizeof(one));
    } while (r < 0 && errno == EINTR);
    /* EAGAIN means the counter is already non-zero: a wake is pending. */
}

void
TkuvPollerDestroy(
    TkuvPoller *p)
{
    close(p->wakefd);
    close(p->epfd);
    TkuvFree(p);
}
