/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvFs.c --
 *
 *	tkuv::fs: file operations on libuv's threadpool, results by callback.
 *
 *	    tkuv::fs read PATH ?-offset N? ?-length N? CMD
 *	    tkuv::fs write PATH BYTES ?-offset N? CMD
 *	    tkuv::fs append PATH BYTES CMD
 *	    tkuv::fs stat|unlink|scandir PATH CMD
 *	    tkuv::fs mkdir PATH ?-mode MODE? CMD
 *
 *	Each operation is a request handle (::tkuv::fsN) without a libuv
 *	handle; its one event is `done RESULT` or `error {UV_ERRNAME msg}`,
 *	after which it closes by itself. `$req cancel` abandons it.
 *
 *	Reads and writes are a chain of requests (open, fstat, one uv_fs_read
 *	or uv_fs_write per chunk, close) driven from libuv's callbacks, so a
 *	large file never ties up a threadpool thread or the Tcl thread for
 *	long, and a cancelled transfer stops at the next chunk.
 *
 *	What can wait for ever -- a FIFO, a terminal, any character device
 *	that can be polled -- never goes to the threadpool, whose four threads
 *	name lookups and every other file operation share: the file is opened
 *	with O_NONBLOCK (an open for reading does not wait for a writer; one
 *	for writing fails with ENXIO when there is no reader, as a FIFO can
 *	only be written with a reader), and after fstat its reads or writes
 *	are done on the Tcl thread as a uv_poll on the descriptor reports it
 *	ready, one read() or write() per report. Regular files and devices
 *	that cannot be polled (/dev/null, /dev/zero: never blocking) go on
 *	with blocking I/O on the threadpool as before.
 *
 *	A read fills
 *	an unshared Tcl byte array directly (sized from fstat, grown if the
 *	file grows): no copy of the whole file. A write copies one chunk at a
 *	time out of the caller's value, which it holds a reference to; Tcl may
 *	change that value's internal representation meanwhile, so no pointer
 *	into it is handed to the threadpool.
 */

#include "tkuvInt.h"
#include <string.h>
#include <limits.h>
#if TKUVP_POLLED_FILES
#define POLLED_IO	1	/* FIFOs and devices through uv_poll. */
#endif

#define CHUNK_SIZE	(4 * 1024 * 1024)
#define MAX_READ	(INT_MAX - 1024)	/* Largest Tcl 8.6 byte array. */
#define MIN_CAPACITY	(64 * 1024)		/* For files of unknown size. */

enum FsOp {
    OP_APPEND, OP_MKDIR, OP_READ, OP_SCANDIR, OP_STAT, OP_UNLINK, OP_WRITE
};

enum FsStep {
    STEP_SINGLE,		/* stat, unlink, mkdir, scandir */
    STEP_OPEN, STEP_FSTAT, STEP_IO, STEP_CLOSE,
    STEP_POLL			/* Waiting on `poll`; no request in flight. */
};

typedef struct FsReq {
    TkuvHandle h;		/* Must be first. */
    uv_fs_t req;		/* Reused by every step of a chain. */
    int op;			/* enum FsOp */
    int step;			/* enum FsStep: what `req` is doing. */
    int inFlight;		/* `req` has not called back yet. */
    uv_file fd;			/* -1 when no file is open. */
    int err;			/* First libuv error, 0 if none. */
    int eof;			/* read: a read returned 0. */
    int64_t offset;		/* -offset, or -1: from the start (read,
				 * write) or the end (append), sequentially. */
    int64_t limit;		/* read: -length, or -1 for all. */
    Tcl_Obj *data;		/* read: the buffer being filled (ours only);
				 * write: the caller's bytes (held). */
    size_t capacity;		/* read: bytes allocated in data. */
    size_t done;		/* Bytes read or written so far. */
    size_t total;		/* write: bytes to write. */
    size_t pending;		/* Bytes asked of the request in flight. */
    char *chunk;		/* write: the chunk being written. */
    Tcl_Obj *result;		/* stat, scandir: the result. */
#ifdef POLLED_IO
    int polled;			/* A FIFO or device: I/O through `poll`. */
    int pollOpen;		/* `poll` initialised, not yet closed. */
    uv_poll_t poll;
#endif
} FsReq;

static void	FsClosed(TkuvHandle *h);

static const TkuvHandleType fsType = {
    "fs", TkuvRequestHandleCmd, sizeof(FsReq), FsClosed
};

