/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvInt.h --
 *
 *	Internal declarations shared by tkuv's source files: the poll-thread
 *	pump, the per-thread libuv bridge, the handle layer every handle command
 *	is built on, and the error helpers. Only Tkuv_Init is exported.
 */

#ifndef TKUV_INT_H
#define TKUV_INT_H

/*
 * tkuv runs a poll thread and needs a threaded Tcl (configure checks). Without
 * TCL_THREADS, tcl.h turns Tcl_MutexLock/Unlock and TCL_DECLARE_MUTEX into
 * nothing, and the process-wide state they guard (the list of pumps, the
 * signal dispositions) would be shared between threads unlocked.
 */
#ifndef TCL_THREADS
#define TCL_THREADS 1
#endif

#include <tcl.h>
#include <uv.h>
#include <limits.h>
#include <stdint.h>
#include "tkuvPoller.h"

/*
 * One source for Tcl 8.6 and 9. Tcl 9 counts lengths in Tcl_Size (a
 * ptrdiff_t) and writes that many bytes through every length out-parameter
 * (Tcl_GetStringFromObj, Tcl_ListObjGetElements, ...): each such variable
 * must be a Tcl_Size, never an int. Headers before 8.6.14 lack the type.
 * `make check-tcl9-types` compiles the sources with Tcl 9's types to keep it
 * so (tools/tcl9-types.h).
 */
#ifndef TCL_SIZE_MAX
typedef int Tcl_Size;
#define TCL_SIZE_MAX		INT_MAX
#define TCL_SIZE_MODIFIER	""
#endif

/* A Tcl_FreeProc's argument: char * in Tcl 8.6, void * in Tcl 9. */
#if TCL_MAJOR_VERSION < 9
typedef char TkuvFreeBlock;
#else
typedef void TkuvFreeBlock;
#endif

#ifndef MODULE_SCOPE
#define MODULE_SCOPE extern
#endif

#ifndef TKUV_VERSION
#define TKUV_VERSION "0.1"
#endif

/*
 * --------------------------------------------------------------------------
 * Pump (tkuvPump.c): how the owning Tcl thread learns that one waitable has
 * work (a poll thread alerting it, or Tcl's own notifier: the wait modes),
 * and the ticks it runs then; the owner keeps the deadlines itself. The loop
 * bridge runs one pump; each guest (a foreign event loop) runs another.
 * --------------------------------------------------------------------------
 */

typedef struct TkuvPump TkuvPump;

/*
 * Runs on the owning thread when the waitable was reported or woken, or the
 * last timeout has passed. Returns the next timeout in ms (-1 = none).
 */
typedef int (TkuvTickProc)(void *clientData);

#define TKUV_PUMP_FOREIGN 1	/* The waitable is a caller's fd (a guest). */

MODULE_SCOPE int	TkuvPumpCreate(Tcl_Interp *interp, TkuvWaitable backend,
			    int flags, TkuvTickProc *tickProc, void *clientData,
			    int firstTimeout, TkuvPump **pumpPtr);
MODULE_SCOPE void	TkuvPumpDestroy(TkuvPump *pump);
MODULE_SCOPE void	TkuvPumpKick(TkuvPump *pump);
MODULE_SCOPE void	TkuvPumpWakeAnyThread(TkuvPump *pump);
MODULE_SCOPE uint64_t	TkuvPumpTicks(const TkuvPump *pump);
MODULE_SCOPE uint64_t	TkuvPumpWakeups(TkuvPump *pump);
MODULE_SCOPE int	TkuvPumpTimeout(const TkuvPump *pump);
MODULE_SCOPE const char *TkuvPumpWaitName(const TkuvPump *pump);
MODULE_SCOPE void	TkuvPumpStopAll(void);
/*
 * TkuvPumpReselectAll re-chooses the wait mode of every pump of the calling
 * thread: call it after installing or uninstalling a Tcl notifier, while
 * TkuvNotifierIsEpoll (unix/tkuvNotifier.c) already tells the new state.
 */
