/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvConnect.c --
 *
 *	Connecting to a host: what tkuv::tcp connect and tkuv::socket share.
 *	The name is looked up (on libuv's threadpool, or on the calling
 *	thread when the caller asks), giving a list of addresses, IPv4 ones
 *	first; each is tried in turn, the next one when an attempt fails, and
 *	when none is left the last error is reported (the model is Tcl's
 *	tclUnixSock.c: TcpConnect). So a name that resolves to 127.0.0.1 and
 *	::1 reaches a server listening on either.
 *
 *	Each attempt is a socket of its own, made here, connected without
 *	blocking and watched with a uv_poll_t until it is writable; the caller
 *	gets the connected descriptor and adopts it (uv_tcp_open). Why not
 *	uv_tcp_connect on the caller's uv_tcp_t: a socket whose connect failed
 *	cannot be connected again and the next address may be of the other
 *	family, so every attempt after a failure needs a fresh socket, and a
 *	uv_tcp_t cannot be re-initialised before its close callback has run.
 *	tkuv::tcp embeds its uv_tcp_t in the handle record, whose close the
 *	handle layer owns; here the caller's handle stays untouched until there
 *	is a connection to give it. The same holds when tkuv::socket moves a
 *	connecting channel to another thread: the attempt's socket simply
 *	leaves one loop (TkuvConnectSuspend) and is watched on the next.
 */

#include "tkuvInt.h"
#include <string.h>

typedef struct LookUpReq {
    uv_getaddrinfo_t req;
    TkuvConnect *c;		/* NULL once abandoned. */
} LookUpReq;

typedef struct Attempt {
    uv_poll_t poll;
    TkuvConnect *c;		/* NULL once abandoned. */
    uv_os_sock_t sock;		/* Closed with the poll unless taken. */
} Attempt;

struct TkuvConnect {
    TkuvConnectProc *proc;
    void *clientData;
    TkuvBridge *bridge;		/* NULL while suspended. */
    char *host;
    int port, family;
    struct sockaddr_storage *addrs;	/* NULL until looked up. */
    int numAddrs, next;
    struct sockaddr_storage *locals;	/* Where to bind, or NULL. */
    int numLocals;
    LookUpReq *lookUp;		/* In flight. */
    Attempt *attempt;		/* Being watched. */
    uv_os_sock_t sock;		/* An attempt's socket while suspended. */
    int error;			/* The last attempt's. */
};

static int	TryNext(TkuvConnect *c);
static int	OpenAttempt(TkuvConnect *c, const struct sockaddr_storage *to,
		    uv_os_sock_t *sockPtr);
static int	Watch(TkuvConnect *c, uv_os_sock_t sock);
static void	OnWritable(uv_poll_t *poll, int status, int events);
static void	OnResolved(uv_getaddrinfo_t *req, int status,
		    struct addrinfo *res);
static void	Abandon(TkuvConnect *c, int keepSocket);
static void	OnAttemptClosed(uv_handle_t *handle);

/*
 *----------------------------------------------------------------------
 *
 * TkuvConnectNew, TkuvConnectFree --
 *
 *	A connect to host:port (family AF_UNSPEC, AF_INET or AF_INET6),
 *	binding each attempt to the first of `locals` of its family (an
 *	address with no local one of its family is skipped), and reporting
 *	to proc. Nothing starts before TkuvConnectStart. Freeing abandons
 *	whatever is under way: proc is not called after that.
 *
 *----------------------------------------------------------------------
 */

TkuvConnect *
TkuvConnectNew(
    const char *host,
    int port,
    int family,
    const struct sockaddr_storage *locals,
    int numLocals,
    TkuvConnectProc *proc,
    void *clientData)
{
    TkuvConnect *c = TkuvAlloc(sizeof(TkuvConnect));

    memset(c, 0, sizeof(TkuvConnect));
    c->proc = proc;
    c->clientData = clientData;
    c->host = TkuvAlloc(strlen(host) + 1);
    strcpy(c->host, host);
    c->port = port;
    c->family = family;
    c->sock = TKUVP_NO_SOCKET;
    c->error = UV_EAI_NONAME;
    if (numLocals > 0) {
	c->locals = TkuvAlloc(numLocals * sizeof(struct sockaddr_storage));
	memcpy(c->locals, locals, numLocals * sizeof(struct sockaddr_storage));
	c->numLocals = numLocals;
    }
    return c;
}