static int	GetNativePath(Tcl_Interp *interp, Tcl_Obj *pathObj,
		    Tcl_DString *dsPtr);
static int	GetOffset(Tcl_Interp *interp, Tcl_Obj *obj, const char *what,
		    int64_t *valuePtr);
static int	GetMode(Tcl_Interp *interp, Tcl_Obj *obj, int *modePtr);
static int	Submit(FsReq *r, int step, int err);
static void	OnFs(uv_fs_t *req);
static void	Advance(FsReq *r);
static int	NextTransfer(FsReq *r);
static int	ReadSpace(FsReq *r, size_t *wantPtr);
#ifdef POLLED_IO
static int	StartPoll(FsReq *r);
static void	OnPoll(uv_poll_t *poll, int status, int events);
static void	EndPoll(FsReq *r);
static void	OnPollClosed(uv_handle_t *handle);
#endif
static void	Deliver(FsReq *r);
static Tcl_Obj *StatDict(const uv_stat_t *st);
static Tcl_Obj *ScandirList(uv_fs_t *req);
static Tcl_Obj *NativeToObj(const char *native);
static const char *TypeName(uint64_t mode);

/*
 *----------------------------------------------------------------------
 *
 * TkuvFsObjCmd --
 *
 *	tkuv::fs append|mkdir|read|scandir|stat|unlink|write PATH ... CMD
 *
 * Results:
 *	The name of the new request handle.
 *
 * Side effects:
 *	Starts the operation on libuv's threadpool.
 *
 *----------------------------------------------------------------------
 */