MODULE_SCOPE void	TkuvPumpReselectAll(void);
MODULE_SCOPE int	TkuvNotifierIsEpoll(void);

/*
 * --------------------------------------------------------------------------
 * Bridge (tkuvBridge.c): the libuv loop of one Tcl thread and its pump, and
 * the thread's record of everything tkuv keeps per thread, torn down by one
 * thread exit handler in one order (tkuvBridge.c: ThreadTeardown).
 * --------------------------------------------------------------------------
 */

typedef struct TkuvHandle TkuvHandle;

typedef struct TkuvBridge {
    uv_loop_t loop;
    TkuvPump *pump;
    uv_idle_t sweep;		/* Makes one more tick poll (BridgeTick). */
    uint64_t tickDue;		/* Loop time (ms) of the next tick by timeout,
				 * as the last tick set the pump's deadline;
				 * UINT64_MAX: none (TkuvBridgeKickDue). */
    int inTick;			/* uv_run is running: no kick needed. */
    int finalizing;		/* Thread or process teardown has begun. */
    TkuvHandle *handles;	/* Every live tkuv handle of this thread. */
    int numHandles;
    unsigned long nextId;	/* For handle command names. */
    uv_timer_t graceTimer;	/* Teardown: bounds the wait for the pool. */
    struct TkuvBridge *nextAbandoned; /* Teardown gave up on the loop. */
} TkuvBridge;

typedef struct TkuvThread {
    TkuvBridge *bridge;		/* The loop, or NULL: not made yet, or gone. */
    int finalized;		/* Torn down: no new loop. */
    int teardownInstalled;	/* The thread exit handler is registered. */
    int waitRequestRead;	/* tkuvPump.c: TKUV_WAIT has been read. */
    int waitRequest;		/* tkuvPump.c: auto, notifier or thread. */
    int tk;			/* tkuvPump.c: Tk seen (NoteTk). */
    struct SockThread *sock;	/* tkuvSocketChan.c: channels, or NULL. */
    struct TkuvReadCache *readCache; /* tkuvStream.c: read buffers, or NULL. */
} TkuvThread;

MODULE_SCOPE TkuvThread *TkuvThreadGet(void);
MODULE_SCOPE int	TkuvBridgeGet(Tcl_Interp *interp, TkuvBridge **bridgePtr);
MODULE_SCOPE void	TkuvBridgeKick(TkuvBridge *bridge);
MODULE_SCOPE void	TkuvBridgeKickDue(TkuvBridge *bridge, uint64_t due);
MODULE_SCOPE int	TkuvBridgeRunOnce(TkuvBridge *bridge, int wait);
MODULE_SCOPE void	TkuvPoolBegin(void);
MODULE_SCOPE void	TkuvPoolEnd(void);

/* The families' steps of the thread teardown, in the order it calls them. */
MODULE_SCOPE void	TkuvSockThreadExit(struct SockThread *sock);
MODULE_SCOPE void	TkuvProcessThreadExit(TkuvBridge *bridge);
MODULE_SCOPE void	TkuvReadCacheFree(struct TkuvReadCache *cache);

/*
 * The thread's read buffer (tkuvStream.c): TKUV_READ_BUFFER_SIZE bytes that
 * libuv reads into, for udp datagrams, and for streams and socket channels
 * where reads are synchronous (TKUVP_SYNC_READS).
 */
MODULE_SCOPE char *	TkuvReadBuffer(void);

/*
 * --------------------------------------------------------------------------
 * Handles (tkuvHandle.c): a Tcl command wrapping a libuv handle (or, for a
 * guest, a pump). Family records (timers, ...) start with a TkuvHandle.
 * Memory is released when the libuv close callback has run and nothing else
 * holds a reference (queued events, a running tick).
 * --------------------------------------------------------------------------
 */

typedef struct TkuvHandle TkuvHandle;

