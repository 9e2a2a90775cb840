/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvUdp.c --
 *
 *	tkuv::udp open ?options? -command CMD, and the UDP handle command:
 *	$u send HOST PORT BYTES, configure, join, leave, info, close.
 *
 *	Events: `data BYTES HOST PORT` per datagram, `error {NAME msg} ?HOST
 *	PORT?` (the peer when the failure concerns one datagram).
 *
 *	A datagram longer than the receive size (-recvsize) is reported as an
 *	EMSGSIZE error and dropped: never delivered truncated.
 *
 *	Addresses are numeric (IPv4 or IPv6 literals). Host names are refused:
 *	resolving one would block, and a script that wants names resolves them
 *	first with tkuv::resolve.
 *
 *	Backpressure: received datagrams whose events have not run yet are
 *	counted in `pending`; above -maxpending the handle stops reading, and
 *	the kernel drops what does not fit in its socket buffer, which is what
 *	UDP promises anyway. Reading resumes as the script catches up.
 *
 *	Linux: the socket is bound with IP_RECVERR / IPV6_RECVERR (libuv's
 *	UV_UDP_LINUX_RECVERR) so that ICMP errors on an unconnected socket (a
 *	datagram sent to a closed port) are reported, each with the address it
 *	was sent to. The errors wait in the socket's error queue, which keeps
 *	the socket "ready" (EPOLLERR) until it is read: RecvProc drains it.
 */

#include "tkuvInt.h"
#include <string.h>
#include <stdio.h>

#if defined(__linux__) && (UV_VERSION_HEX >= 0x012a00)
#define TKUV_UDP_ERRQUEUE 1
#include <errno.h>
#include <linux/errqueue.h>
#endif

/*
 * Bytes counted against -maxpending for each queued event on top of its
 * datagram, so that a flood of empty datagrams is bounded too.
 */
#define EVENT_OVERHEAD		64
#define DEFAULT_MAX_PENDING	(1024 * 1024)
#define MAX_IFACE		128

typedef struct Udp {
    TkuvHandle h;		/* Must be first. */
    uv_udp_t uv;
    int family;			/* AF_INET or AF_INET6 (the bound socket). */
    int ipv6only;
    size_t recvSize;		/* Longest datagram accepted. */
    size_t maxPending;		/* Stop reading above this many pending. */
    size_t pending;		/* Bytes (+ overhead) in queued events. */
    int reading;		/* uv_udp_recv_start is in effect. */
    char mcastIface[MAX_IFACE];	/* -multicast-interface, or "". */
} Udp;

/*
 * One datagram on its way out through libuv's send queue.
 */
typedef struct SendReq {
    uv_udp_send_t req;
    Udp *u;
    struct sockaddr_storage to;	/* For error events. */
    size_t length;
    char data[1];		/* length bytes follow. */
} SendReq;

static Tcl_ObjCmdProc UdpHandleCmd;

static const TkuvHandleType udpType = {
    "udp", UdpHandleCmd, sizeof(Udp), NULL
};

static int	OpenUdp(Tcl_Interp *interp, int objc, Tcl_Obj *const objv[]);
static int	GetAddress(Tcl_Interp *interp, const char *host, int port,
		    struct sockaddr_storage *ss);
static int	GetSize(Tcl_Interp *interp, Tcl_Obj *obj, const char *option,
		    Tcl_WideInt minimum, Tcl_WideInt maximum, size_t *sizePtr);
static int	GetBoolean(Tcl_Interp *interp, Tcl_Obj *obj,
		    const char *option, int *boolPtr);
static void	AddressToObjs(const struct sockaddr *sa, Tcl_Obj **hostPtr,
		    Tcl_Obj **portPtr);
static int	Send(Tcl_Interp *interp, Udp *u, Tcl_Obj *hostObj,
		    Tcl_Obj *portObj, Tcl_Obj *bytesObj);
static void	SendDone(uv_udp_send_t *req, int status);
static int	Configure(Tcl_Interp *interp, Udp *u, int objc,
		    Tcl_Obj *const objv[]);
static Tcl_Obj *GetOption(Udp *u, int index);
static int	Membership(Tcl_Interp *interp, Udp *u, Tcl_Obj *groupObj,
		    Tcl_Obj *ifaceObj, uv_membership how);
static Tcl_Obj *UdpInfo(Udp *u);
static int	UpdateReading(Udp *u);
static void	AllocProc(uv_handle_t *handle, size_t suggested,
		    uv_buf_t *buf);