void
TkuvConnectFree(
    TkuvConnect *c)
{
    Abandon(c, 0);
    if (c->sock != TKUVP_NO_SOCKET) {
	TkuvpSocketClose(c->sock);
    }
    TkuvFree(c->host);
    TkuvFree(c->addrs);
    TkuvFree(c->locals);
    TkuvFree(c);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvConnectStart --
 *
 *	Starts (or, after TkuvConnectSuspend, resumes) the connect on the
 *	bridge's loop. A numeric host needs no lookup; a name is looked up on
 *	the threadpool, or here when lookUpNow is set (a blocking connect:
 *	the threadpool may be held by other work for any time).
 *
 * Results:
 *	0: under way, and proc will be called exactly once, from a libuv
 *	callback, never from here. Otherwise a libuv error: the lookup
 *	failed now, or every address failed at once (the last error), and
 *	proc will not be called.
 *
 *----------------------------------------------------------------------
 */

int
TkuvConnectStart(
    TkuvConnect *c,
    TkuvBridge *bridge,
    int lookUpNow)
{
    LookUpReq *r;
    struct addrinfo hints;
    struct sockaddr_storage numeric;
    int err;

    c->bridge = bridge;
    if (c->sock != TKUVP_NO_SOCKET) {
	/* An attempt carried over from another loop. */
	uv_os_sock_t sock = c->sock;

	c->sock = TKUVP_NO_SOCKET;
	if ((err = Watch(c, sock)) == 0) {
	    return 0;
	}
	c->error = err;
	return TryNext(c);
    }
    if (c->addrs != NULL) {
	return TryNext(c);
    }
    if (lookUpNow || TkuvNumericAddress(c->host, c->port, &numeric)) {
	err = TkuvLookUp(&bridge->loop, c->host, c->port, c->family, 0,
		&c->addrs, &c->numAddrs);
	return err ? err : TryNext(c);
    }
    TkuvLookUpHints(&hints, c->family, 0);
    r = TkuvAlloc(sizeof(LookUpReq));
    r->c = c;
    err = uv_getaddrinfo(&bridge->loop, &r->req, OnResolved, c->host, NULL,
	    &hints);
    if (err != 0) {
	TkuvFree(r);
	return err;
    }
    c->lookUp = r;
    TkuvPoolBegin();
    TkuvBridgeKick(bridge);
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvConnectSuspend --
 *
 *	Takes the connect off its loop (its channel is moving to another
 *	thread): an attempt's socket is kept, to be watched again by the next
 *	TkuvConnectStart; a lookup in flight is abandoned and made again then.
 *
 *----------------------------------------------------------------------
 */

void
TkuvConnectSuspend(
    TkuvConnect *c)
{
    Abandon(c, 1);
    c->bridge = NULL;
}

/*
 * TkuvConnectResolving --
 *	Whether the name lookup is still under way.
 */

int
TkuvConnectResolving(
    const TkuvConnect *c)
{
    return c->addrs == NULL;
}

/*
 * Abandon --
 *	Stops what is in flight; the lookup's and the attempt's callbacks
 *	still run, and free their records. keepSocket: the attempt's socket
 *	stays open in c->sock.
 */

static void
Abandon(
    TkuvConnect *c,
    int keepSocket)
{
    if (c->lookUp != NULL) {
	c->lookUp->c = NULL;
	uv_cancel((uv_req_t *) &c->lookUp->req);
	c->lookUp = NULL;
    }
    if (c->attempt != NULL) {
	Attempt *a = c->attempt;

	c->attempt = NULL;
	a->c = NULL;
	if (keepSocket) {
	    c->sock = a->sock;
	    a->sock = TKUVP_NO_SOCKET;
	}
	uv_close((uv_handle_t *) &a->poll, OnAttemptClosed);
    }
}

static void
OnAttemptClosed(
    uv_handle_t *handle)
{
    Attempt *a = handle->data;

    if (a->sock != TKUVP_NO_SOCKET) {
	TkuvpSocketClose(a->sock);
    }
    TkuvFree(a);
}

static void
OnResolved(
    uv_getaddrinfo_t *req,
    int status,
    struct addrinfo *res)
{
    LookUpReq *r = (LookUpReq *) req;
    TkuvConnect *c = r->c;
    int err = status;

    TkuvPoolEnd();
    if (c != NULL) {
	c->lookUp = NULL;
	if (status == 0) {
	    TkuvAddressList(res, c->port, c->family, &c->addrs,
		    &c->numAddrs);
	    err = TryNext(c);
	}
    }
    uv_freeaddrinfo(res);
    TkuvFree(r);
    if (c != NULL && err != 0) {
	c->proc(c->clientData, err, TKUVP_NO_SOCKET);	/* May free c. */
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TryNext, OpenAttempt, Watch --
 *
 *	Starts an attempt on the next address that gets one under way.
 *	Returns 0, or the last error when no address is left.
 *
 *----------------------------------------------------------------------
 */

static int
TryNext(
    TkuvConnect *c)
{
    uv_os_sock_t sock = TKUVP_NO_SOCKET;
    int err;

    if (c->numAddrs == 0) {
	return UV_EAI_NONAME;
    }
    while (c->next < c->numAddrs) {
	err = OpenAttempt(c, &c->addrs[c->next++], &sock);
	if (err == 0 && (err = Watch(c, sock)) == 0) {
	    return 0;
	}
	c->error = err;
    }
    return c->error;
}

static int
OpenAttempt(
    TkuvConnect *c,
    const struct sockaddr_storage *to,
    uv_os_sock_t *sockPtr)
{
    const struct sockaddr_storage *local = NULL;
    TkuvpSockLen len = (to->ss_family == AF_INET6)
	    ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    uv_os_sock_t sock;
    int i, err;

    for (i = 0; i < c->numLocals && local == NULL; i++) {
	if (c->locals[i].ss_family == to->ss_family) {
	    local = &c->locals[i];
	}
    }
    if (c->numLocals > 0 && local == NULL) {
	return UV_EAFNOSUPPORT;
    }
    if ((err = TkuvpSocketOpen(to->ss_family, local != NULL, &sock)) != 0) {
	return err;
    }
    if ((local != NULL
	    && bind(sock, (const struct sockaddr *) local, len) != 0)
	    || (connect(sock, (const struct sockaddr *) to, len) != 0
	    && !TkuvpConnectPending())) {
	err = TkuvpSocketError();
	TkuvpSocketClose(sock);
	return err;
    }
    *sockPtr = sock;
    return 0;
}

static int
Watch(
    TkuvConnect *c,
    uv_os_sock_t sock)
{
    Attempt *a = TkuvAlloc(sizeof(Attempt));
    int err = uv_poll_init_socket(&c->bridge->loop, &a->poll, sock);

    if (err != 0) {
	TkuvFree(a);
	TkuvpSocketClose(sock);
	return err;
    }
    a->poll.data = a;
    a->c = c;
    a->sock = sock;
    c->attempt = a;
    uv_poll_start(&a->poll, UV_WRITABLE, OnWritable);
    TkuvBridgeKick(c->bridge);	/* epoll learns the descriptor. */
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * OnWritable --
 *
 *	An attempt's socket is writable (or failed): SO_ERROR tells the
 *	outcome (libuv reports an error condition with a status of its own).
 *	Connected: the caller gets the socket; failed: the next address.
 *
 *----------------------------------------------------------------------
 */

static void
OnWritable(
    uv_poll_t *poll,
    int status,
    int events)
{
    Attempt *a = poll->data;
    TkuvConnect *c = a->c;
    struct sockaddr_storage peer;
    TkuvpSockLen len = sizeof(int);
    uv_os_sock_t sock = a->sock;
    int err = 0;

    (void) events;
    if (c == NULL) {
	return;
    }
    if (getsockopt(sock, SOL_SOCKET, SO_ERROR, (char *) &err, &len) != 0) {
	err = TkuvpSocketError();
    } else if (err != 0) {
	err = uv_translate_sys_error(err);
    } else {
	len = sizeof(peer);
	if (getpeername(sock, (struct sockaddr *) &peer, &len) != 0) {
	    if (status == 0) {
		return;			/* Still connecting. */
	    }
	    err = UV_ECONNREFUSED;
	}
    }
    if (err == 0) {
	a->sock = TKUVP_NO_SOCKET;	/* Taken, not closed with the poll. */
    }
    c->attempt = NULL;
    a->c = NULL;
    uv_close((uv_handle_t *) &a->poll, OnAttemptClosed);
    if (err != 0) {
	c->error = err;
	if ((err = TryNext(c)) == 0) {
	    return;
	}
    }
    c->proc(c->clientData, err, err ? TKUVP_NO_SOCKET : sock);	/* May free c. */
}

/*
 * TkuvConnectAdopt --
 *	The caller's handle takes the connected socket proc was given (it is
 *	closed if that fails). Returns 0 or a libuv error.
 */

int
TkuvConnectAdopt(
    uv_tcp_t *tcp,
    uv_os_sock_t sock)
{
    int err = uv_tcp_open(tcp, sock);

    if (err != 0) {
	TkuvpSocketClose(sock);
    }
    return err;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvLookUpHints, TkuvAddressList, TkuvLookUp --
 *
 *	The hints of every lookup; the addresses of getaddrinfo's answer as
 *	a list with the port set, IPv4 first, as Tcl orders them; and a
 *	lookup on the calling thread (none for a numeric address). passive:
 *	addresses to bind or listen on. Returns 0 or a libuv error (a name
 *	with no address of the family asked: UV_EAI_NONAME).
 *
 *----------------------------------------------------------------------
 */

void
TkuvLookUpHints(
    struct addrinfo *hints,
    int family,
    int passive)
{
    memset(hints, 0, sizeof(*hints));
    hints->ai_family = family;
    hints->ai_socktype = SOCK_STREAM;
    hints->ai_flags = passive ? AI_PASSIVE : 0;
}

void
TkuvAddressList(
    const struct addrinfo *res,
    int port,
    int family,
    struct sockaddr_storage **addrsPtr,
    int *numPtr)
{
    const struct addrinfo *ai;
    struct sockaddr_storage *addrs;
    int n = 0, pass, want;

    for (ai = res; ai != NULL; ai = ai->ai_next) {
	n++;
    }
    addrs = TkuvAlloc((n ? n : 1) * sizeof(struct sockaddr_storage));
    n = 0;
    for (pass = 0; pass < 2; pass++) {
	want = pass ? AF_INET6 : AF_INET;
	if (family != AF_UNSPEC && family != want) {
	    continue;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
	    if (ai->ai_family != want) {
		continue;
	    }
	    memset(&addrs[n], 0, sizeof(addrs[n]));
	    memcpy(&addrs[n], ai->ai_addr, ai->ai_addrlen);
	    if (want == AF_INET) {
		((struct sockaddr_in *) &addrs[n])->sin_port =
			htons((unsigned short) port);
	    } else {
		((struct sockaddr_in6 *) &addrs[n])->sin6_port =
			htons((unsigned short) port);
	    }
	    n++;
	}
    }
    TkuvFree(*addrsPtr);
    *addrsPtr = addrs;
    *numPtr = n;
}

int
TkuvLookUp(
    uv_loop_t *loop,
    const char *host,
    int port,
    int family,
    int passive,
    struct sockaddr_storage **addrsPtr,
    int *numPtr)
{
    uv_getaddrinfo_t req;
    struct addrinfo hints;
    int err;

    TkuvFree(*addrsPtr);
    *addrsPtr = TkuvAlloc(sizeof(struct sockaddr_storage));
    *numPtr = 0;
    if (TkuvNumericAddress(host, port, *addrsPtr)) {
	*numPtr = 1;		/* The family only picks among a name's. */
	return 0;
    }
    TkuvLookUpHints(&hints, family, passive);
    err = uv_getaddrinfo(loop, &req, NULL, host, NULL, &hints);
    if (err != 0) {
	return err;
    }
    TkuvAddressList(req.addrinfo, port, family, addrsPtr, numPtr);
    uv_freeaddrinfo(req.addrinfo);
    return *numPtr ? 0 : UV_EAI_NONAME;
}