int
TkuvFsObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subcommands[] = {
	"append", "mkdir", "read", "scandir", "stat", "unlink", "write", NULL
    };
    static const char *const readOptions[] = { "-length", "-offset", NULL };
    static const char *const writeOptions[] = { "-offset", NULL };
    static const char *const mkdirOptions[] = { "-mode", NULL };
    static const char *const noOptions[] = { NULL };
    const char *const *options = noOptions;
    const char *usage = "path command";
    int op, fixed = 1, i, index, mode = 0777, err = 0;
    Tcl_Size length = 0;
    int64_t offset = -1, limit = -1;
    Tcl_Obj *callback, *bytesObj = NULL;
    Tcl_DString ds;
    TkuvBridge *bridge;
    uv_loop_t *loop;
    FsReq *r;
    const char *path;

    (void) clientData;
    if (objc < 2) {
	return TkuvWrongNumArgs(interp, 1, objv, "subcommand path ?arg ...?");
    }
    if (TkuvGetIndex(interp, objv[1], subcommands, "subcommand", &op)
	    != TCL_OK) {
	return TCL_ERROR;
    }
    switch (op) {
    case OP_READ:
	/* tkuv::fs read PATH ?-offset N? ?-length N? CMD */
	options = readOptions;
	usage = "path ?-offset offset? ?-length length? command";
	break;
    case OP_WRITE:
	/* tkuv::fs write PATH BYTES ?-offset N? CMD */
	options = writeOptions;
	fixed = 2;
	usage = "path bytes ?-offset offset? command";
	break;
    case OP_APPEND:
	/* tkuv::fs append PATH BYTES CMD */
	fixed = 2;
	usage = "path bytes command";
	break;
    case OP_MKDIR:
	/* tkuv::fs mkdir PATH ?-mode MODE? CMD */
	options = mkdirOptions;
	usage = "path ?-mode mode? command";
	break;
    case OP_SCANDIR:
    case OP_STAT:
    case OP_UNLINK:
	/* tkuv::fs scandir|stat|unlink PATH CMD */
	break;
    }
    if (objc < 3 + fixed || (objc - 3 - fixed) % 2 != 0
	    || (options == noOptions && objc != 3 + fixed)) {
	return TkuvWrongNumArgs(interp, 2, objv, usage);
    }
    for (i = 2 + fixed; i < objc - 1; i += 2) {
	if (TkuvGetIndex(interp, objv[i], options, "option", &index)
		!= TCL_OK) {
	    return TCL_ERROR;
	}
	if (strcmp(options[index], "-offset") == 0) {
	    if (GetOffset(interp, objv[i + 1], "offset", &offset) != TCL_OK) {
		return TCL_ERROR;
	    }
	} else if (strcmp(options[index], "-length") == 0) {
	    if (GetOffset(interp, objv[i + 1], "length", &limit) != TCL_OK) {
		return TCL_ERROR;
	    }
	    if (limit > MAX_READ) {
		return TkuvUsageError(interp, "length \"%s\" is too large: "
			"at most %d bytes can be read at once",
			Tcl_GetString(objv[i + 1]), MAX_READ);
	    }
	} else if (GetMode(interp, objv[i + 1], &mode) != TCL_OK) {
	    return TCL_ERROR;
	}
    }
    if (fixed == 2) {
	bytesObj = objv[3];
	if (TkuvGetBytes(interp, bytesObj, &length) == NULL) {
	    return TCL_ERROR;
	}
    }
    callback = objv[objc - 1];
    if (TkuvCheckCallback(interp, callback) != TCL_OK
	    || GetNativePath(interp, objv[2], &ds) != TCL_OK) {
	return TCL_ERROR;
    }
    if (TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	Tcl_DStringFree(&ds);
	return TCL_ERROR;
    }
    loop = &bridge->loop;
    path = Tcl_DStringValue(&ds);

    r = TkuvHandleAlloc(&fsType);
    r->op = op;
    r->fd = -1;
    r->offset = offset;
    r->limit = limit;
    r->req.data = r;

    /* libuv copies the path: the DString can go once the call returns. */
    switch (op) {
    case OP_READ:
	err = Submit(r, STEP_OPEN, uv_fs_open(loop, &r->req, path,
		UV_FS_O_RDONLY | UV_FS_O_NONBLOCK, 0, OnFs));
	break;
    case OP_WRITE:
    case OP_APPEND:
	r->data = bytesObj;
	Tcl_IncrRefCount(bytesObj);
	r->total = (size_t) length;
	r->chunk = TkuvAlloc(length < CHUNK_SIZE ? (size_t) length
		: CHUNK_SIZE);
	if (op == OP_APPEND) {
	    /* O_APPEND puts every write at the end, whatever the offset. */
	    err = Submit(r, STEP_OPEN, uv_fs_open(loop, &r->req, path,
		    UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_APPEND
		    | UV_FS_O_NONBLOCK, 0666, OnFs));
	} else {
	    /* Without -offset the file is replaced; with it, patched. */
	    err = Submit(r, STEP_OPEN, uv_fs_open(loop, &r->req, path,
		    UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_NONBLOCK
		    | (offset < 0 ? UV_FS_O_TRUNC : 0), 0666, OnFs));
	}
	break;
    case OP_STAT:
	err = Submit(r, STEP_SINGLE, uv_fs_stat(loop, &r->req, path, OnFs));
	break;
    case OP_UNLINK:
	err = Submit(r, STEP_SINGLE, uv_fs_unlink(loop, &r->req, path, OnFs));
	break;
    case OP_MKDIR:
	err = Submit(r, STEP_SINGLE, uv_fs_mkdir(loop, &r->req, path, mode,
		OnFs));
	break;
    case OP_SCANDIR:
	err = Submit(r, STEP_SINGLE, uv_fs_scandir(loop, &r->req, path, 0,
		OnFs));
	break;
    }
    Tcl_DStringFree(&ds);
    if (err != 0) {
	/* Nothing was queued: no callback will come. */
	uv_fs_req_cleanup(&r->req);
	if (r->data != NULL) {
	    Tcl_DecrRefCount(r->data);
	}
	if (r->chunk != NULL) {
	    TkuvFree(r->chunk);
	}
	TkuvFree(r);
	return TkuvUvError(interp, Tcl_GetString(objv[2]), err);
    }
    TkuvHandleRegister(interp, bridge, &r->h, NULL, callback);
    TkuvHandleRetain(&r->h);		/* Released when the chain ends. */
    TkuvBridgeKick(bridge);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * GetNativePath --
 *
 *	PATH as the string libuv wants (the system encoding on Unix, UTF-8 on
 *	Windows), normalized against Tcl's current directory, in *dsPtr.
 *	Paths of virtual file systems (zipfs, tclvfs) are refused: the
 *	threadpool can only reach real files.
 *
 *----------------------------------------------------------------------
 */