static void	RecvProc(uv_udp_t *uv, ssize_t nread, const uv_buf_t *buf,
		    const struct sockaddr *addr, unsigned flags);
static void	QueueUdpEvent(Udp *u, Tcl_Obj *args, size_t bytes);
static void	QueueError(Udp *u, int err, const struct sockaddr *peer);
static void	AfterEvent(TkuvHandle *h, void *clientData, size_t size);
#ifdef TKUV_UDP_ERRQUEUE
static int	DrainErrorQueue(Udp *u);
#endif

/*
 * The options of `configure` (and, for the first two, `open`).
 */
static const char *const configOptions[] = {
    "-broadcast", "-maxpending", "-multicast-interface", "-multicast-loop",
    "-multicast-ttl", "-recvsize", "-ttl", NULL
};
enum {
    C_BROADCAST, C_MAXPENDING, C_MCAST_IFACE, C_MCAST_LOOP, C_MCAST_TTL,
    C_RECVSIZE, C_TTL
};

/*
 *----------------------------------------------------------------------
 *
 * TkuvUdpObjCmd --
 *
 *	tkuv::udp open ?-host ADDR? ?-port P? ?-reuseaddr B? ?-ipv6only B?
 *	    ?-recvsize N? ?-maxpending N? -command CMD
 *
 * Results:
 *	The new handle's name, or an error.
 *
 *----------------------------------------------------------------------
 */

int
TkuvUdpObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subcommands[] = { "open", NULL };
    int index;

    (void) clientData;
    if (TkuvGetSubcommand(interp, objc, objv, subcommands, "open ?option value ...?",
	    &index) != TCL_OK) {
	return TCL_ERROR;
    }
    return OpenUdp(interp, objc - 2, objv + 2);
}

