/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvUdp.c --
 *
 *	tkuv::udp open ?options? -command CMD, and the UDP handle command:
 *	$u send HOST PORT BYTES, join, leave, and the shared close, info,
 *	configure and cget. One option table serves open and configure.
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
#include <stddef.h>
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

typedef struct Udp {
    TkuvHandle h;		/* Must be first. */
    uv_udp_t uv;
    int family;			/* AF_INET or AF_INET6 (the bound socket). */
    Tcl_Obj *myaddr;		/* -myaddr, as given. */
    int port;			/* -port */
    int ipv6only;		/* -ipv6only */
    int reuseaddr;		/* -reuseaddr */
    size_t recvSize;		/* -recvsize: longest datagram accepted. */
    size_t maxPending;		/* -maxpending: stop reading above it. */
    Tcl_Obj *mcastIface;	/* -multicast-interface, or NULL. */
    size_t pending;		/* Bytes (+ overhead) in queued events. */
    int reading;		/* uv_udp_recv_start is in effect. */
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

static int	OpenUdp(Tcl_Interp *interp, int objc, Tcl_Obj *const objv[]);
static int	GetAddress(Tcl_Interp *interp, const char *host, int port,
		    struct sockaddr_storage *ss);
static void	AddressToObjs(const struct sockaddr *sa, Tcl_Obj **hostPtr,
		    Tcl_Obj **portPtr);
static TkuvSubcommandProc SendCmd;
static TkuvSubcommandProc MembershipCmd;
static void	SendDone(uv_udp_send_t *req, int status);
static TkuvOptionCheckProc CheckAddress;
static TkuvOptionSetProc SetSockOpt;
static TkuvOptionGetProc GetSockOpt;
static TkuvInfoProc UdpInfo;
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
 * The options of `open` and `configure`. The socket options (no field) are
 * applied once the socket is bound, and read back from the socket.
 */
enum {
    O_BROADCAST, O_COMMAND, O_HOST, O_IPV6ONLY, O_MAXPENDING, O_MCAST_IFACE,
    O_MCAST_LOOP, O_MCAST_TTL, O_MYADDR, O_MYPORT, O_PORT, O_RECVSIZE,
    O_REUSEADDR, O_TTL
};
static const TkuvOption udpOptions[] = {
    {"-broadcast", TKUV_OPT_BOOLEAN, .setProc = SetSockOpt,
	.getProc = GetSockOpt},
    {"-command", TKUV_OPT_CALLBACK, .flags = TKUV_OPT_REQUIRED},
    {"-host", TKUV_OPT_ALIAS, .alias = "-myaddr"},
    {"-ipv6only", TKUV_OPT_BOOLEAN, offsetof(Udp, ipv6only),
	.flags = TKUV_OPT_CREATE_ONLY},
    {"-maxpending", TKUV_OPT_SIZE, offsetof(Udp, maxPending), .min = 1,
	.max = TKUV_MAX_SIZE, .setProc = SetSockOpt},
    {"-multicast-interface", TKUV_OPT_STRING, offsetof(Udp, mcastIface),
	.checkProc = CheckAddress, .setProc = SetSockOpt},
    {"-multicast-loop", TKUV_OPT_BOOLEAN, .setProc = SetSockOpt,
	.getProc = GetSockOpt},
    {"-multicast-ttl", TKUV_OPT_INT, .min = 0, .max = 255,
	.setProc = SetSockOpt, .getProc = GetSockOpt},
    {"-myaddr", TKUV_OPT_STRING, offsetof(Udp, myaddr), TKUV_OPT_CREATE_ONLY,
	.checkProc = CheckAddress},
    {"-myport", TKUV_OPT_INT, offsetof(Udp, port), TKUV_OPT_CREATE_ONLY,
	.min = 0, .max = 65535},
    {"-port", TKUV_OPT_ALIAS, .alias = "-myport"},
    {"-recvsize", TKUV_OPT_SIZE, offsetof(Udp, recvSize), .min = 1,
	.max = TKUV_READ_BUFFER_SIZE},
    {"-reuseaddr", TKUV_OPT_BOOLEAN, offsetof(Udp, reuseaddr),
	.flags = TKUV_OPT_CREATE_ONLY},
    {"-ttl", TKUV_OPT_INT, .min = 1, .max = 255, .setProc = SetSockOpt,
	.getProc = GetSockOpt},
    {NULL}
};

static const TkuvSubcommand udpSubcommands[] = {
    {"join", MembershipCmd, 1, 2, "group ?interface?"},
    {"leave", MembershipCmd, 1, 2, "group ?interface?"},
    {"send", SendCmd, 3, 3, "host port bytes"},
    {NULL}
};

static const TkuvHandleType udpType = {
    "udp", sizeof(Udp), NULL, udpOptions, UdpInfo, udpSubcommands
};

/*
 *----------------------------------------------------------------------
 *
 * TkuvUdpObjCmd --
 *
 *	tkuv::udp open ?-myaddr ADDR? ?-port P? ?option value ...? -command CMD
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
    TkuvOptionValues vals;
    const char *host = "0.0.0.0";
    int port = 0, err;
    unsigned int flags = 0;
    struct sockaddr_storage ss;
    TkuvBridge *bridge;
    Udp *u;

    if (TkuvOptionsParse(interp, udpOptions, objc, objv, TKUV_PARSE_CREATE,
	    &vals) != TCL_OK) {
	return TCL_ERROR;
    }
    if (TKUV_OPTION_GIVEN(&vals, O_MYADDR)
	    && *Tcl_GetString(vals.v[O_MYADDR].obj) != '\0') {
	host = Tcl_GetString(vals.v[O_MYADDR].obj);
    }
    if (TKUV_OPTION_GIVEN(&vals, O_MYPORT)) {
	port = vals.v[O_MYPORT].i;
    }
    GetAddress(NULL, host, port, &ss);		/* Checked by CheckAddress. */
    if (TKUV_OPTION_GIVEN(&vals, O_IPV6ONLY) && vals.v[O_IPV6ONLY].i) {
	if (ss.ss_family != AF_INET6) {
	    return TkuvUsageError(interp, "-ipv6only needs an IPv6 -myaddr "
		    "(such as ::) but the address is \"%s\"", host);
	}
	flags |= UV_UDP_IPV6ONLY;
    }
    if (TKUV_OPTION_GIVEN(&vals, O_REUSEADDR) && vals.v[O_REUSEADDR].i) {
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
    u->recvSize = TKUV_READ_BUFFER_SIZE;
    u->maxPending = DEFAULT_MAX_PENDING;
    u->myaddr = Tcl_NewStringObj(host, -1);
    Tcl_IncrRefCount(u->myaddr);
    uv_udp_init(&bridge->loop, &u->uv);
    TkuvHandleRegister(interp, bridge, &u->h, (uv_handle_t *) &u->uv, NULL);

    /*
     * From here on failures close the registered handle; its record goes
     * when libuv's close callback has run. The socket options need the
     * bound socket: they are set after binding.
     */
    TkuvOptionsApply(interp, &u->h, &vals, TKUV_APPLY_STORE);
    err = uv_udp_bind(&u->uv, (const struct sockaddr *) &ss, flags);
    if (err != 0) {
	char what[200];

	snprintf(what, sizeof(what), "binding %.100s port %d", host, port);
	TkuvHandleClose(&u->h);
	return TkuvUvError(interp, what, err);
    }
    if (TkuvOptionsApply(interp, &u->h, &vals, TKUV_APPLY_SET) != TCL_OK) {
	TkuvHandleClose(&u->h);
	return TCL_ERROR;
    }
    err = UpdateReading(u);
    if (err != 0) {
	TkuvHandleClose(&u->h);
	return TkuvUvError(interp, "starting to receive", err);
    }
    Tcl_SetObjResult(interp, TkuvHandleName(&u->h));
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

/*
 * CheckAddress -- -myaddr and -multicast-interface: a numeric address
 * (a zone allowed) or "".
 */

static int
CheckAddress(
    Tcl_Interp *interp,
    const TkuvOption *opt,
    Tcl_Obj *valueObj,
    TkuvOptionValue *value)
{
    struct sockaddr_storage ss;
    const char *host = Tcl_GetString(valueObj);

    (void) value;
    if (*host != '\0' && GetAddress(NULL, host, 0, &ss) != TCL_OK) {
	return TkuvUsageError(interp, "expected a numeric IPv4 or IPv6 "
		"address for %s but got \"%s\" (host names are not resolved "
		"here: use tkuv::resolve first)", opt->name, host);
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
 * Send --
 *
 *	$u send HOST PORT BYTES: sends one datagram without blocking, through libuv's send queue (the
 *	bytes are copied; libuv still tries the kernel at once when the queue
 *	is empty). One path for every datagram: failures of the send itself
 *	(EMSGSIZE, EACCES for a broadcast without -broadcast, ECONNREFUSED,
 *	...) are always error events naming the destination, and only bad
 *	arguments are errors of the command.
 *
 *----------------------------------------------------------------------
 */

static int
SendCmd(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    Udp *u = (Udp *) h;
    Tcl_Obj *hostObj = objv[2], *portObj = objv[3], *bytesObj = objv[4];
    struct sockaddr_storage to;
    Tcl_Size length;
    int port, err;
    const unsigned char *bytes;
    uv_buf_t buf;
    SendReq *req;

    (void) objc;
    if (TkuvGetPort(interp, portObj, 1, &port) != TCL_OK
	    || GetAddress(interp, Tcl_GetString(hostObj), port, &to)
	    != TCL_OK) {
	return TCL_ERROR;
    }
    if (to.ss_family == AF_INET6 && u->family == AF_INET) {
	return TkuvUsageError(interp, "cannot send to the IPv6 address \"%s\" "
		"from an IPv4 socket (open it with -myaddr :: for both)",
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
 * SetSockOpt --
 *
 *	Applies a checked option value: the socket options to the socket,
 *	-multicast-interface to libuv, -maxpending to reading.
 *
 *----------------------------------------------------------------------
 */

static int
SetSockOpt(
    Tcl_Interp *interp,
    TkuvHandle *h,
    const TkuvOption *opt,
    TkuvOptionValue *value)
{
    Udp *u = (Udp *) h;
    const char *iface;
    int err = 0;

    switch (opt - udpOptions) {
    case O_BROADCAST:
	err = uv_udp_set_broadcast(&u->uv, value->i);
	break;
    case O_MCAST_LOOP:
	err = uv_udp_set_multicast_loop(&u->uv, value->i);
	break;
    case O_TTL:
	err = uv_udp_set_ttl(&u->uv, value->i);
	break;
    case O_MCAST_TTL:
	err = uv_udp_set_multicast_ttl(&u->uv, value->i);
	break;
    case O_MCAST_IFACE:
	iface = Tcl_GetString(value->obj);
	err = uv_udp_set_multicast_interface(&u->uv, *iface ? iface : NULL);
	break;
    case O_MAXPENDING:
	u->maxPending = (size_t) value->w;
	UpdateReading(u);
	break;
    }
    return (err != 0) ? TkuvOptionRefused(interp, opt, err) : TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * GetSockOpt --
 *
 *	The current value of a socket option, read back from the socket, so
 *	the system's defaults show too; one the system cannot report reads
 *	as "".
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
    TkuvpSockLen len = sizeof(value);

    if (uv_fileno((const uv_handle_t *) &u->uv, &fd) != 0) {
	return -1;
    }
    memset(&value, 0, sizeof(value));
    if (getsockopt(TkuvpSocket(fd), level, name, (char *) &value, &len) != 0) {
	return -1;
    }
    /* Some systems answer a single byte for the multicast options. */
    *valuePtr = (len == 1) ? value.c : value.i;
    return 0;
}

static Tcl_Obj *
GetSockOpt(
    TkuvHandle *h,
    const TkuvOption *opt)
{
    Udp *u = (Udp *) h;
    int v6 = (u->family == AF_INET6), value = 0, err = -1;

    switch (opt - udpOptions) {
    case O_BROADCAST:
	err = GetSockInt(u, SOL_SOCKET, SO_BROADCAST, &value);
	value = (value != 0);
	break;
    case O_MCAST_LOOP:
	err = v6 ? GetSockInt(u, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &value)
		: GetSockInt(u, IPPROTO_IP, IP_MULTICAST_LOOP, &value);
	value = (value != 0);
	break;
    case O_TTL:
	err = v6 ? GetSockInt(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &value)
		: GetSockInt(u, IPPROTO_IP, IP_TTL, &value);
	break;
    case O_MCAST_TTL:
	err = v6 ? GetSockInt(u, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &value)
		: GetSockInt(u, IPPROTO_IP, IP_MULTICAST_TTL, &value);
	break;
    }
    return (err == 0) ? Tcl_NewIntObj(value) : Tcl_NewObj();
}

/*
 *----------------------------------------------------------------------
 *
 * MembershipCmd --
 *
 *	$u join|leave GROUP ?IFACE?: a multicast group, on the interface with address IFACE
 *	(IPv4) or zone IFACE (IPv6, e.g. ::%lo), or one the system picks.
 *
 *----------------------------------------------------------------------
 */

static int
MembershipCmd(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    Udp *u = (Udp *) h;
    Tcl_Obj *groupObj = objv[2], *ifaceObj = (objc == 4) ? objv[3] : NULL;
    /* objv[1] is join or leave, or a prefix of one: j... or l... */
    uv_membership how = (Tcl_GetString(objv[1])[0] == 'j')
	    ? UV_JOIN_GROUP : UV_LEAVE_GROUP;
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
 *	The handle's dictionary: local {address port} and family, receive
 *	settings, backpressure state and send queue.
 *
 *----------------------------------------------------------------------
 */

static void
UdpInfo(
    TkuvHandle *h,
    Tcl_Obj *d)
{
    Udp *u = (Udp *) h;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    if (uv_udp_getsockname(&u->uv, (struct sockaddr *) &ss, &len) == 0) {
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("local", -1),
		TkuvAddressObj((struct sockaddr *) &ss));
    }
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