static int
GetNativePath(
    Tcl_Interp *interp,
    Tcl_Obj *pathObj,
    Tcl_DString *dsPtr)
{
    const void *native;

    if (Tcl_GetString(pathObj)[0] == '\0') {
	return TkuvUsageError(interp, "expected a file name but got \"\"");
    }
    if (strstr(Tcl_GetString(pathObj), "\xC0\x80") != NULL) {
	/* Tcl's encoded NUL: the system would see a shorter name. */
	return TkuvUsageError(interp, "file name \"%s\" contains a NUL "
		"character", Tcl_GetString(pathObj));
    }
    if (Tcl_FSGetNormalizedPath(interp, pathObj) == NULL) {
	/* E.g. ~user for an unknown user: keep Tcl's message. */
	return TkuvUsageError(interp, "bad file name \"%s\": %s",
		Tcl_GetString(pathObj), Tcl_GetStringResult(interp));
    }
    native = Tcl_FSGetNativePath(pathObj);
    if (native == NULL) {
	return TkuvUsageError(interp, "\"%s\" is not a path of the native "
		"file system", Tcl_GetString(pathObj));
    }
    TkuvpFsPath(pathObj, native, dsPtr);
    return TCL_OK;
}


/*
 *----------------------------------------------------------------------
 *
 * GetOffset, GetMode --
 *
 *	-offset and -length: whole numbers >= 0. -mode: permission bits,
 *	always read as octal like chmod's (755, 0755 and 0o755 are the same).
 *
 *----------------------------------------------------------------------
 */

static int
GetOffset(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    const char *what,
    int64_t *valuePtr)
{
    Tcl_WideInt value;

    if (Tcl_GetWideIntFromObj(NULL, obj, &value) != TCL_OK || value < 0) {
	return TkuvUsageError(interp, "expected a %s (an integer >= 0) but "
		"got \"%s\"", what, Tcl_GetString(obj));
    }
    *valuePtr = (int64_t) value;
    return TCL_OK;
}

static int
GetMode(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    int *modePtr)
{
    const char *s = Tcl_GetString(obj), *p = s;
    int mode = 0;

    if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
	p += 2;
    }
    if (*p == '\0') {
	goto bad;
    }
    for (; *p != '\0'; p++) {
	if (*p < '0' || *p > '7' || (mode = mode * 8 + (*p - '0')) > 07777) {
	    goto bad;
	}
    }
    *modePtr = mode;
    return TCL_OK;

  bad:
    return TkuvUsageError(interp, "expected an octal mode 0-7777 (such as "
	    "755) but got \"%s\"", s);
}

/*
 *----------------------------------------------------------------------
 *
 * Submit --
 *
 *	Bookkeeping after a uv_fs_* call with a callback: err is its return.
 *
 * Results:
 *	err (0 when the request is now in flight).
 *
 *----------------------------------------------------------------------
 */

static int
Submit(
    FsReq *r,
    int step,
    int err)
{
    r->step = step;
    r->inFlight = (err == 0);
    if (err == 0) {
	TkuvPoolBegin();
    }
    return err;
}

/*
 *----------------------------------------------------------------------
 *
 * OnFs --
 *
 *	libuv's callback for every step (on the Tcl thread, inside uv_run):
 *	take in the step's result, then start the next step or deliver.
 *
 *----------------------------------------------------------------------
 */