/*
 * Options. Each family describes its options in one static table, ended by
 * an entry whose name is NULL; creation, `configure` and `cget` all read it
 * (Tk's Tk_OptionSpec is the model). Every value is checked before any is
 * applied, so a bad pair changes nothing:
 *
 *   TkuvOptionsParse	checks each NAME VALUE pair against the table into a
 *			TkuvOptionValues (nothing is applied yet);
 *   TkuvOptionsApply	applies them in table order: a setProc first, if
 *			any (it may fail, e.g. a libuv call; it sees the new
 *			value in its argument, the old one in the field),
 *			then the field at `offset` is stored.
 *
 * Values a family needs before it has a record (an address to bind) are
 * read from the parsed set: TKUV_OPTION_GIVEN(&vals, i), vals.v[i], with
 * i the entry's index (keep an enum in table order).
 *
 * A family's creation parses first, then makes its record and libuv handle,
 * registers it, and applies (TKUV_APPLY_ALL; or TKUV_APPLY_STORE before a
 * step that needs the stored values, such as binding, and TKUV_APPLY_SET
 * after it). The shared `configure` and `cget` subcommands do the rest.
 *
 * Field types (at `offset` in the family record; 0, where the TkuvHandle
 * sits, for none, so that designated initializers can leave it out):
 *   BOOLEAN, INT, INDEX	int
 *   SIZE			size_t (bytes)
 *   MS				uint64_t (milliseconds)
 *   STRING			Tcl_Obj * (held; released with the record)
 *   CALLBACK			always the handle's h->callback (offset unused)
 * INT, SIZE and MS are checked against min..max; INDEX against `values`;
 * any type may add a checkProc (a "custom" option is a STRING with one),
 * a setProc (applies the value to the system) and a getProc (reads it
 * back: configure and cget show what getProc returns, else the field).
 * An ALIAS entry is another accepted name for the option named `alias`
 * (not listed in errors or in the configure dict).
 *
 * A table, with designated initializers for the optional fields (every
 * entry but the last uses one, or -Wextra wants all fields given):
 *
 *   static const TkuvOption connOptions[] = {
 *	{"-bind", TKUV_OPT_ALIAS, .alias = "-myaddr"},
 *	{"-command", .type = TKUV_OPT_CALLBACK},
 *	{"-family", TKUV_OPT_INDEX, offsetof(Tcp, familyIndex),
 *	    TKUV_OPT_CREATE_ONLY, .values = familyNames},
 *	{"-nodelay", TKUV_OPT_BOOLEAN, offsetof(Tcp, nodelay),
 *	    .setProc = SetConnOption},
 *	{"-readlimit", TKUV_OPT_SIZE, offsetof(Tcp, stream.readLimit),
 *	    .min = 1, .max = TKUV_MAX_SIZE, .setProc = SetConnOption},
 *	{NULL}
 *   };
 *
 * and its use at creation (the shared `configure` and `cget` need nothing;
 * with TKUV_PARSE_TRAILING_COMMAND an odd last word is the -command value,
 * the short form `tkuv::timer after MS CMD`):
 *
 *   if (TkuvOptionsParse(interp, connOptions, objc, objv, TKUV_PARSE_CREATE,
 *	    &vals) != TCL_OK) return TCL_ERROR;	   (nothing made yet)
 *   ... allocate, init the libuv handle, TkuvHandleRegister(..., NULL) ...
 *   if (TkuvOptionsApply(interp, &t->h, &vals, TKUV_APPLY_ALL) != TCL_OK)
 *	{ TkuvHandleClose(&t->h); return TCL_ERROR; }
 *
 * Messages: an unknown name gives `bad option "-x": must be -a, -b, or -c`,
 * a bad value `expected DESCRIPTION for -opt but got "value"` (TkuvBadValue:
 * checkProcs use it too), all with errorCode {TKUV USAGE message}.
 */

