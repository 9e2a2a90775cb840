/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * echosrv.c --
 *
 *	The far end of every benchmark client: one process, one thread, epoll,
 *	three listening ports on 127.0.0.1 (chosen by the kernel):
 *
 *	  echo    every byte received is sent back;
 *	  sink    every byte received is dropped;
 *	  source  the client sends a decimal byte count and a newline, the
 *	          server sends that many bytes, then shuts its side down.
 *
 *	Prints "PORTS echo sink source" on stdout once listening and runs until
 *	killed (or stdin reaches EOF, so it cannot outlive the driver).
 *	It raises its own RLIMIT_NOFILE to the hard limit for the scale runs.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MODE_ECHO, MODE_SINK, MODE_SOURCE, MODE_STDIN };

#define BUF_SIZE (256 * 1024)

typedef struct Conn {
    int fd;
    int mode;
    int listener;		/* A listening socket of `mode`. */
    char *pending;		/* Echo bytes not yet written back. */
    size_t pendingLen, pendingOff;
    unsigned long long toSend;	/* Source: bytes still to send. */
    char request[32];		/* Source: the count line so far. */
    size_t requestLen;
    int requested;
    int outWanted;		/* EPOLLOUT currently registered. */
} Conn;

static int ep;
static char buffer[BUF_SIZE];
static char zeros[BUF_SIZE];

static void
die(const char *what)
{
    perror(what);
    exit(1);
}

static void
watch(Conn *c, int op, int out)
{
    struct epoll_event ev;

    ev.events = out ? EPOLLOUT : EPOLLIN;
    ev.data.ptr = c;
    c->outWanted = out;
    if (epoll_ctl(ep, op, c->fd, &ev) != 0) {
	die("epoll_ctl");
    }
}

static int
listen_on(int mode)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    Conn *c;

    if (fd < 0) {
	die("socket");
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
	die("bind");
    }
    if (listen(fd, 4096) != 0) {
	die("listen");
    }
    c = calloc(1, sizeof(Conn));
    c->fd = fd;
    c->mode = mode;
    c->listener = 1;
    watch(c, EPOLL_CTL_ADD, 0);
    {
	socklen_t len = sizeof(sa);

	getsockname(fd, (struct sockaddr *) &sa, &len);
    }
    return ntohs(sa.sin_port);
}

static void
drop(Conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->pending);
    free(c);
}

static void
accept_all(Conn *l)
{
    int one = 1;

    for (;;) {
	int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	Conn *c;

	if (fd < 0) {
	    if (errno == EINTR || errno == ECONNABORTED) {
		continue;
	    }
	    return;		/* EAGAIN, or EMFILE: retried on the next event. */
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = calloc(1, sizeof(Conn));
	c->fd = fd;
	c->mode = l->mode;
	watch(c, EPOLL_CTL_ADD, 0);
    }
}

/* Source: send until the socket is full or everything is sent. */
static int
pump_source(Conn *c)
{
    while (c->toSend > 0) {
	size_t n = c->toSend < BUF_SIZE ? (size_t) c->toSend : BUF_SIZE;
	ssize_t w = send(c->fd, zeros, n, MSG_NOSIGNAL);

	if (w < 0) {
	    if (errno == EAGAIN) {
		if (!c->outWanted) {
		    watch(c, EPOLL_CTL_MOD, 1);
		}
		return 0;
	    }
	    return -1;
	}
	c->toSend -= (size_t) w;
    }
    shutdown(c->fd, SHUT_WR);
    if (c->outWanted) {
	watch(c, EPOLL_CTL_MOD, 0);
    }
    return 0;
}

/* Echo: write back what is pending; stop reading while it cannot go. */
static int
flush_echo(Conn *c)
{
    while (c->pendingOff < c->pendingLen) {
	ssize_t w = send(c->fd, c->pending + c->pendingOff,
		c->pendingLen - c->pendingOff, MSG_NOSIGNAL);

	if (w < 0) {
	    if (errno == EAGAIN) {
		if (!c->outWanted) {
		    watch(c, EPOLL_CTL_MOD, 1);
		}
		return 0;
	    }
	    return -1;
	}
	c->pendingOff += (size_t) w;
    }
    c->pendingLen = c->pendingOff = 0;
    if (c->outWanted) {
	watch(c, EPOLL_CTL_MOD, 0);
    }
    return 0;
}

static int
readable(Conn *c)
{
    int rounds;

    for (rounds = 0; rounds < 16; rounds++) {
	ssize_t n = recv(c->fd, buffer, BUF_SIZE, 0);

	if (n == 0) {
	    return -1;
	}
	if (n < 0) {
	    return errno == EAGAIN ? 0 : -1;
	}
	if (c->mode == MODE_ECHO) {
	    ssize_t w = send(c->fd, buffer, (size_t) n, MSG_NOSIGNAL);

	    if (w < 0 && errno != EAGAIN) {
		return -1;
	    }
	    if (w < 0) {
		w = 0;
	    }
	    if (w < n) {
		c->pending = realloc(c->pending, (size_t) (n - w));
		memcpy(c->pending, buffer + w, (size_t) (n - w));
		c->pendingLen = (size_t) (n - w);
		c->pendingOff = 0;
		return flush_echo(c);	/* Registers EPOLLOUT, stops reading. */
	    }
	} else if (c->mode == MODE_SOURCE && !c->requested) {
	    ssize_t i;

	    for (i = 0; i < n; i++) {
		if (buffer[i] == '\n' || c->requestLen + 1 >= sizeof(c->request)) {
		    c->request[c->requestLen] = 0;
		    c->toSend = strtoull(c->request, NULL, 10);
		    c->requested = 1;
		    return pump_source(c);
		}
		c->request[c->requestLen++] = buffer[i];
	    }
	}
	if (n < BUF_SIZE) {
	    return 0;
	}
    }
    return 0;
}

int
main(void)
{
    struct rlimit rl;
    struct epoll_event events[256];
    int echo, sink, source;
    Conn in = {0};

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
    }
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
	die("epoll_create1");
    }
    echo = listen_on(MODE_ECHO);
    sink = listen_on(MODE_SINK);
    source = listen_on(MODE_SOURCE);
    in.fd = 0;
    in.mode = MODE_STDIN;
    {
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &in };

	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);	/* Fails for /dev/null: fine. */
    }
    printf("PORTS %d %d %d\n", echo, sink, source);
    fflush(stdout);

    for (;;) {
	int n = epoll_wait(ep, events, 256, -1), i;

	if (n < 0) {
	    if (errno == EINTR) {
		continue;
	    }
	    die("epoll_wait");
	}
	for (i = 0; i < n; i++) {
	    Conn *c = events[i].data.ptr;
	    int rc = 0;

	    if (c->mode == MODE_STDIN) {
		if (read(0, buffer, sizeof(buffer)) <= 0) {
		    return 0;
		}
		continue;
	    }
	    if (c->listener) {
		accept_all(c);
		continue;
	    }
	    if (events[i].events & EPOLLOUT) {
		rc = c->mode == MODE_SOURCE ? pump_source(c) : flush_echo(c);
	    } else if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		rc = readable(c);
	    }
	    if (rc < 0) {
		drop(c);
	    }
	}
    }
}