static void
OnFs(
    uv_fs_t *req)
{
    FsReq *r = req->data;
    ssize_t res = req->result;

    TkuvPoolEnd();
    r->inFlight = 0;
    if (res < 0) {
	if (r->step == STEP_CLOSE) {
	    r->fd = -1;		/* Closed or not, it is gone. */
	}
	/* A close error matters too: written data may not have made it. */
	if (r->err == 0) {
	    r->err = (int) res;
	}
    } else {
	switch (r->step) {
	case STEP_OPEN:
	    r->fd = (uv_file) res;
	    break;
	case STEP_FSTAT: {
	    /* Size the buffer for what is there now (+1 to see EOF). */
	    uint64_t size = req->statbuf.st_size, want;
	    uint64_t start = (r->offset < 0) ? 0 : (uint64_t) r->offset;
	    uint64_t type = req->statbuf.st_mode & S_IFMT;

#ifdef POLLED_IO
	    if (type == S_IFIFO || type == S_IFCHR || type == S_IFSOCK) {
		r->polled = 1;		/* If it can be polled: StartPoll. */
	    } else {
		/* Opened O_NONBLOCK: meaningless here, but not wanted. */
		int flags = fcntl(r->fd, F_GETFL);

		if (flags != -1 && (flags & O_NONBLOCK)) {
		    (void) fcntl(r->fd, F_SETFL, flags & ~O_NONBLOCK);
		}
	    }
#endif
	    if (r->op != OP_READ) {
		break;
	    }
	    want = (size > start) ? size - start + 1 : 1;
	    if (type != S_IFREG) {
		want = MIN_CAPACITY;	/* A pipe or device: size unknown. */
	    }
	    if (r->limit >= 0 && want > (uint64_t) r->limit) {
		want = (uint64_t) r->limit;
	    }
	    if (want > MAX_READ) {
		want = MAX_READ;
	    }
	    r->capacity = (size_t) want;
	    r->data = Tcl_NewByteArrayObj(NULL, (int) want);
	    Tcl_IncrRefCount(r->data);
	    break;
	}
	case STEP_IO:
	    if (res == 0 && r->pending > 0) {
		if (r->op == OP_READ) {
		    r->eof = 1;
		} else {
		    r->err = UV_EIO;	/* A write that makes no progress. */
		}
	    }
	    r->done += (size_t) res;
	    break;
	case STEP_CLOSE:
	    r->fd = -1;
	    break;
	case STEP_SINGLE:
	    if (r->op == OP_STAT) {
		r->result = StatDict(&req->statbuf);
	    } else if (r->op == OP_SCANDIR) {
		r->result = ScandirList(req);
	    }
	    if (r->result != NULL) {
		Tcl_IncrRefCount(r->result);
	    }
	    break;
	}
    }
    uv_fs_req_cleanup(req);
    Advance(r);
}

/*
 *----------------------------------------------------------------------
 *
 * Advance --
 *
 *	Starts the next step of the chain: the next chunk while all is well,
 *	else the close of an open file, else delivery. A closed (cancelled)
 *	request goes straight to closing its file.
 *
 *----------------------------------------------------------------------
 */

static void
Advance(
    FsReq *r)
{
    uv_loop_t *loop = &r->h.bridge->loop;
    int err;

    if (r->h.closed && r->err == 0) {
	r->err = UV_ECANCELED;
    }
    if (r->err == 0 && r->step != STEP_SINGLE && r->step != STEP_CLOSE) {
	err = NextTransfer(r);
	if (err == 1) {
	    return;
	}
	r->err = err;
    }
    if (r->fd >= 0) {
	err = Submit(r, STEP_CLOSE, uv_fs_close(loop, &r->req, r->fd, OnFs));
	if (err == 0) {
	    return;
	}
	r->fd = -1;
	if (r->err == 0) {
	    r->err = err;
	}
    }
    Deliver(r);
}

/*
 *----------------------------------------------------------------------
 *
 * NextTransfer --
 *
 *	After open: fstat (read), then one uv_fs_read or uv_fs_write per
 *	chunk until the transfer is complete.
 *
 * Results:
 *	1 when a request was started, 0 when the transfer is complete, or a
 *	libuv error.
 *
 *----------------------------------------------------------------------
 */

static int
NextTransfer(
    FsReq *r)
{
    uv_loop_t *loop = &r->h.bridge->loop;
    int64_t position;
    size_t want;
    uv_buf_t buf;
    int err;

    if (r->step == STEP_OPEN) {
	/* What the file is decides how it is read or written. */
	err = Submit(r, STEP_FSTAT, uv_fs_fstat(loop, &r->req, r->fd, OnFs));
	return err ? err : 1;
    }
#ifdef POLLED_IO
    if (r->polled) {
	if (r->step == STEP_POLL) {
	    return 0;		/* The poll has ended with the transfer. */
	}
	if ((err = StartPoll(r)) != UV_EPERM) {
	    return err;
	}
	r->polled = 0;		/* Cannot be polled, so never blocks. */
    }
#endif
    position = (r->offset < 0) ? -1 : r->offset + (int64_t) r->done;

    if (r->op == OP_READ) {
	unsigned char *bytes;

	if ((err = ReadSpace(r, &want)) != 1) {
	    return err;
	}
	/*
	 * The threadpool writes straight into the value's bytes: nothing
	 * else can see the value until it is delivered, and it is only
	 * resized here, between reads.
	 */
	bytes = Tcl_GetByteArrayFromObj(r->data, NULL);
	buf = uv_buf_init((char *) bytes + r->done, (unsigned) want);
	r->pending = want;
	err = Submit(r, STEP_IO, uv_fs_read(loop, &r->req, r->fd, &buf, 1,
		position, OnFs));
	return err ? err : 1;
    }

    /* write, append */
    if (r->done >= r->total) {
	return 0;
    }
    want = r->total - r->done;
    if (want > CHUNK_SIZE) {
	want = CHUNK_SIZE;
    }
    /* Copy the chunk now: the caller's value may shimmer later. */
    memcpy(r->chunk, Tcl_GetByteArrayFromObj(r->data, NULL) + r->done, want);
    buf = uv_buf_init(r->chunk, (unsigned) want);
    r->pending = want;
    err = Submit(r, STEP_IO, uv_fs_write(loop, &r->req, r->fd, &buf, 1,
	    position, OnFs));
    return err ? err : 1;
}