typedef enum TkuvOptionType {
    TKUV_OPT_BOOLEAN, TKUV_OPT_INT, TKUV_OPT_SIZE, TKUV_OPT_MS,
    TKUV_OPT_CALLBACK, TKUV_OPT_STRING, TKUV_OPT_INDEX, TKUV_OPT_ALIAS
} TkuvOptionType;

/* Flags of an option. */
#define TKUV_OPT_CREATE_ONLY	1	/* Given at creation; configure refuses
					 * it afterwards (it still reads it). */
#define TKUV_OPT_READ_ONLY	2	/* Shown, never set by a script. */
#define TKUV_OPT_REQUIRED	4	/* Creation fails without it. */

typedef union TkuvOptionValue {
    int i;			/* BOOLEAN, INT, INDEX */
    Tcl_WideInt w;		/* SIZE, MS */
    Tcl_Obj *obj;		/* CALLBACK, STRING (not held: the caller's) */
} TkuvOptionValue;

typedef struct TkuvOption TkuvOption;

/* Extra check of a parsed value; errors via TkuvBadValue. */
typedef int (TkuvOptionCheckProc)(Tcl_Interp *interp, const TkuvOption *opt,
	Tcl_Obj *valueObj, TkuvOptionValue *value);
/* Applies a checked value to the handle (the field is stored after). */
typedef int (TkuvOptionSetProc)(Tcl_Interp *interp, TkuvHandle *h,
	const TkuvOption *opt, TkuvOptionValue *value);
/* The current value, a new object. */
typedef Tcl_Obj *(TkuvOptionGetProc)(TkuvHandle *h, const TkuvOption *opt);

struct TkuvOption {
    const char *name;		/* "-nodelay"; NULL ends the table. */
    TkuvOptionType type;
    int offset;			/* Of the field in the record, or 0. */
    int flags;			/* TKUV_OPT_CREATE_ONLY, ... */
    Tcl_WideInt min, max;	/* INT, SIZE, MS. */
    const char *const *values;	/* INDEX: the names, NULL-terminated. */
    const char *alias;		/* ALIAS: the real option's name. */
    TkuvOptionCheckProc *checkProc;
    TkuvOptionSetProc *setProc;
    TkuvOptionGetProc *getProc;
};

#define TKUV_MAX_OPTIONS 64	/* Entries of one table, aliases included. */
#define TKUV_MAX_SIZE	((Tcl_WideInt) 1 << 40)	/* A SIZE option's usual max. */

typedef struct TkuvOptionValues {
    uint64_t given;		/* Bit i: entry i of the table was given. */
    TkuvOptionValue v[TKUV_MAX_OPTIONS];
} TkuvOptionValues;

#define TKUV_OPTION_GIVEN(vals, i)	(((vals)->given >> (i)) & 1)

/* TkuvOptionsParse flags. */
#define TKUV_PARSE_CREATE	1	/* Creation: create-only options allowed,
					 * required ones checked. */
#define TKUV_PARSE_TRAILING_COMMAND 2	/* An odd word count: the last word is
					 * the -command value (the short form,
					 * `tkuv::timer after MS CMD`). */
/* TkuvOptionsApply: what to do for each given option. */
#define TKUV_APPLY_STORE	1	/* Store the fields. */
#define TKUV_APPLY_SET		2	/* Run the setProcs. */
#define TKUV_APPLY_ALL		3

MODULE_SCOPE int	TkuvOptionsParse(Tcl_Interp *interp,
			    const TkuvOption *table, int objc,
			    Tcl_Obj *const objv[], int flags,
			    TkuvOptionValues *vals);
MODULE_SCOPE int	TkuvOptionsApply(Tcl_Interp *interp, TkuvHandle *h,
			    const TkuvOptionValues *vals, int how);
MODULE_SCOPE Tcl_Obj *	TkuvOptionGet(TkuvHandle *h, const TkuvOption *opt);
MODULE_SCOPE int	TkuvOptionRefused(Tcl_Interp *interp,
			    const TkuvOption *opt, int err);

