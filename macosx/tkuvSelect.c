/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvSelect.c --
 *
 *	select() poller, for macOS: poll(2) does not report readiness of a
 *	kqueue fd there, select() does. A self-pipe carries wakes. Builds and
 *	runs on Linux too (select() on an epoll fd works), so this path is tested
 *	on every CI run with --with-poller=select.
 */

#include "tkuvInt.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/select.h>
#include <unistd.h>

struct TkuvPoller {
    int backend;
    int wakeRead, wakeWrite;
};

const char *
TkuvPollerName(void)
{
    return "select";
}

static int
SetFlags(
    int fd)
{
    return fcntl(fd, F_SETFD, FD_CLOEXEC) == 0
	    && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0;
}

int
TkuvPollerCreate(
    TkuvWaitable backend,
    TkuvPoller **pollerPtr)
{
    TkuvPoller *p;
    int fds[2], err;

    if (backend < 0 || backend >= FD_SETSIZE) {
	return UV_EINVAL;		/* select() cannot watch it. */
    }
    if (pipe(fds) != 0) {
	return uv_translate_sys_error(errno);
    }
    if (!SetFlags(fds[0]) || !SetFlags(fds[1]) || fds[0] >= FD_SETSIZE) {
	err = (fds[0] >= FD_SETSIZE) ? UV_EMFILE : uv_translate_sys_error(errno);
	close(fds[0]);
	close(fds[1]);
	return err;
    }
    p = TkuvAlloc(sizeof(TkuvPoller));
    p->backend = backend;
    p->wakeRead = fds[0];
    p->wakeWrite = fds[1];
    *pollerPtr = p;
    return 0;
}

int
TkuvPollerWait(
    TkuvPoller *p,
    int timeoutMs)
{
    fd_set readable;
    struct timeval tv, *tvPtr = NULL;
    int n, result = TKUV_POLL_TIMEOUT;
    char buf[64];

  again:
    FD_ZERO(&readable);
    if (p->backend >= 0) {
	FD_SET(p->backend, &readable);
    }
    FD_SET(p->wakeRead, &readable);
    if (timeoutMs >= 0) {
	tv.tv_sec = timeoutMs / 1000;
	tv.tv_usec = (timeoutMs % 1000) * 1000;
	tvPtr = &tv;
    }
    n = select((p->backend > p->wakeRead ? p->backend : p->wakeRead) + 1,
	    &readable, NULL, NULL, tvPtr);
    if (n < 0 && errno == EBADF && p->backend >= 0
	    && fcntl(p->backend, F_GETFD) < 0) {
	/*
	 * The backend was closed under us (a guest's foreign loop closed
	 * its fd). Forget it, as epoll does with a closed fd, and wait for
	 * wakes and the timeout only: failing at once would make every turn
	 * a tick, a busy loop between the two threads.
	 */
	p->backend = -1;
	goto again;
    }
    if (n < 0) {
	return errno == EINTR ? TKUV_POLL_WOKEN : uv_translate_sys_error(errno);
    }
    if (n > 0 && FD_ISSET(p->wakeRead, &readable)) {
	while (read(p->wakeRead, buf, sizeof(buf)) > 0) {
	    /* drain */
	}
	result = TKUV_POLL_WOKEN;
    }
    if (n > 0 && p->backend >= 0 && FD_ISSET(p->backend, &readable)
	    && result == TKUV_POLL_TIMEOUT) {
	result = TKUV_POLL_READY;
    }
    return result;
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
    ssize_t r;

    do {
	r = write(p->wakeWrite, "w", 1);
    } while (r < 0 && errno == EINTR);
    /* EAGAIN: the pipe is full of wakes already. */
}

void
TkuvPollerDestroy(
    TkuvPoller *p)
{
    close(p->wakeRead);
    close(p->wakeWrite);
    TkuvFree(p);
}
