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
    TkuvWriteQueue queue;	/* Writes not yet completed. */
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
 * A channel's phase, and flags for what it can do within it. Both change
 * only in tkuvSocketChan.c, each transition in a function named for it
 * (TkuvSockConnected, TkuvSockConnectFailed, TkuvSockDisconnect, Unhome,
 * ...); tkuvSocket.c only reads them. The model is Tcl's tclUnixSock.c
 * (TcpState.flags).
 */

typedef enum SockPhase {
    SOCK_CONNECTING,		/* A client's connect is under way. */
    SOCK_CONNECTED,		/* Connected, or accepted. */
    SOCK_FAILED,		/* The connect failed: -error tells why. */
    SOCK_LISTENING		/* A server. */
} SockPhase;

#define SOCK_ASYNC		(1 << 0)  /* Made with -async. */
#define SOCK_COMPAT		(1 << 1)  /* Made by tkuv::install's socket. */
#define SOCK_NONBLOCKING	(1 << 2)  /* fconfigure -blocking 0. */
#define SOCK_DUAL_STACK		(1 << 3)  /* Listening on :: for IPv4 too. */
#define SOCK_READING		(1 << 4)  /* uv_read_start is in effect. */
#define SOCK_EOF		(1 << 5)  /* No more bytes will come. */
#define SOCK_READ_CLOSED	(1 << 6)  /* close $ch read. */
#define SOCK_WRITE_CLOSED	(1 << 7)  /* close $ch write (sent once
					   * connected). */
#define SOCK_LENT		(1 << 8)  /* Given to a child: not read. */
#define SOCK_LENT_BLOCKING	(1 << 9)  /* ... and made blocking. */
#define SOCK_ORPHANED		(1 << 10) /* The thread's loop is gone: I/O
					   * goes to fd, synchronously. */
#define SOCK_ACCEPT_ORPHANED	(1 << 11) /* Its interp was deleted while the
					   * channel lives on elsewhere:
					   * accept nowhere. */
#define SOCK_EVENT_QUEUED	(1 << 12) /* A SockEvent is queued. */
#define SOCK_CANDIDATE		(1 << 13) /* In the thread's candidates. */

#define SOCK_HAS(s, flag)	(((s)->flags & (flag)) != 0)

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
    SockPhase phase;
    int flags;			/* SOCK_* bits. */
    SockHandle *sh;		/* NULL once the libuv side is closed. */
    SockCompanion *companion;	/* NULL when there is none. */
    TkuvBridge *bridge;		/* NULL while not homed. */
    SockThread *tsd;		/* NULL while not homed. */
    Tcl_Channel chan;		/* NULL until the channel exists. */
    Tcl_Interp *interp;		/* Where accept runs; NULL after a move. */
    int interest;		/* Mask from watchProc. */

    /* Servers. */
    Tcl_Obj *acceptCmd;		/* Command prefix (while homed). */
    char *acceptText;		/* ... as text, while moving. */
    SockHandle *acceptFirst, *acceptLast; /* Accepted, not yet reported. */

    /* Clients. */
    TkuvConnect *connect;	/* While connecting: every address in turn
				 * (tkuvConnect.c). */
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

    SockState *prev, *next;	/* Every homed state of the thread. */
    SockState *prevCand, *nextCand;	/* Candidates for readiness. */
};

/* tkuvSocket.c */
MODULE_SCOPE int	TkuvSocketError(Tcl_Interp *interp, int compat, int err);
MODULE_SCOPE void	TkuvSocketAccept(SockState *s);
MODULE_SCOPE void	TkuvSocketForget(SockState *s);
MODULE_SCOPE int	TkuvSocketListen(SockState *s);
MODULE_SCOPE const TkuvHandleType TkuvSocketHandleType;

/* tkuvSocketChan.c */
MODULE_SCOPE SockState *TkuvSockNewState(TkuvBridge *bridge,
			    Tcl_Interp *interp, SockPhase phase, int flags);
MODULE_SCOPE void	TkuvSockFreeState(SockState *s);
MODULE_SCOPE SockHandle *TkuvSockNewHandle(TkuvBridge *bridge,
			    SockThread *tsd, int *errPtr);
MODULE_SCOPE int	TkuvSockAttachNewHandle(SockState *s);
MODULE_SCOPE void	TkuvSockCloseHandle(SockHandle *sh);
MODULE_SCOPE void	TkuvSockMakeChannel(SockState *s);
MODULE_SCOPE void	TkuvSockChanged(SockState *s);
MODULE_SCOPE int	TkuvSockStartConnect(SockState *s, const char *host,
			    int port, const struct sockaddr_storage *locals,
			    int numLocals);
MODULE_SCOPE void	TkuvSockConnected(SockState *s);
MODULE_SCOPE void	TkuvSockConnectFailed(SockState *s, int err);
MODULE_SCOPE void	TkuvSockListening(SockState *s, int flags);
MODULE_SCOPE void	TkuvSockAcceptFailed(SockState *s, int err);
MODULE_SCOPE void	TkuvSockDisconnect(SockState *s);
MODULE_SCOPE int	TkuvSockErrno(int uvErr);
MODULE_SCOPE Tcl_Interp *TkuvSockAcceptInterp(SockState *s);

#endif /* TKUV_SOCKET_INT_H */