/*
 * Handle commands. Every handle's command is the shared dispatcher
 * TkuvHandleObjCmd: it knows close, info, configure and cget for every
 * family (from the type's `options` and `infoProc`), and the family's own
 * subcommands from its `subcommands` table. A family subcommand gets the
 * whole objv (objv[1] is its name, or a unique prefix of it) after the
 * layer has checked that the words after the name number from minArgs to
 * maxArgs (-1: any); `usage` names them for the wrong # args message.
 */

typedef int (TkuvSubcommandProc)(Tcl_Interp *interp, TkuvHandle *h,
	int objc, Tcl_Obj *const objv[]);

typedef struct TkuvSubcommand {
    const char *name;		/* NULL ends the table. */
    TkuvSubcommandProc *proc;
    int minArgs, maxArgs;	/* Words after the name; maxArgs -1: any. */
    const char *usage;		/* Those words, e.g. "bytes" ("" for none). */
} TkuvSubcommand;

/* Adds the family's keys to `info`'s dict. */
typedef void (TkuvInfoProc)(TkuvHandle *h, Tcl_Obj *dict);

typedef struct TkuvHandleType {
    const char *name;			/* "timer": used in command names. */
    size_t recordSize;			/* sizeof the family record. */
    void (*closeProc)(TkuvHandle *h);	/* Extra teardown on close, or NULL. */
    const TkuvOption *options;		/* configure/cget/creation, or NULL. */
    TkuvInfoProc *infoProc;		/* `info`, or NULL (an empty dict). */
    const TkuvSubcommand *subcommands;	/* The family's own, or NULL. */
} TkuvHandleType;

struct TkuvHandle {
    const TkuvHandleType *type;
    TkuvBridge *bridge;
    Tcl_Interp *interp;		/* Valid while the command exists; NULL
				 * once the interp is deleted while a `closed` event
				 * waits (ClosedEventInterpGone). */
    Tcl_Command token;		/* NULL once the command is gone. */
    Tcl_Obj *nameObj;		/* Fully qualified command name. */
    Tcl_Obj *callback;		/* Command prefix, or NULL. */
    uv_handle_t *uvHandle;	/* Points into the family record, or NULL. */
    int refCount;		/* Open handle + queued events + retains. */
    int closed;			/* Close requested: no more callbacks. */
    TkuvHandle *prev, *next;	/* In bridge->handles. */
};

/*
 * Runs after a queued event's script (or instead of it, when the handle has
 * closed meanwhile), with the clientData and size given to QueueEvent: a
 * stream uses it to account for delivered bytes.
 */
typedef void (TkuvAfterEventProc)(TkuvHandle *h, void *clientData, size_t size);

MODULE_SCOPE void *	TkuvHandleAlloc(const TkuvHandleType *type);
MODULE_SCOPE int	TkuvHandleRegister(Tcl_Interp *interp, TkuvBridge *bridge,
			    TkuvHandle *h, uv_handle_t *uvHandle, Tcl_Obj *callback);
MODULE_SCOPE TkuvHandle *TkuvHandleFromObj(Tcl_Interp *interp, Tcl_Obj *obj,
			    const TkuvHandleType *type);
MODULE_SCOPE void	TkuvHandleClose(TkuvHandle *h);
MODULE_SCOPE Tcl_Obj *	TkuvHandleName(TkuvHandle *h);
MODULE_SCOPE void	TkuvHandleRetain(TkuvHandle *h);
MODULE_SCOPE void	TkuvHandleRelease(TkuvHandle *h);
MODULE_SCOPE int	TkuvHandleInvoke(TkuvHandle *h, Tcl_Obj *eventArgs);
MODULE_SCOPE void	TkuvHandleQueueEvent(TkuvHandle *h, Tcl_Obj *eventArgs,
			    TkuvAfterEventProc *afterProc, void *clientData,
			    size_t size);