static int
OpenUdp(
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const options[] = {
	"-command", "-host", "-ipv6only", "-maxpending", "-port",
	"-recvsize", "-reuseaddr", NULL
    };
    enum {
	O_COMMAND, O_HOST, O_IPV6ONLY, O_MAXPENDING, O_PORT, O_RECVSIZE,
	O_REUSEADDR
    };
    Tcl_Obj *callback = NULL;
    const char *host = "0.0.0.0";
    int i, index, port = 0, ipv6only = 0, reuse = 0, err;
    size_t recvSize = TKUV_READ_BUFFER_SIZE, maxPending = DEFAULT_MAX_PENDING;
    unsigned int flags = 0;
    struct sockaddr_storage ss;
    TkuvBridge *bridge;
    Udp *u;

    if (objc % 2 != 0) {
	return TkuvUsageError(interp, "option \"%s\" has no value; usage: "
		"tkuv::udp open ?-host ADDR? ?-port PORT? ?option value ...? "
		"-command CMD", Tcl_GetString(objv[objc - 1]));
    }
    for (i = 0; i < objc; i += 2) {
	if (TkuvGetIndex(interp, objv[i], options, "option", &index)
		!= TCL_OK) {
	    return TCL_ERROR;
	}
	switch (index) {
	case O_COMMAND:
	    if (TkuvCheckCallback(interp, objv[i + 1]) != TCL_OK) {
		return TCL_ERROR;
	    }
	    callback = objv[i + 1];
	    break;
	case O_HOST:
	    host = Tcl_GetString(objv[i + 1]);
	    if (*host == '\0') {
		host = "0.0.0.0";
	    }
	    break;
	case O_IPV6ONLY:
	    if (GetBoolean(interp, objv[i + 1], "-ipv6only", &ipv6only)
		    != TCL_OK) {
		return TCL_ERROR;
	    }
	    break;
	case O_MAXPENDING:
	    if (GetSize(interp, objv[i + 1], "-maxpending", 1,
		    (Tcl_WideInt) 1 << 40, &maxPending) != TCL_OK) {
		return TCL_ERROR;
	    }
	    break;
	case O_PORT:
	    if (TkuvGetPort(interp, objv[i + 1], 0, &port) != TCL_OK) {
		return TCL_ERROR;
	    }
	    break;
	case O_RECVSIZE:
	    if (GetSize(interp, objv[i + 1], "-recvsize", 1,
		    TKUV_READ_BUFFER_SIZE, &recvSize) != TCL_OK) {
		return TCL_ERROR;
	    }
	    break;
	case O_REUSEADDR:
	    if (GetBoolean(interp, objv[i + 1], "-reuseaddr", &reuse)
		    != TCL_OK) {
		return TCL_ERROR;
	    }
	    break;
	}
    }
    if (callback == NULL) {
	return TkuvUsageError(interp, "missing -command; usage: tkuv::udp "
		"open ?-host ADDR? ?-port PORT? ?option value ...? "
		"-command CMD");
    }
    if (GetAddress(interp, host, port, &ss) != TCL_OK) {
	return TCL_ERROR;
    }
    if (ipv6only) {
	if (ss.ss_family != AF_INET6) {
	    return TkuvUsageError(interp, "-ipv6only needs an IPv6 -host "
		    "(such as ::) but the host is \"%s\"", host);
	}
	flags |= UV_UDP_IPV6ONLY;
    }
    if (reuse) {
	flags |= UV_UDP_REUSEADDR;
    }
#ifdef TKUV_UDP_ERRQUEUE
    flags |= UV_UDP_LINUX_RECVERR;
#endif
    if (TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }

    u = TkuvHandleAlloc(&udpType);
    u->family = ss.ss_family;
    u->ipv6only = ipv6only;
    u->recvSize = recvSize;
    u->maxPending = maxPending;
    uv_udp_init(&bridge->loop, &u->uv);
    TkuvHandleRegister(interp, bridge, &u->h, (uv_handle_t *) &u->uv,
	    callback);

    /*
     * From here on failures close the registered handle; its record goes
     * when libuv's close callback has run.
     */
    err = uv_udp_bind(&u->uv, (const struct sockaddr *) &ss, flags);
    if (err != 0) {
	char what[200];

	snprintf(what, sizeof(what), "binding %.100s port %d", host, port);
	TkuvHandleClose(&u->h);
	return TkuvUvError(interp, what, err);
    }
    err = UpdateReading(u);
    if (err != 0) {
	TkuvHandleClose(&u->h);
	return TkuvUvError(interp, "starting to receive", err);
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * GetAddress --
 *
 *	Parses a numeric IPv4 or IPv6 address (an IPv6 one may carry a zone,
 *	fe80::1%eth0) into *ss with the given port.
 *
 * Results:
 *	TCL_OK, or TCL_ERROR with {TKUV USAGE} naming the value: host names
 *	are not resolved here.
 *
 *----------------------------------------------------------------------
 */

static int
GetAddress(
    Tcl_Interp *interp,
    const char *host,
    int port,
    struct sockaddr_storage *ss)
{
    if (TkuvNumericAddress(host, port, ss)) {
	return TCL_OK;
    }
    if (interp == NULL) {
	return TCL_ERROR;
    }
    return TkuvUsageError(interp, "expected a numeric IPv4 or IPv6 address "
	    "but got \"%s\" (host names are not resolved here: use "
	    "tkuv::resolve first)", host);
}

static int
GetSize(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    const char *option,
    Tcl_WideInt minimum,
    Tcl_WideInt maximum,
    size_t *sizePtr)
{
    Tcl_WideInt value;

    if (Tcl_GetWideIntFromObj(NULL, obj, &value) != TCL_OK
	    || value < minimum || value > maximum) {
	return TkuvUsageError(interp, "%s: expected an integer from %"
		TCL_LL_MODIFIER "d to %" TCL_LL_MODIFIER "d but got \"%s\"",
		option, minimum, maximum, Tcl_GetString(obj));
    }
    *sizePtr = (size_t) value;
    return TCL_OK;
}

static int
GetBoolean(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    const char *option,
    int *boolPtr)
{
    if (Tcl_GetBooleanFromObj(NULL, obj, boolPtr) != TCL_OK) {
	return TkuvUsageError(interp, "%s: expected a boolean but got \"%s\"",
		option, Tcl_GetString(obj));
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * AddressToObjs --
 *
 *	The host (numeric, see TkuvSockaddrName) and port of a socket
 *	address, so that replying with `send $host $port` works on either
 *	kind of socket.
 *
 *----------------------------------------------------------------------
 */

static void
AddressToObjs(
    const struct sockaddr *sa,
    Tcl_Obj **hostPtr,
    Tcl_Obj **portPtr)
{
    char name[TKUV_ADDRSTRLEN];
    int port = TkuvSockaddrName(sa, name, sizeof(name));

    *hostPtr = Tcl_NewStringObj(name, -1);
    *portPtr = Tcl_NewIntObj(port);
}

/*
 *----------------------------------------------------------------------
 *
 * UdpHandleCmd --
 *
 *	$u send HOST PORT BYTES | configure ?option ?value ...?? |
 *	   join GROUP ?IFACE? | leave GROUP ?IFACE? | info | close
 *
 *----------------------------------------------------------------------
 */

static int
UdpHandleCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subcommands[] = {
	"close", "configure", "info", "join", "leave", "send", NULL
    };
    enum { U_CLOSE, U_CONFIGURE, U_INFO, U_JOIN, U_LEAVE, U_SEND };
    Udp *u = clientData;
    int index;

    if (TkuvGetSubcommand(interp, objc, objv, subcommands, "subcommand ?arg ...?",
	    &index) != TCL_OK) {
	return TCL_ERROR;
    }
    switch (index) {
    case U_CLOSE:
	/* $u close */
	if (objc != 2) {
	    return TkuvWrongNumArgs(interp, 2, objv, "");
	}
	TkuvHandleClose(&u->h);
	return TCL_OK;
    case U_CONFIGURE:
	/* $u configure ?option? ?value option value ...? */
	return Configure(interp, u, objc - 2, objv + 2);
    case U_INFO:
	/* $u info */
	if (objc != 2) {
	    return TkuvWrongNumArgs(interp, 2, objv, "");
	}
	Tcl_SetObjResult(interp, UdpInfo(u));
	return TCL_OK;
    case U_JOIN:
    case U_LEAVE:
	/* $u join|leave GROUP ?IFACE? */
	if (objc != 3 && objc != 4) {
	    return TkuvWrongNumArgs(interp, 2, objv, "group ?interface?");
	}
	return Membership(interp, u, objv[2], objc == 4 ? objv[3] : NULL,
		index == U_JOIN ? UV_JOIN_GROUP : UV_LEAVE_GROUP);
    case U_SEND:
	/* $u send HOST PORT BYTES */
	if (objc != 5) {
	    return TkuvWrongNumArgs(interp, 2, objv, "host port bytes");
	}
	return Send(interp, u, objv[2], objv[3], objv[4]);
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * Send --
 *
 *	Sends one datagram without blocking, through libuv's send queue (the
 *	bytes are copied; libuv still tries the kernel at once when the queue
 *	is empty). One path for every datagram: failures of the send itself
 *	(EMSGSIZE, EACCES for a broadcast without -broadcast, ECONNREFUSED,
 *	...) are always error events naming the destination, and only bad
 *	arguments are errors of the command.
 *
 *----------------------------------------------------------------------
 */

static int
Send(
    Tcl_Interp *interp,
    Udp *u,
    Tcl_Obj *hostObj,
    Tcl_Obj *portObj,
    Tcl_Obj *bytesObj)
{
    struct sockaddr_storage to;
    Tcl_Size length;
    int port, err;
    const unsigned char *bytes;
    uv_buf_t buf;
    SendReq *req;

    if (TkuvGetPort(interp, portObj, 1, &port) != TCL_OK
	    || GetAddress(interp, Tcl_GetString(hostObj), port, &to)
	    != TCL_OK) {
	return TCL_ERROR;
    }
    if (to.ss_family == AF_INET6 && u->family == AF_INET) {
	return TkuvUsageError(interp, "cannot send to the IPv6 address \"%s\" "
		"from an IPv4 socket (open it with -host :: for both)",
		Tcl_GetString(hostObj));
    }
    if (to.ss_family == AF_INET && u->family == AF_INET6) {
	struct sockaddr_in v4;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) &to;

	if (u->ipv6only) {
	    return TkuvUsageError(interp, "cannot send to the IPv4 address "
		    "\"%s\" from an IPv6-only socket", Tcl_GetString(hostObj));
	}
	/* A dual-stack socket reaches IPv4 peers as ::ffff:a.b.c.d. */
	memcpy(&v4, &to, sizeof(v4));
	memset(&to, 0, sizeof(to));
	v6->sin6_family = AF_INET6;
	v6->sin6_port = v4.sin_port;
	v6->sin6_addr.s6_addr[10] = 0xff;
	v6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&v6->sin6_addr.s6_addr[12], &v4.sin_addr, 4);
    }
    if ((bytes = TkuvGetBytes(interp, bytesObj, &length)) == NULL) {
	return TCL_ERROR;
    }

    req = TkuvAlloc(sizeof(SendReq) + (size_t) length);
    req->u = u;
    req->to = to;
    req->length = (size_t) length;
    memcpy(req->data, bytes, (size_t) length);
    buf = uv_buf_init(req->data, (unsigned int) length);
    err = uv_udp_send(&req->req, &u->uv, &buf, 1,
	    (const struct sockaddr *) &to, SendDone);
    if (err != 0) {
	TkuvFree(req);
	QueueError(u, err, (const struct sockaddr *) &to);
	return TCL_OK;
    }
    TkuvBridgeKick(u->h.bridge);	/* SendDone needs a tick. */
    return TCL_OK;
}

static void
SendDone(
    uv_udp_send_t *req,
    int status)
{
    SendReq *sr = (SendReq *) req;
    Udp *u = sr->u;

    /*
     * Requests still queued when the handle closes end with UV_ECANCELED
     * before libuv's close callback, so the record is still there.
     */
    if (status < 0 && status != UV_ECANCELED) {
	QueueError(u, status, (const struct sockaddr *) &sr->to);
    }
    TkuvFree(sr);
}

/*
 *----------------------------------------------------------------------
 *
 * Configure --
 *
 *	$u configure                       -> dict of every option
 *	$u configure OPTION                -> its value
 *	$u configure OPTION VALUE ...      -> sets them, in order
 *
 *----------------------------------------------------------------------
 */

static int
Configure(
    Tcl_Interp *interp,
    Udp *u,
    int objc,
    Tcl_Obj *const objv[])
{
    int i, index, on, ttl, err = 0;
    size_t size;
    const char *what = NULL;

    if (objc == 0) {
	Tcl_Obj *d = Tcl_NewDictObj();

	for (i = 0; configOptions[i] != NULL; i++) {
	    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj(configOptions[i], -1),
		    GetOption(u, i));
	}
	Tcl_SetObjResult(interp, d);
	return TCL_OK;
    }
    if (objc == 1) {
	if (TkuvGetIndex(interp, objv[0], configOptions, "option", &index)
		!= TCL_OK) {
	    return TCL_ERROR;
	}
	Tcl_SetObjResult(interp, GetOption(u, index));
	return TCL_OK;
    }
    if (objc % 2 != 0) {
	return TkuvUsageError(interp, "option \"%s\" has no value",
		Tcl_GetString(objv[objc - 1]));
    }

    /* Check every pair first, so that a bad one changes nothing. */
    for (i = 0; i < objc; i += 2) {
	if (TkuvGetIndex(interp, objv[i], configOptions, "option", &index)
		!= TCL_OK) {
	    return TCL_ERROR;
	}
	switch (index) {
	case C_BROADCAST:
	case C_MCAST_LOOP:
	    if (GetBoolean(interp, objv[i + 1], configOptions[index], &on)
		    != TCL_OK) {
		return TCL_ERROR;
	    }
	    break;
	case C_TTL:
	case C_MCAST_TTL:
	    if (Tcl_GetIntFromObj(NULL, objv[i + 1], &ttl) != TCL_OK
		    || ttl < (index == C_TTL ? 1 : 0) || ttl > 255) {
		return TkuvUsageError(interp, "%s: expected an integer from "
			"%d to 255 but got \"%s\"", configOptions[index],
			index == C_TTL ? 1 : 0, Tcl_GetString(objv[i + 1]));
	    }
	    break;
	case C_RECVSIZE:
	    if (GetSize(interp, objv[i + 1], "-recvsize", 1,
		    TKUV_READ_BUFFER_SIZE, &size) != TCL_OK) {
		return TCL_ERROR;
	    }
	    break;
	case C_MAXPENDING:
	    if (GetSize(interp, objv[i + 1], "-maxpending", 1,
		    (Tcl_WideInt) 1 << 40, &size) != TCL_OK) {
		return TCL_ERROR;
	    }
	    break;
	case C_MCAST_IFACE: {
	    Tcl_Size len;
	    struct sockaddr_storage ss;

	    Tcl_GetStringFromObj(objv[i + 1], &len);
	    if (len >= MAX_IFACE || (len > 0 && GetAddress(NULL,
		    Tcl_GetString(objv[i + 1]), 0, &ss) != TCL_OK)) {
		return TkuvUsageError(interp, "-multicast-interface: expected "
			"a numeric address of a local interface (or \"\") but "
			"got \"%s\"", Tcl_GetString(objv[i + 1]));
	    }
	    break;
	}
	}
    }

    for (i = 0; i < objc && err == 0; i += 2) {
	TkuvGetIndex(interp, objv[i], configOptions, "option", &index);
	what = configOptions[index];
	switch (index) {
	case C_BROADCAST:
	    Tcl_GetBooleanFromObj(NULL, objv[i + 1], &on);
	    err = uv_udp_set_broadcast(&u->uv, on);
	    break;
	case C_MCAST_LOOP:
	    Tcl_GetBooleanFromObj(NULL, objv[i + 1], &on);
	    err = uv_udp_set_multicast_loop(&u->uv, on);
	    break;
	case C_TTL:
	    Tcl_GetIntFromObj(NULL, objv[i + 1], &ttl);
	    err = uv_udp_set_ttl(&u->uv, ttl);
	    break;
	case C_MCAST_TTL:
	    Tcl_GetIntFromObj(NULL, objv[i + 1], &ttl);
	    err = uv_udp_set_multicast_ttl(&u->uv, ttl);
	    break;
	case C_MCAST_IFACE: {
	    const char *iface = Tcl_GetString(objv[i + 1]);

	    err = uv_udp_set_multicast_interface(&u->uv,
		    *iface ? iface : NULL);
	    if (err == 0) {
		snprintf(u->mcastIface, sizeof(u->mcastIface), "%s", iface);
	    }
	    break;
	}
	case C_RECVSIZE:
	    GetSize(interp, objv[i + 1], "-recvsize", 1,
		    TKUV_READ_BUFFER_SIZE, &u->recvSize);
	    break;
	case C_MAXPENDING:
	    GetSize(interp, objv[i + 1], "-maxpending", 1,
		    (Tcl_WideInt) 1 << 40, &u->maxPending);
	    UpdateReading(u);
	    break;
	}
    }
    if (err != 0) {
	char buf[200];

	snprintf(buf, sizeof(buf), "setting %s", what);
	return TkuvUvError(interp, buf, err);
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * GetOption --
 *
 *	The current value of a configure option. Socket options are read
 *	back from the socket, so the system's defaults show too; an option
 *	the system cannot report reads as "".
 *
 *----------------------------------------------------------------------
 */

static int
GetSockInt(
    Udp *u,
    int level,
    int name,
    int *valuePtr)
{
    uv_os_fd_t fd;
    union { int i; unsigned char c; } value;
#ifdef _WIN32
    int len = sizeof(value);
    SOCKET sock;
#else
    socklen_t len = sizeof(value);
    int sock;
#endif

    if (uv_fileno((const uv_handle_t *) &u->uv, &fd) != 0) {
	return -1;
    }
#ifdef _WIN32
    sock = (SOCKET) fd;
#else
    sock = fd;
#endif
    memset(&value, 0, sizeof(value));
    if (getsockopt(sock, level, name, (char *) &value, &len) != 0) {
	return -1;
    }
    /* Some systems answer a single byte for the multicast options. */
    *valuePtr = (len == 1) ? value.c : value.i;
    return 0;
}

static Tcl_Obj *
GetOption(
    Udp *u,
    int index)
{
    int v6 = (u->family == AF_INET6), value = 0, err = -1;

    switch (index) {
    case C_BROADCAST:
	err = GetSockInt(u, SOL_SOCKET, SO_BROADCAST, &value);
	value = (value != 0);
	break;
    case C_MCAST_LOOP:
	err = v6 ? GetSockInt(u, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &value)
		: GetSockInt(u, IPPROTO_IP, IP_MULTICAST_LOOP, &value);
	value = (value != 0);
	break;
    case C_TTL:
	err = v6 ? GetSockInt(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &value)
		: GetSockInt(u, IPPROTO_IP, IP_TTL, &value);
	break;
    case C_MCAST_TTL:
	err = v6 ? GetSockInt(u, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &value)
		: GetSockInt(u, IPPROTO_IP, IP_MULTICAST_TTL, &value);
	break;
    case C_MCAST_IFACE:
	return Tcl_NewStringObj(u->mcastIface, -1);
    case C_RECVSIZE:
	return Tcl_NewWideIntObj((Tcl_WideInt) u->recvSize);
    case C_MAXPENDING:
	return Tcl_NewWideIntObj((Tcl_WideInt) u->maxPending);
    }
    return (err == 0) ? Tcl_NewIntObj(value) : Tcl_NewObj();
}

/*
 *----------------------------------------------------------------------
 *
 * Membership --
 *
 *	join / leave a multicast group, on the interface with address IFACE
 *	(IPv4) or zone IFACE (IPv6, e.g. ::%lo), or one the system picks.
 *
 *----------------------------------------------------------------------
 */

static int
Membership(
    Tcl_Interp *interp,
    Udp *u,
    Tcl_Obj *groupObj,
    Tcl_Obj *ifaceObj,
    uv_membership how)
{
    struct sockaddr_storage ss;
    const char *iface = NULL;
    char what[300];
    int err;

    if (GetAddress(interp, Tcl_GetString(groupObj), 0, &ss) != TCL_OK) {
	return TCL_ERROR;
    }
    if (ifaceObj != NULL && *Tcl_GetString(ifaceObj) != '\0') {
	struct sockaddr_storage is;

	if (GetAddress(interp, Tcl_GetString(ifaceObj), 0, &is) != TCL_OK) {
	    return TCL_ERROR;
	}
	iface = Tcl_GetString(ifaceObj);
    }
    err = uv_udp_set_membership(&u->uv, Tcl_GetString(groupObj), iface, how);
    if (err != 0) {
	snprintf(what, sizeof(what), "%s group %.60s%s%.60s",
		how == UV_JOIN_GROUP ? "joining" : "leaving",
		Tcl_GetString(groupObj), iface ? " on " : "",
		iface ? iface : "");
	return TkuvUvError(interp, what, err);
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * UdpInfo --
 *
 *	The handle's dictionary: local address, port and family, receive
 *	settings, backpressure state and send queue.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
UdpInfo(
    Udp *u)
{
    Tcl_Obj *d = Tcl_NewDictObj(), *host, *port;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    memset(&ss, 0, sizeof(ss));
    if (uv_udp_getsockname(&u->uv, (struct sockaddr *) &ss, &len) == 0) {
	AddressToObjs((struct sockaddr *) &ss, &host, &port);
    } else {
	host = Tcl_NewObj();
	port = Tcl_NewObj();
    }
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("address", -1), host);
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("port", -1), port);
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("family", -1),
	    Tcl_NewStringObj(u->family == AF_INET6 ? "inet6" : "inet", -1));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("ipv6only", -1),
	    Tcl_NewBooleanObj(u->ipv6only));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("recvsize", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) u->recvSize));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("pending", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) u->pending));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("reading", -1),
	    Tcl_NewBooleanObj(u->reading));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("sendqueue", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) uv_udp_get_send_queue_size(&u->uv)));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("command", -1), u->h.callback);
    return d;
}

