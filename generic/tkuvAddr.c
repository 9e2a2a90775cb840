/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvAddr.c --
 *
 *	Socket addresses as text, shared by tkuv::tcp, tkuv::udp and
 *	tkuv::socket.
 */

#include "tkuvInt.h"
#include <stdio.h>
#include <string.h>

/*
 *----------------------------------------------------------------------
 *
 * TkuvNumericAddress --
 *
 *	A numeric IPv4 or IPv6 address (an IPv6 one may carry a %zone) and
 *	a port as a socket address; no resolver is involved.
 *
 * Results:
 *	1 when host is numeric (*ss filled), 0 otherwise.
 *
 *----------------------------------------------------------------------
 */

int
TkuvNumericAddress(
    const char *host,
    int port,
    struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    return uv_ip4_addr(host, port, (struct sockaddr_in *) ss) == 0
	    || uv_ip6_addr(host, port, (struct sockaddr_in6 *) ss) == 0;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvSockaddrName --
 *
 *	The numeric address of an IPv4 or IPv6 socket address into name
 *	(TKUV_ADDRSTRLEN bytes suffice). An IPv4 peer seen through a
 *	dual-stack IPv6 socket (::ffff:a.b.c.d) is given in its IPv4 form, so
 *	the answer works with either kind of socket; an IPv6 zone is kept as
 *	%IFNAME (or %INDEX when the interface has no name).
 *
 * Results:
 *	The port number.
 *
 *----------------------------------------------------------------------
 */

int
TkuvSockaddrName(
    const struct sockaddr *sa,
    char *name,
    size_t size)
{
    static const unsigned char mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
    };
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) sa;
    const unsigned char *b = sin6->sin6_addr.s6_addr;
    char iface[TKUV_ADDRSTRLEN - 64];
    size_t ifaceSize = sizeof(iface), used;

    name[0] = '\0';
    if (sa->sa_family == AF_INET) {
	uv_ip4_name((const struct sockaddr_in *) sa, name, size);
	return ntohs(((const struct sockaddr_in *) sa)->sin_port);
    }
    if (sa->sa_family != AF_INET6) {
	return 0;
    }
    if (memcmp(b, mapped, sizeof(mapped)) == 0) {
	snprintf(name, size, "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
	return ntohs(sin6->sin6_port);
    }
    uv_ip6_name(sin6, name, size);
    if (sin6->sin6_scope_id != 0) {
	used = strlen(name);
	if (uv_if_indextoname(sin6->sin6_scope_id, iface, &ifaceSize) == 0) {
	    snprintf(name + used, size - used, "%%%s", iface);
	} else {
	    snprintf(name + used, size - used, "%%%u",
		    (unsigned) sin6->sin6_scope_id);
	}
    }
    return ntohs(sin6->sin6_port);
}