MODULE_SCOPE void	TkuvHandleQueueClosedEvent(TkuvHandle *h);
MODULE_SCOPE void	TkuvHandleCloseAll(TkuvBridge *bridge);
MODULE_SCOPE TkuvAfterEventProc TkuvHandleCloseAfterEvent;
MODULE_SCOPE int	TkuvHandleList(Tcl_Interp *interp, const char *typeName);
MODULE_SCOPE Tcl_ObjCmdProc TkuvHandlesObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc TkuvHandleObjCmd;
MODULE_SCOPE TkuvSubcommandProc TkuvHandleCloseCmd;	/* `close` */
MODULE_SCOPE const TkuvSubcommand TkuvRequestSubcommands[]; /* `cancel` */
MODULE_SCOPE Tcl_Obj *	TkuvAddressObj(const struct sockaddr *sa);

/*
 * --------------------------------------------------------------------------
 * Streams (tkuvStream.c): what TCP connections and process pipes share --
 * reading with backpressure, a write queue with a "drain" event, half-close.
 * A stream lives inside its owner's record; its events go to the owner.
 * --------------------------------------------------------------------------
 */

#define TKUV_READ_BUFFER_SIZE	65536
#define TKUV_DEFAULT_READ_LIMIT	(1024 * 1024)

typedef struct TkuvWriteReq TkuvWriteReq;

/*
 * A write queue, shared by streams and tkuv::socket's channels: copies of
 * the bytes handed to uv_write, listed in order, so that the bytes libuv
 * has not sent yet can be taken back (a channel moving to another thread,
 * or flushed synchronously at thread end). doneProc runs as each write
 * completes (its request already off the list), with its length and
 * status.
 */
typedef struct TkuvWriteQueue TkuvWriteQueue;
typedef void (TkuvWriteDoneProc)(TkuvWriteQueue *q, size_t length,
			    int status);
struct TkuvWriteQueue {
    uv_stream_t *uv;
    TkuvBridge *bridge;
    TkuvWriteDoneProc *doneProc;
    void *clientData;		/* The queue's owner. */
    TkuvWriteReq *first, *last;	/* Handed to uv_write, in order. */
};

MODULE_SCOPE void	TkuvWriteQueueInit(TkuvWriteQueue *q, uv_stream_t *uv,
			    TkuvBridge *bridge, TkuvWriteDoneProc *doneProc,
			    void *clientData);
MODULE_SCOPE int	TkuvWriteQueueWrite(TkuvWriteQueue *q,
			    const char *data, size_t length);
MODULE_SCOPE void	TkuvWriteQueueUnsent(TkuvWriteQueue *q, char **outPtr,
			    size_t *lenPtr);
MODULE_SCOPE int	TkuvShutdown(uv_stream_t *uv, TkuvBridge *bridge,
			    uv_shutdown_cb cb, void *data);

typedef struct TkuvStream {
    uv_stream_t *uv;		/* The libuv stream (in the owner's record). */
    TkuvHandle *owner;		/* Events are delivered through it. */
    const char *dataEvent;	/* "data", "stdout", "stderr" */
    const char *eofEvent;	/* "eof", or NULL for no event */
    size_t writeQueued;		/* Bytes accepted by write, not yet sent. */
    size_t undelivered;		/* Bytes in data events not yet run. */
    size_t readLimit;		/* Stop reading above this many undelivered. */
    int wantRead;		/* Reading requested and not paused. */
    int reading;		/* uv_read_start is in effect. */
    int eof;			/* No more data will come. */
    int connected;		/* Reads and writes go to libuv directly. */
    int shutdownAsked;		/* `shutdown` called: no more writes. */
    TkuvWriteReq *heldFirst, *heldLast; /* Writes made before connecting. */
    TkuvWriteQueue queue;	/* Writes handed to libuv. */
} TkuvStream;

MODULE_SCOPE void	TkuvStreamInit(TkuvStream *s, TkuvHandle *owner,
			    uv_stream_t *uv, const char *dataEvent,
			    const char *eofEvent);