/*
 *----------------------------------------------------------------------
 *
 * UpdateReading --
 *
 *	Starts or stops receiving as backpressure asks: receive while the
 *	handle is open and its pending events stay under -maxpending.
 *
 * Results:
 *	0, or libuv's error from starting to receive.
 *
 *----------------------------------------------------------------------
 */

static int
UpdateReading(
    Udp *u)
{
    int should = !u->h.closed && u->pending < u->maxPending, err = 0;

    if (should && !u->reading) {
	err = uv_udp_recv_start(&u->uv, AllocProc, RecvProc);
	if (err == 0) {
	    u->reading = 1;
	    TkuvBridgeKick(u->h.bridge);	/* epoll learns the fd. */
	}
    } else if (!should && u->reading) {
	uv_udp_recv_stop(&u->uv);
	u->reading = 0;
    }
    return err;
}

/*
 *----------------------------------------------------------------------
 *
 * AllocProc, RecvProc --
 *
 *	Receiving. libuv fills the thread's shared read buffer, limited to
 *	-recvsize; RecvProc copies the datagram out at once. A datagram the
 *	kernel had to cut (UV_UDP_PARTIAL) becomes an EMSGSIZE error event.
 *
 *----------------------------------------------------------------------
 */

static void
AllocProc(
    uv_handle_t *handle,
    size_t suggested,
    uv_buf_t *buf)
{
    Udp *u = handle->data;

    (void) suggested;
    buf->base = TkuvReadBuffer();
    buf->len = u->h.closed ? 0 : u->recvSize;
}

