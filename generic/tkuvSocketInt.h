/*
 * tkuvSocketInt.h --
 *
 *	Shared between the two halves of tkuv::socket: tkuvSocket.c (the
 *	command, name lookup, connecting, listening and accepting) and
 *	tkuvSocketChan.c (the Tcl channel driver and its notifier).
 */

#ifndef TKUV_SOCKET_INT_H
#define TKUV_SOCKET_INT_H

#include "tkuvInt.h"

#define SOCK_READ_LIMIT	(1024 * 1024)	/* Stop reading above this. */
#define SOCK_WRITE_LIMIT (1024 * 1024)	/* Not writable above this. */

typedef struct SockState SockState;
typedef struct SockThread SockThread;
typedef struct ResolveReq ResolveReq;

/*
 * The libuv side of a channel: a tkuv handle record (so thread exit and
 * interp deletion close it like any other handle) holding the uv_tcp_t.
 * An accepted connection waits in its server's queue as a SockHandle that
 * is not registered yet.
 */

typedef struct SockHandle {
    TkuvHandle h;		/* Must be first. */
    uv_tcp_t uv;
    SockState *state;		/* NULL once the channel is gone. */
    struct SockHandle *nextAccepted;	/* In the server's queue. */
} SockHandle;

/*
 * The channel driver's instance data. Either side may go first: closing
 * the handle detaches it (the channel then reads EOF and writes EPIPE),
 * and closing the channel closes the handle.
 */

struct SockState {
    SockHandle *sh;		/* NULL once the libuv side is closed. */
    TkuvBridge *bridge;
    SockThread *tsd;
    Tcl_Channel chan;		/* NULL until the channel exists. */
    Tcl_Interp *interp;		/* Where handles are made, accept runs. */

    /* Servers. */
    int isServer;
    int dualStack;		/* Listening on :: for IPv4 and IPv6. */
    Tcl_Obj *acceptCmd;		/* Command prefix. */
    SockHandle *acceptFirst, *acceptLast; /* Accepted, not yet reported. */

    /* Connecting clients: every address is tried in turn. */
    ResolveReq *resolving;	/* Name lookup in flight. */
    struct sockaddr_storage *addrs;
    int numAddrs, nextAddr;
    struct sockaddr_storage *localAddrs; /* -myaddr/-myport, or NULL. */
    int numLocalAddrs;

    int blocking;
    int interest;		/* Mask from watchProc. */
    int eventQueued;
    int connecting, connected, connectFailed;
    int reading, eof, readClosed, writeClosed;
    int shutdownPending;	/* close write before connecting. */
    int error;			/* Sticky libuv error (reads, connect). */
    int reportError;		/* Error for fconfigure -error. */
    char *in;			/* Received bytes: in[inStart..inStart+inLen). */
    size_t inStart, inLen, inCap;
    size_t writeQueued;		/* Bytes handed to uv_write, not yet sent. */

    SockState *prev, *next;	/* Every state of the thread. */
    SockState *prevCand, *nextCand;	/* Candidates for readiness. */
    int isCand;
    int dead;			/* Freed; memory kept while preserved. */
};

/* tkuvSocket.c */
MODULE_SCOPE int	TkuvSocketError(Tcl_Interp *interp, int err);
MODULE_SCOPE void	TkuvSocketAccept(SockState *s);
MODULE_SCOPE void	TkuvSocketForget(SockState *s);
MODULE_SCOPE int	TkuvSocketRunOnce(TkuvBridge *bridge);
MODULE_SCOPE const TkuvHandleType TkuvSocketHandleType;

/* tkuvSocketChan.c */
MODULE_SCOPE SockState *TkuvSockNewState(TkuvBridge *bridge,
			    Tcl_Interp *interp);
MODULE_SCOPE void	TkuvSockFreeState(SockState *s);
MODULE_SCOPE void	TkuvSockMakeChannel(SockState *s);
MODULE_SCOPE void	TkuvSockChanged(SockState *s);
MODULE_SCOPE void	TkuvSockConnected(SockState *s);
MODULE_SCOPE int	TkuvSockErrno(int uvErr);

#endif /* TKUV_SOCKET_INT_H */