MODULE_SCOPE void	TkuvStreamSetReading(TkuvStream *s, int wantRead);
MODULE_SCOPE void	TkuvStreamConnected(TkuvStream *s);
MODULE_SCOPE int	TkuvStreamWrite(Tcl_Interp *interp, TkuvStream *s,
			    Tcl_Obj *bytes);
MODULE_SCOPE int	TkuvStreamShutdown(Tcl_Interp *interp, TkuvStream *s);
MODULE_SCOPE void	TkuvStreamClosing(TkuvStream *s);
MODULE_SCOPE Tcl_Obj *	TkuvErrorEventArgs(int err);

/*
 * --------------------------------------------------------------------------
 * Errors (tkuvError.c). Every error tkuv raises sets errorCode to
 * {TKUV USAGE message} or {TKUV <UV_ERRNAME> <uv message>}.
 * --------------------------------------------------------------------------
 */

/* The format is always a literal of ours: user data only ever goes in as %s. */
#if defined(__GNUC__)
#define TKUV_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TKUV_PRINTF(f, a)
#endif
MODULE_SCOPE int	TkuvUsageError(Tcl_Interp *interp, const char *format, ...)
			    TKUV_PRINTF(2, 3);
MODULE_SCOPE int	TkuvUvError(Tcl_Interp *interp, const char *what, int err);
MODULE_SCOPE int	TkuvWrongNumArgs(Tcl_Interp *interp, int objc,
			    Tcl_Obj *const objv[], const char *message);
MODULE_SCOPE int	TkuvGetSubcommand(Tcl_Interp *interp, int objc,
			    Tcl_Obj *const objv[], const char *const *table,
			    const char *usage, int *indexPtr);
MODULE_SCOPE int	TkuvGetIndex(Tcl_Interp *interp, Tcl_Obj *obj,
			    const char *const *table, const char *what, int *indexPtr);
MODULE_SCOPE int	TkuvLookup(Tcl_Interp *interp, Tcl_Obj *obj,
			    const char *what, const char *const *names,
			    int count, uint64_t unlisted, int *indexPtr);
MODULE_SCOPE int	TkuvBadValue(Tcl_Interp *interp, const char *option,
			    const char *expected, Tcl_Obj *valueObj);
MODULE_SCOPE void	TkuvAppendChoices(Tcl_Obj *msg, const char *const *names,
			    int count, uint64_t unlisted);
MODULE_SCOPE const unsigned char *TkuvGetBytes(Tcl_Interp *interp,
			    Tcl_Obj *obj, Tcl_Size *lengthPtr);
MODULE_SCOPE int	TkuvGetPort(Tcl_Interp *interp, Tcl_Obj *obj, int minimum,
			    int *portPtr);
MODULE_SCOPE int	TkuvGetMilliseconds(Tcl_Interp *interp, Tcl_Obj *obj,
			    int minimum, uint64_t *msPtr);

/*
 * --------------------------------------------------------------------------
 * Memory: tkuv's own records use malloc so that valgrind and ASan see each
 * block (threaded Tcl's ckalloc pools small blocks per thread).
 * --------------------------------------------------------------------------
 */

MODULE_SCOPE void *	TkuvAlloc(size_t size);
MODULE_SCOPE void	TkuvFree(void *ptr);

/*
 * --------------------------------------------------------------------------
 * Command families.
 * --------------------------------------------------------------------------
 */

/* Socket addresses as text (tkuvAddr.c): returns the port. */
#define TKUV_ADDRSTRLEN	192	/* INET6_ADDRSTRLEN + "%" + interface name. */
MODULE_SCOPE int	TkuvNumericAddress(const char *host, int port,
			    struct sockaddr_storage *ss);
MODULE_SCOPE int	TkuvSockaddrName(const struct sockaddr *sa, char *name,
			    size_t size);

/*
 * Connecting to a host (tkuvConnect.c), for tkuv::tcp and tkuv::socket: each
 * address of the name in turn. proc gets 0 and the connected socket (the
 * caller adopts it: uv_tcp_open), or the last error and no socket.
 */
