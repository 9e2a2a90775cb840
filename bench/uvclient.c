/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * uvclient.c --
 *
 *	The raw libuv client: what this machine can do with no Tcl or Python
 *	in the way. Same workloads and output as bench/client.tcl:
 *
 *	  uvclient conns PORT C M MAXSEC   C connections, each M round trips
 *	                                   of 64 bytes (all connected first)
 *	  uvclient bulk PORT BYTES         receive BYTES from the source port
 *
 *	Prints one line: RESULT {"msgs": .., "secs": .., "cpu": .., ...}
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>
#include "cpu.h"

#define MSG 64

typedef struct Conn {
    uv_tcp_t tcp;
    size_t got;			/* Bytes of the current echo received. */
    long left;			/* Round trips still to start. */
} Conn;

static uv_loop_t *loop;
static char msg[MSG];
static char rbuf[65536];
static long connected, finished, total, msgs, nconns;
static unsigned long long bulkGot, bulkWant;
static double t0, t1, cpuStart, cpuEnd, vcsStart, vcsEnd, deadline;
static Conn *conns;
static int stopping;

static double
now(void)
{
    return uv_hrtime() / 1e9;
}

static void
alloc_cb(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    (void) h;
    (void) s;
    b->base = rbuf;
    b->len = sizeof(rbuf);
}

static void
write_cb(uv_write_t *req, int status)
{
    (void) status;
    free(req);
}

static void
send_msg(Conn *c)
{
    uv_write_t *req = malloc(sizeof(uv_write_t));
    uv_buf_t b = uv_buf_init(msg, MSG);

    c->left--;
    uv_write(req, (uv_stream_t *) &c->tcp, &b, 1, write_cb);
}

static void
stop_all(void)
{
    long i;

    if (stopping) {
	return;
    }
    stopping = 1;
    t1 = now();
    cpuEnd = process_cpu();
    vcsEnd = process_vcs();
    for (i = 0; i < nconns; i++) {
	uv_close((uv_handle_t *) &conns[i].tcp, NULL);
    }
}

static void
read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    Conn *c = (Conn *) s;

    (void) b;
    if (n < 0) {
	fprintf(stderr, "read: %s\n", uv_strerror((int) n));
	exit(1);
    }
    c->got += (size_t) n;
    while (c->got >= MSG) {
	c->got -= MSG;
	msgs++;
	if (c->left > 0 && now() < deadline) {
	    send_msg(c);
	} else if (++finished == nconns) {
	    stop_all();
	}
    }
}

static void
connect_cb(uv_connect_t *req, int status)
{
    long i;

    free(req);
    if (status < 0) {
	fprintf(stderr, "connect: %s\n", uv_strerror(status));
	exit(1);
    }
    if (++connected < nconns) {
	return;
    }
    cpuStart = process_cpu();
    vcsStart = process_vcs();
    t0 = now();
    deadline = t0 + atof(getenv("MAXSEC") ? getenv("MAXSEC") : "1e9");
    for (i = 0; i < nconns; i++) {
	uv_read_start((uv_stream_t *) &conns[i].tcp, alloc_cb, read_cb);
	send_msg(&conns[i]);
    }
}

static void
bulk_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void) b;
    if (n < 0) {
	uv_close((uv_handle_t *) s, NULL);
	return;
    }
    bulkGot += (unsigned long long) n;
}

static void
bulk_connected(uv_connect_t *req, int status)
{
    static char line[32];
    uv_write_t *w = malloc(sizeof(uv_write_t));
    uv_buf_t b;

    if (status < 0) {
	fprintf(stderr, "connect: %s\n", uv_strerror(status));
	exit(1);
    }
    t0 = now();
    snprintf(line, sizeof(line), "%llu\n", bulkWant);
    b = uv_buf_init(line, (unsigned) strlen(line));
    uv_write(w, req->handle, &b, 1, write_cb);
    uv_read_start(req->handle, alloc_cb, bulk_read);
    free(req);
}

int
main(int argc, char **argv)
{
    struct sockaddr_in sa;
    double cpu0, secs;
    struct rlimit rl;
    long i;

    if (argc < 4) {
	fprintf(stderr, "usage: uvclient conns PORT C M MAXSEC | bulk PORT BYTES\n");
	return 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
    }
    loop = uv_default_loop();
    memset(msg, 'x', MSG);
    uv_ip4_addr("127.0.0.1", atoi(argv[2]), &sa);
    if (strcmp(argv[1], "bulk") == 0) {
	uv_tcp_t tcp;
	uv_connect_t *req = malloc(sizeof(uv_connect_t));

	bulkWant = strtoull(argv[3], NULL, 10);
	uv_tcp_init(loop, &tcp);
	cpu0 = process_cpu();
	uv_tcp_connect(req, &tcp, (struct sockaddr *) &sa, bulk_connected);
	uv_run(loop, UV_RUN_DEFAULT);
	secs = now() - t0;
	printf("RESULT {\"bytes\": %llu, \"secs\": %.6f, \"cpu\": %.6f}\n",
		bulkGot, secs, process_cpu() - cpu0);
	return bulkGot == bulkWant ? 0 : 1;
    }
    if (argc < 6) {
	fprintf(stderr, "usage: uvclient conns PORT C M MAXSEC\n");
	return 2;
    }
    nconns = atol(argv[3]);
    total = atol(argv[4]);
    setenv("MAXSEC", argv[5], 1);
    conns = calloc((size_t) nconns, sizeof(Conn));
    for (i = 0; i < nconns; i++) {
	uv_connect_t *req = malloc(sizeof(uv_connect_t));
	int err;

	conns[i].left = total;
	uv_tcp_init(loop, &conns[i].tcp);
	if ((err = uv_tcp_connect(req, &conns[i].tcp, (struct sockaddr *) &sa,
		connect_cb)) != 0) {
	    fprintf(stderr, "connect: %s\n", uv_strerror(err));
	    return 1;
	}
    }
    uv_run(loop, UV_RUN_DEFAULT);
    /* Measured from the first message on, like the other clients. */
    printf("RESULT {\"msgs\": %ld, \"secs\": %.6f, \"cpu\": %.6f, "
	    "\"vcs\": %.0f}\n", msgs, t1 - t0, cpuEnd - cpuStart,
	    vcsEnd - vcsStart);
    return 0;
}
