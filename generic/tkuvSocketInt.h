/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvSocketInt.h --
 *
 *	Shared between the two halves of tkuv::socket: tkuvSocket.c (the
 *	command, name lookup, connecting, listening and accepting) and
 *	tkuvSocketChan.c (the Tcl channel driver, its notifier, and moving a
 *	channel between threads).
 */

#ifndef TKUV_SOCKET_INT_H
#define TKUV_SOCKET_INT_H

#include "tkuvInt.h"

#define SOCK_READ_LIMIT	(1024 * 1024)	/* Stop reading above this. */
#define SOCK_WRITE_LIMIT (1024 * 1024)	/* Not writable above this. */
#define SOCK_FLUSH_IDLE_MS 10000	/* A flush at thread or process end
					 * gives up when the peer has taken
					 * nothing for this long. */

typedef struct SockState SockState;
typedef struct SockThread SockThread;
typedef struct WriteReq WriteReq;

/*
 * The libuv side of a connection or listener: a uv_tcp_t on the loop of the
 * thread the channel lives in. This module owns it, not the handle layer:
 * it outlives its channel while queued bytes drain after a close, and is
 * replaced by a new one when the channel moves to another thread. Every
 * open one is in its thread's list, so thread end can flush and close it.
 * An accepted connection waits in its server's queue with no state yet.
 */

typedef struct SockHandle {
    uv_tcp_t uv;
    SockState *state;		/* NULL once the channel is gone or moved. */
    SockThread *tsd;
    TkuvBridge *bridge;
    WriteReq *writeFirst, *writeLast;	/* uv_writes not yet completed. */
    int closing;		/* uv_close called. */
    int closeWhenSent;		/* Close once the last write is done. */
    struct SockHandle *nextAccepted;	/* In the server's queue. */
    struct SockHandle *prev, *next;	/* In tsd->handles. */
} SockHandle;

/*
 * The companion handle ::tkuv::socketN of a channel: a tkuv handle record
 * (counted by tkuv::info, closed by $h close) without a libuv handle of its
 * own. A channel moved to another thread has none.
 */

typedef struct SockCompanion {
    TkuvHandle h;		/* Must be first. */
    SockState *state;		/* NULL once the channel is gone. */
} SockCompanion;

/*
 * The channel driver's instance data. Either side may go first: closing
 * the companion handle disconnects (the channel then reads EOF and writes
 * EPIPE), and closing the channel closes both.
 *
 * A state is homed (tsd != NULL) on the thread whose channel table holds
 * the channel. Moving it (TCL_CHANNEL_THREAD_REMOVE) takes the socket out
 * of libuv as a plain descriptor, with the bytes libuv had not sent yet;
 * TCL_CHANNEL_THREAD_INSERT gives it a new uv_tcp_t on the new thread's
 * loop. At thread end the state is orphaned the same way, and Tcl's last
 * flush and close then write synchronously to the descriptor.
 */

struct SockState {
    SockHandle *sh;		/* NULL once the libuv side is closed. */
    SockCompanion *companion;	/* NULL when there is none. */
    TkuvBridge *bridge;		/* NULL while not homed. */
    SockThread *tsd;		/* NULL while not homed. */
    Tcl_Channel chan;		/* NULL until the channel exists. */
    Tcl_Interp *interp;		/* Where accept runs; NULL after a move. */
    int acceptOrphaned;		/* Its interp was deleted while the channel
				 * lives on elsewhere: accept nowhere. */

    /* Servers. */
    int isServer;
    int dualStack;		/* Listening on :: for IPv4 and IPv6. */
    Tcl_Obj *acceptCmd;		/* Command prefix (while homed). */
    char *acceptText;		/* ... as text, while moving. */
    SockHandle *acceptFirst, *acceptLast; /* Accepted, not yet reported. */

    TkuvConnect *connect;	/* Connecting clients: every address in
				 * turn (tkuvConnect.c). */

    int compat;			/* Made by the `socket` of tkuv::install. */
    int async;			/* Made with -async. */
    int blocking;
    int interest;		/* Mask from watchProc. */
    int eventQueued;
    int connecting, connected, connectFailed;
    int reading, eof, readClosed, writeClosed;
    int shutdownPending;	/* close write before connecting. */
    int lent;			/* Given to a child process: not read. */
    int lentBlocking;		/* ... and put in blocking mode. */
    int error;			/* Sticky libuv error (reads, connect). */
    int reportError;		/* Error for fconfigure -error. */
    int writeError;		/* First failed queued write: every later
				 * write fails with it, as Tcl's socket's
				 * writes do once the peer has reset. */
    char *in;			/* Received bytes: in[inStart..inStart+inLen). */
    size_t inStart, inLen, inCap;
    size_t writeQueued;		/* Bytes handed to uv_write, not yet sent. */

    /* Out of libuv (moving between threads, or orphaned). */
    int fd;			/* The socket, or -1. */
    char *out;			/* Bytes not sent yet. */
    size_t outLen;
    int *acceptFds;		/* A moving server's accepted connections. */
    int numAcceptFds;
    int orphaned;		/* The thread's loop is gone: I/O goes to
				 * fd directly, synchronously. */

    SockState *prev, *next;	/* Every homed state of the thread. */
    SockState *prevCand, *nextCand;	/* Candidates for readiness. */
    int isCand;
    int dead;			/* Freed; memory kept while preserved. */
};

/* tkuvSocket.c */
MODULE_SCOPE int	TkuvSocketError(Tcl_Interp *interp, int compat, int err);
MODULE_SCOPE void	TkuvSocketAccept(SockState *s);
MODULE_SCOPE void	TkuvSocketForget(SockState *s);
MODULE_SCOPE int	TkuvSocketRunOnce(TkuvBridge *bridge, int wait);
MODULE_SCOPE int	TkuvSocketListen(SockState *s);
MODULE_SCOPE TkuvConnectProc TkuvSocketConnectDone;
MODULE_SCOPE const TkuvHandleType TkuvSocketHandleType;

/* tkuvSocketChan.c */
MODULE_SCOPE SockState *TkuvSockNewState(TkuvBridge *bridge,
			    Tcl_Interp *interp);
MODULE_SCOPE void	TkuvSockFreeState(SockState *s);
MODULE_SCOPE SockHandle *TkuvSockNewHandle(TkuvBridge *bridge,
			    SockThread *tsd, int *errPtr);
MODULE_SCOPE int	TkuvSockAttachNewHandle(SockState *s);
MODULE_SCOPE void	TkuvSockCloseHandle(SockHandle *sh);
MODULE_SCOPE void	TkuvSockMakeChannel(SockState *s);
MODULE_SCOPE void	TkuvSockChanged(SockState *s);
MODULE_SCOPE void	TkuvSockConnected(SockState *s);
MODULE_SCOPE void	TkuvSockConnectFailed(SockState *s, int err);
MODULE_SCOPE void	TkuvSockDisconnect(SockState *s);
MODULE_SCOPE int	TkuvSockErrno(int uvErr);
MODULE_SCOPE Tcl_Interp *TkuvSockAcceptInterp(SockState *s);

#endif /* TKUV_SOCKET_INT_H */