static void
RecvProc(
    uv_udp_t *uv,
    ssize_t nread,
    const uv_buf_t *buf,
    const struct sockaddr *addr,
    unsigned flags)
{
    Udp *u = uv->data;
    Tcl_Obj *args, *host, *port;

    if (u->h.closed) {
	return;
    }
    if (nread < 0 || addr == NULL) {
	/*
	 * An error, or (nread == 0) the end of a burst. On Linux the errors
	 * wait in the error queue, each with its destination; report those
	 * rather than the bare code that came with them.
	 */
#ifdef TKUV_UDP_ERRQUEUE
	if (DrainErrorQueue(u) > 0) {
	    return;
	}
#endif
	if (nread < 0) {
	    QueueError(u, (int) nread, NULL);
	}
	return;
    }
    if (flags & UV_UDP_PARTIAL) {
	QueueError(u, UV_EMSGSIZE, addr);
	return;
    }
    AddressToObjs(addr, &host, &port);
    args = Tcl_NewListObj(0, NULL);
    Tcl_ListObjAppendElement(NULL, args, Tcl_NewStringObj("data", 4));
    Tcl_ListObjAppendElement(NULL, args,
	    Tcl_NewByteArrayObj((unsigned char *) buf->base, (int) nread));
    Tcl_ListObjAppendElement(NULL, args, host);
    Tcl_ListObjAppendElement(NULL, args, port);
    QueueUdpEvent(u, args, (size_t) nread);
}