/*
 *----------------------------------------------------------------------
 *
 * ReadSpace --
 *
 *	Before each read: whether the read is complete, and if not how many
 *	bytes the next one may ask for, growing the buffer when it is full
 *	(the file was bigger than fstat said, or is a pipe).
 *
 * Results:
 *	1 and *wantPtr set, 0 when the read is complete, or UV_EFBIG when
 *	more was read than a Tcl value can hold.
 *
 *----------------------------------------------------------------------
 */

static int
ReadSpace(
    FsReq *r,
    size_t *wantPtr)
{
    size_t want;

    if (r->eof || (r->limit >= 0 && r->done >= (uint64_t) r->limit)) {
	return 0;
    }
    if (r->done == r->capacity) {
	size_t cap = r->capacity * 2;

	if (cap < r->capacity + MIN_CAPACITY) {
	    cap = r->capacity + MIN_CAPACITY;
	}
	if (r->limit >= 0 && cap > (uint64_t) r->limit) {
	    cap = (size_t) r->limit;
	}
	if (cap > MAX_READ) {
	    cap = MAX_READ;
	}
	if (cap <= r->capacity) {
	    return UV_EFBIG;
	}
	Tcl_SetByteArrayLength(r->data, (int) cap);
	r->capacity = cap;
    }
    want = r->capacity - r->done;
    if (r->limit >= 0 && want > (uint64_t) r->limit - r->done) {
	want = (size_t) ((uint64_t) r->limit - r->done);
    }
    if (want > CHUNK_SIZE) {
	want = CHUNK_SIZE;
    }
    *wantPtr = want;
    return 1;
}

#ifdef POLLED_IO
/*
 *----------------------------------------------------------------------
 *
 * StartPoll --
 *
 *	After fstat found a FIFO or a device: watch the descriptor for the
 *	readiness the transfer needs. The poll handle lives in the record and
 *	holds a reference on it until its close callback.
 *
 * Results:
 *	1 when polling, UV_EPERM for a descriptor that cannot be polled (the
 *	caller then uses the threadpool), or another libuv error.
 *
 *----------------------------------------------------------------------
 */

