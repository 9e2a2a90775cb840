/*
 * tkuvAddr.c --
 *
 *	Socket addresses as text, shared by tkuv::tcp and tkuv::socket.
 */

#include "tkuvInt.h"

/*
 *----------------------------------------------------------------------
 *
 * TkuvSockaddrName --
 *
 *	The numeric address of an IPv4 or IPv6 socket address into name.
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
    if (sa->sa_family == AF_INET6) {
	uv_ip6_name((const struct sockaddr_in6 *) sa, name, size);
	return ntohs(((const struct sockaddr_in6 *) sa)->sin6_port);
    }
    uv_ip4_name((const struct sockaddr_in *) sa, name, size);
    return ntohs(((const struct sockaddr_in *) sa)->sin_port);
}