/*
 *----------------------------------------------------------------------
 *
 * QueueUdpEvent, QueueError, AfterEvent --
 *
 *	Every event counts towards `pending` until it has run (or been
 *	dropped because the handle closed); reading stops above -maxpending
 *	and resumes below it.
 *
 *----------------------------------------------------------------------
 */

static void
QueueUdpEvent(
    Udp *u,
    Tcl_Obj *args,
    size_t bytes)
{
    size_t size = bytes + EVENT_OVERHEAD;

    if (u->h.closed) {
	Tcl_IncrRefCount(args);
	Tcl_DecrRefCount(args);
	return;
    }
    u->pending += size;
    TkuvHandleQueueEvent(&u->h, args, AfterEvent, NULL, size);
    if (u->pending >= u->maxPending) {
	UpdateReading(u);
    }
}

static void
QueueError(
    Udp *u,
    int err,
    const struct sockaddr *peer)
{
    Tcl_Obj *args = TkuvErrorEventArgs(err), *host, *port;

    if (peer != NULL) {
	AddressToObjs(peer, &host, &port);
	Tcl_ListObjAppendElement(NULL, args, host);
	Tcl_ListObjAppendElement(NULL, args, port);
    }
    QueueUdpEvent(u, args, 0);
}

static void
AfterEvent(
    TkuvHandle *h,
    void *clientData,
    size_t size)
{
    Udp *u = (Udp *) h;

    (void) clientData;
    u->pending -= size;
    if (!h->closed) {
	UpdateReading(u);
    }
}