typedef struct TkuvConnect TkuvConnect;
typedef void (TkuvConnectProc)(void *clientData, int status,
			    uv_os_sock_t sock);
MODULE_SCOPE TkuvConnect *TkuvConnectNew(const char *host, int port,
			    int family, const struct sockaddr_storage *locals,
			    int numLocals, TkuvConnectProc *proc,
			    void *clientData);
MODULE_SCOPE int	TkuvConnectStart(TkuvConnect *c, TkuvBridge *bridge,
			    int lookUpNow);
MODULE_SCOPE void	TkuvConnectSuspend(TkuvConnect *c);
MODULE_SCOPE int	TkuvConnectResolving(const TkuvConnect *c);
MODULE_SCOPE void	TkuvConnectFree(TkuvConnect *c);
MODULE_SCOPE int	TkuvConnectAdopt(uv_tcp_t *tcp, uv_os_sock_t sock);
MODULE_SCOPE void	TkuvLookUpHints(struct addrinfo *hints, int family,
			    int passive);
MODULE_SCOPE void	TkuvAddressList(const struct addrinfo *res, int port,
			    int family, struct sockaddr_storage **addrsPtr,
			    int *numPtr);
MODULE_SCOPE int	TkuvLookUp(uv_loop_t *loop, const char *host, int port,
			    int family, int passive,
			    struct sockaddr_storage **addrsPtr, int *numPtr);

/* Signal names (tkuvSigName.c), for tkuv::signal and tkuv::spawn. */
#define TKUV_MAX_SIGNAL 127	/* Highest signal number accepted. */
MODULE_SCOPE int	TkuvGetSignal(Tcl_Interp *interp, Tcl_Obj *obj,
			    int minimum, int *signumPtr);
MODULE_SCOPE const char *TkuvSignalName(int signum);

MODULE_SCOPE Tcl_ObjCmdProc TkuvInfoObjCmd;	/* tkuv.c */
MODULE_SCOPE Tcl_ObjCmdProc TkuvTimerObjCmd;	/* tkuvTimer.c */
MODULE_SCOPE Tcl_ObjCmdProc TkuvGuestObjCmd;	/* tkuvGuest.c */
MODULE_SCOPE Tcl_ObjCmdProc TkuvWaitModeObjCmd;	/* tkuvPump.c */
MODULE_SCOPE Tcl_ObjCmdProc TkuvTcpObjCmd;	/* tkuvTcp.c */
MODULE_SCOPE Tcl_ObjCmdProc TkuvUdpObjCmd;	/* tkuvUdp.c */
MODULE_SCOPE Tcl_ObjCmdProc TkuvSpawnObjCmd;	/* tkuvProcess.c */
MODULE_SCOPE Tcl_ObjCmdProc TkuvSignalObjCmd;	/* tkuvSignal.c */
MODULE_SCOPE Tcl_ObjCmdProc TkuvWatchObjCmd;	/* tkuvWatch.c */
MODULE_SCOPE Tcl_ObjCmdProc TkuvResolveObjCmd;	/* tkuvDns.c */
MODULE_SCOPE Tcl_ObjCmdProc TkuvFsObjCmd;	/* tkuvFs.c */
MODULE_SCOPE Tcl_ObjCmdProc TkuvSocketObjCmd;	/* tkuvSocket.c */
MODULE_SCOPE Tcl_ObjCmdProc TkuvSocketCompatObjCmd;
MODULE_SCOPE void	TkuvSocketInterpAdd(Tcl_Interp *interp);
MODULE_SCOPE Tcl_ObjCmdProc TkuvFdLimitObjCmd;	/* unix/tkuvUnixLimit.c */
MODULE_SCOPE Tcl_ObjCmdProc TkuvNotifierObjCmd;	/* unix/tkuvNotifier.c */

#endif /* TKUV_INT_H */