static int
StartPoll(
    FsReq *r)
{
    int err;

    if (r->offset >= 0 && lseek(r->fd, 0, SEEK_CUR) == -1
	    && errno == ESPIPE) {
	return UV_ESPIPE;		/* -offset on a FIFO: say so now. */
    }
    err = uv_poll_init(&r->h.bridge->loop, &r->poll, r->fd);
    if (err != 0) {
	return err;
    }
    r->poll.data = r;
    r->pollOpen = 1;
    TkuvHandleRetain(&r->h);		/* Released by OnPollClosed. */
    r->step = STEP_POLL;
    err = uv_poll_start(&r->poll, (r->op == OP_READ) ? UV_READABLE
	    : UV_WRITABLE, OnPoll);
    if (err != 0) {
	r->err = err;
	EndPoll(r);
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * OnPoll --
 *
 *	The descriptor is ready (or the poll failed): one read() or write()
 *	straight into, or out of, the Tcl value -- this is the Tcl thread,
 *	so no copy is needed -- and the poll ends when the transfer is
 *	complete, fails or the file ends. libuv reports an error condition
 *	on the descriptor as UV_EBADF and stops polling; the I/O is tried
 *	anyway, for the real error (EPIPE when a FIFO's reader has gone).
 *
 *----------------------------------------------------------------------
 */

static void
OnPoll(
    uv_poll_t *poll,
    int status,
    int events)
{
    FsReq *r = poll->data;
    unsigned char *bytes;
    size_t want;
    ssize_t n;
    int err;

    (void) events;
    if (r->op == OP_READ) {
	if ((err = ReadSpace(r, &want)) != 1) {
	    r->err = err;
	    EndPoll(r);
	    return;
	}
	bytes = Tcl_GetByteArrayFromObj(r->data, NULL) + r->done;
	do {
	    n = (r->offset < 0) ? read(r->fd, bytes, want)
		    : pread(r->fd, bytes, want, (off_t) (r->offset + r->done));
	} while (n < 0 && errno == EINTR);
    } else {
	want = r->total - r->done;
	if (want > CHUNK_SIZE) {
	    want = CHUNK_SIZE;
	}
	bytes = Tcl_GetByteArrayFromObj(r->data, NULL) + r->done;
	do {
	    n = (r->offset < 0) ? write(r->fd, bytes, want)
		    : pwrite(r->fd, bytes, want, (off_t) (r->offset + r->done));
	} while (n < 0 && errno == EINTR);
    }
    if (n < 0) {
	if ((errno == EAGAIN || errno == EWOULDBLOCK) && status == 0) {
	    return;			/* Woken for nothing: wait again. */
	}
	r->err = (errno == EAGAIN || errno == EWOULDBLOCK) ? status
		: uv_translate_sys_error(errno);
	EndPoll(r);
	return;
    }
    r->done += (size_t) n;
    if (n == 0 && want > 0) {
	if (r->op == OP_READ) {
	    r->eof = 1;
	} else {
	    r->err = UV_EIO;		/* A write that makes no progress. */
	}
    }
    if (r->err == 0 && r->op == OP_READ) {
	err = ReadSpace(r, &want);
	if (err == 1 && status == 0) {
	    return;			/* More to read. */
	}
	/* Complete, too much, or libuv has stopped polling. */
	r->err = (err < 0) ? err : (err == 1) ? status : 0;
    } else if (r->err == 0 && status < 0 && r->done < r->total) {
	r->err = status;
    }
    if (r->err != 0 || r->op == OP_READ || r->done >= r->total) {
	EndPoll(r);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * EndPoll, OnPollClosed --
 *
 *	The polled transfer is over (complete, failed or cancelled): close
 *	the poll handle; its close callback takes the chain on (to closing
 *	the file and delivery) and drops the poll's reference.
 *
 *----------------------------------------------------------------------
 */

static void
EndPoll(
    FsReq *r)
{
    if (r->pollOpen && !uv_is_closing((uv_handle_t *) &r->poll)) {
	uv_close((uv_handle_t *) &r->poll, OnPollClosed);
	TkuvBridgeKick(r->h.bridge);	/* The close callback needs a tick. */
    }
}

static void
OnPollClosed(
    uv_handle_t *handle)
{
    FsReq *r = handle->data;

    r->pollOpen = 0;
    Advance(r);
    TkuvHandleRelease(&r->h);
}
#endif /* POLLED_IO */

/*
 *----------------------------------------------------------------------
 *
 * Deliver --
 *
 *	The chain is over: queue `done RESULT` or `error {NAME msg}` (nothing
 *	for a cancelled request), free what the request held, and drop the
 *	reference taken when it started.
 *
 *----------------------------------------------------------------------
 */

static void
Deliver(
    FsReq *r)
{
    Tcl_Obj *words[2];

    if (!r->h.closed && r->err != UV_ECANCELED) {
	if (r->err != 0) {
	    TkuvHandleQueueEvent(&r->h, TkuvErrorEventArgs(r->err),
		    TkuvHandleCloseAfterEvent, NULL, 0);
	} else {
	    words[0] = Tcl_NewStringObj("done", -1);
	    switch (r->op) {
	    case OP_READ:
		if (r->data == NULL) {	/* Defensive: fstat always allocates. */
		    words[1] = Tcl_NewByteArrayObj(NULL, 0);
		} else {
		    Tcl_SetByteArrayLength(r->data, (int) r->done);
		    words[1] = r->data;
		}
		break;
	    case OP_WRITE:
	    case OP_APPEND:
		words[1] = Tcl_NewWideIntObj((Tcl_WideInt) r->done);
		break;
	    case OP_STAT:
	    case OP_SCANDIR:
		words[1] = r->result;
		break;
	    default:
		words[1] = Tcl_NewObj();
		break;
	    }
	    TkuvHandleQueueEvent(&r->h, Tcl_NewListObj(2, words),
		    TkuvHandleCloseAfterEvent, NULL, 0);
	}
    }
    if (r->data != NULL) {
	Tcl_DecrRefCount(r->data);
	r->data = NULL;
    }
    if (r->result != NULL) {
	Tcl_DecrRefCount(r->result);
	r->result = NULL;
    }
    if (r->chunk != NULL) {
	TkuvFree(r->chunk);
	r->chunk = NULL;
    }
    TkuvHandleRelease(&r->h);
}

/*
 *----------------------------------------------------------------------
 *
 * StatDict --
 *
 *	The keys of Tcl's `file stat` (times in whole seconds), with `type`
 *	named as `file type` names it.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
StatDict(
    const uv_stat_t *st)
{
    Tcl_Obj *d = Tcl_NewDictObj();

#define PUT(key, value) \
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj(key, -1), \
	    Tcl_NewWideIntObj((Tcl_WideInt) (value)))
    PUT("atime", st->st_atim.tv_sec);
    PUT("ctime", st->st_ctim.tv_sec);
    PUT("dev", st->st_dev);
    PUT("gid", st->st_gid);
    PUT("ino", st->st_ino);
    PUT("mode", st->st_mode);
    PUT("mtime", st->st_mtim.tv_sec);
    PUT("nlink", st->st_nlink);
    PUT("size", st->st_size);
    PUT("uid", st->st_uid);
#undef PUT
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("type", -1),
	    Tcl_NewStringObj(TypeName(st->st_mode), -1));
    return d;
}

static const char *
TypeName(
    uint64_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG:	return "file";
    case S_IFDIR:	return "directory";
    case S_IFCHR:	return "characterSpecial";
#ifdef S_IFLNK
    case S_IFLNK:	return "link";
#endif
#ifdef S_IFIFO
    case S_IFIFO:	return "fifo";
#endif
#ifdef S_IFBLK
    case S_IFBLK:	return "blockSpecial";
#endif
#ifdef S_IFSOCK
    case S_IFSOCK:	return "socket";
#endif
    }
    return "unknown";
}

/*
 *----------------------------------------------------------------------
 *
 * ScandirList --
 *
 *	uv_fs_scandir's entries (without . and ..) as a list of {name type}.
 *	Must run before uv_fs_req_cleanup.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
ScandirList(
    uv_fs_t *req)
{
    Tcl_Obj *list = Tcl_NewListObj(0, NULL), *words[2];
    uv_dirent_t ent;
    const char *type;

    while (uv_fs_scandir_next(req, &ent) != UV_EOF) {
	switch (ent.type) {
	case UV_DIRENT_FILE:	type = "file"; break;
	case UV_DIRENT_DIR:	type = "directory"; break;
	case UV_DIRENT_LINK:	type = "link"; break;
	case UV_DIRENT_FIFO:	type = "fifo"; break;
	case UV_DIRENT_SOCKET:	type = "socket"; break;
	case UV_DIRENT_CHAR:	type = "characterSpecial"; break;
	case UV_DIRENT_BLOCK:	type = "blockSpecial"; break;
	default:		type = "unknown"; break;
	}
	words[0] = NativeToObj(ent.name);
	words[1] = Tcl_NewStringObj(type, -1);
	Tcl_ListObjAppendElement(NULL, list, Tcl_NewListObj(2, words));
    }
    return list;
}

static Tcl_Obj *
NativeToObj(
    const char *native)
{
    Tcl_DString ds;
    Tcl_Obj *obj;

    TkuvpNativeToUtf(native, &ds);
    obj = Tcl_NewStringObj(Tcl_DStringValue(&ds), Tcl_DStringLength(&ds));
    Tcl_DStringFree(&ds);
    return obj;
}

/*
 *----------------------------------------------------------------------
 *
 * FsClosed --
 *
 *	Cancel, rename, interp deletion or thread exit: take the step in
 *	flight off libuv's queue if it has not started, or stop polling; the
 *	chain then closes the file and ends. A step already running finishes
 *	first. A close is never cancelled: the descriptor would leak.
 *
 *----------------------------------------------------------------------
 */

static void
FsClosed(
    TkuvHandle *h)
{
    FsReq *r = (FsReq *) h;

    if (r->inFlight && r->step != STEP_CLOSE) {
	uv_cancel((uv_req_t *) &r->req);
    }
#ifdef POLLED_IO
    if (r->step == STEP_POLL) {
	EndPoll(r);
    }
#endif
}