#ifdef TKUV_UDP_ERRQUEUE
/*
 *----------------------------------------------------------------------
 *
 * DrainErrorQueue --
 *
 *	Linux: reads the socket's error queue (filled because the socket was
 *	bound with UV_UDP_LINUX_RECVERR) and queues one error event per entry,
 *	naming the destination of the datagram that failed. An unread entry
 *	would keep the socket signalling EPOLLERR, and libuv would spin.
 *
 * Results:
 *	The number of entries read.
 *
 *----------------------------------------------------------------------
 */

static int
DrainErrorQueue(
    Udp *u)
{
    uv_os_fd_t fd;
    int count = 0;

    if (uv_fileno((const uv_handle_t *) &u->uv, &fd) != 0) {
	return 0;
    }
    while (count < 1000) {
	struct sockaddr_storage to;
	union {
	    struct cmsghdr align;
	    char buf[512];
	} control;
	char payload[1];
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *cmsg;
	ssize_t n;
	int err = 0;

	memset(&msg, 0, sizeof(msg));
	memset(&to, 0, sizeof(to));
	iov.iov_base = payload;
	iov.iov_len = sizeof(payload);
	msg.msg_name = &to;
	msg.msg_namelen = sizeof(to);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	do {
	    n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
	    break;			/* EAGAIN: the queue is empty. */
	}
	count++;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
		cmsg = CMSG_NXTHDR(&msg, cmsg)) {
	    if ((cmsg->cmsg_level == IPPROTO_IP
		    && cmsg->cmsg_type == IP_RECVERR)
		    || (cmsg->cmsg_level == IPPROTO_IPV6
		    && cmsg->cmsg_type == IPV6_RECVERR)) {
		struct sock_extended_err ee;

		/*
		 * A locally made error (EMSGSIZE for an oversize datagram)
		 * was already the send's own error: Linux queues it here as
		 * well, with the port zeroed. Only errors from the network
		 * (ICMP) are news.
		 */
		memcpy(&ee, CMSG_DATA(cmsg), sizeof(ee));
		if (ee.ee_origin != SO_EE_ORIGIN_LOCAL) {
		    err = uv_translate_sys_error((int) ee.ee_errno);
		}
		break;
	    }
	}
	if (err != 0) {
	    QueueError(u, err, msg.msg_namelen > 0
		    ? (const struct sockaddr *) &to : NULL);
	}
    }
    return count;
}
#endif /* TKUV_UDP_ERRQUEUE */
