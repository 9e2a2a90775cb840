/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvProcess.c --
 *
 *	tkuv::spawn ARGV ?option value ...?: child processes, never through a
 *	shell. The program and its arguments go to uv_spawn exactly as the list
 *	gives them. Each of stdin, stdout and stderr is a pipe (a stream of
 *	tkuvStream.c inside the process record), ignored (/dev/null) or
 *	inherited from this process.
 *
 *	Events: stdout BYTES, stderr BYTES, drain (stdin's write queue
 *	emptied), error {CODE msg} (a pipe failed, e.g. EPIPE on stdin), and
 *	last of all exit CODE SIGNAL. The exit event waits until everything
 *	the child wrote to stdout and stderr has been read, so a script sees
 *	every byte of output before it (but not for the end-of-file of pipes
 *	that the child's own children still hold); once its script has run
 *	the handle closes itself.
 *
 *	Record lifetime: the TkuvHandle has no libuv handle of its own (it is
 *	registered with NULL, like a guest); the uv_process_t, the pipes and a
 *	uv_check_t are secondary handles that each hold a reference on the
 *	record and release it from their close callbacks. That lets the
 *	uv_process_t outlive the handle command: when a handle is closed while
 *	its child still runs, the child is sent SIGTERM (unless -detached) and
 *	libuv goes on watching it, so it is reaped when it exits instead of
 *	staying a zombie. Only thread teardown closes such a watcher early;
 *	then the pid is handed to Tcl's own reaper (Tcl_DetachPids).
 */

#include "tkuvInt.h"
#include <signal.h>
#include <string.h>

enum StdioMode { STDIO_PIPE, STDIO_IGNORE, STDIO_INHERIT };
static const char *const stdioModes[] = { "pipe", "ignore", "inherit", NULL };
static const char *const stdioNames[] = { "stdin", "stdout", "stderr" };

typedef struct Process {
    TkuvHandle h;		/* Must be first. */
    uv_process_t uv;
    uv_check_t check;		/* Runs after each poll while work waits:
				 * closing stdin, reporting exit. */
    uv_pipe_t pipes[3];
    TkuvStream streams[3];	/* stdin, stdout, stderr */
    int mode[3];		/* enum StdioMode */
    int pipeOpen[3];		/* Initialised and not yet uv_close'd. */
    int processOpen;		/* uv_process_t not yet uv_close'd. */
    int checkOpen;
    int checkActive;
    int spawned;		/* uv_spawn succeeded. */
    int detached;		/* -detached: close does not kill. */
    int stdinClosing;		/* closestdin asked; close when written. */
    int exited;
    int exitReported;		/* The exit event has been queued. */
    int64_t exitStatus;
    int termSignal;
} Process;

static Tcl_ObjCmdProc ProcessHandleCmd;
static void	ProcessClosing(TkuvHandle *h);

static const TkuvHandleType processType = {
    "process", ProcessHandleCmd, sizeof(Process), ProcessClosing
};

static int	Spawn(Tcl_Interp *interp, int objc, Tcl_Obj *const objv[]);
static int	ConvertString(Tcl_Interp *interp, const char *what,
		    Tcl_Obj *obj, Tcl_Encoding enc, Tcl_DString *ds);
static int	BuildEnv(Tcl_Interp *interp, Tcl_Obj *dict, Tcl_Encoding enc,
		    Tcl_DString **dsPtr, int *countPtr);
static int	Configure(Tcl_Interp *interp, Process *p, int objc,
		    Tcl_Obj *const objv[]);
static void	OnExit(uv_process_t *uv, int64_t status, int termSignal);
static void	OnCheck(uv_check_t *check);
static void	StartCheck(Process *p);
static void	MaybeReportExit(Process *p);
static int	InputWaiting(uv_pipe_t *pipe);
static void	ClosePipe(Process *p, int i);
static void	ClosePipeDone(uv_handle_t *uv);
static void	CloseOwnDone(uv_handle_t *uv);
static void	CloseProcess(Process *p);
static Tcl_Obj *SignalObj(int signum);
static Tcl_Obj *ExitCodeObj(Process *p);
static Tcl_Obj *ProcessInfo(Process *p);

/*
 *----------------------------------------------------------------------
 *
 * TkuvSpawnObjCmd --
 *
 *	tkuv::spawn ARGV ?-command CMD? ?-cwd DIR? ?-env DICT?
 *	    ?-stdin MODE? ?-stdout MODE? ?-stderr MODE? ?-detached BOOL?
 *	    ?-readlimit BYTES?
 *
 * Results:
 *	The process handle's name, or an error: {TKUV USAGE ...} for bad
 *	arguments, {TKUV <UV_ERRNAME> ...} when the program cannot be
 *	started (ENOENT for a missing program, EMFILE, ...).
 *
 *----------------------------------------------------------------------
 */

int
TkuvSpawnObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) clientData;
    if (objc < 2) {
	return TkuvWrongNumArgs(interp, 1, objv, "argv ?option value ...?");
    }
    return Spawn(interp, objc, objv);
}

static int
Spawn(
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const options[] = {
	"-command", "-cwd", "-detached", "-env", "-readlimit", "-stderr",
	"-stdin", "-stdout", NULL
    };
    enum { O_COMMAND, O_CWD, O_DETACHED, O_ENV, O_READLIMIT, O_STDERR,
	    O_STDIN, O_STDOUT };
    Tcl_Obj **argvObjs, *callback = NULL, *cwdObj = NULL, *envObj = NULL;
    Tcl_WideInt readLimit = TKUV_DEFAULT_READ_LIMIT;
    Tcl_Size argc;
    int i, index, detached = 0, mode[3], err, envCount = 0;
    Tcl_DString *argDs = NULL, *envDs = NULL, cwdDs;
    char **args = NULL, **env = NULL;
    Tcl_Encoding enc = NULL;
    uv_process_options_t opts;
    uv_stdio_container_t stdio[3];
    TkuvBridge *bridge;
    Process *p;
    int code = TCL_ERROR;

    mode[0] = mode[1] = mode[2] = STDIO_PIPE;
    if (Tcl_ListObjGetElements(NULL, objv[1], &argc, &argvObjs) != TCL_OK
	    || argc == 0) {
	return TkuvUsageError(interp, "expected the program and its "
		"arguments as a non-empty list but got \"%s\"",
		Tcl_GetString(objv[1]));
    }
    if (Tcl_GetString(argvObjs[0])[0] == '\0') {
	return TkuvUsageError(interp, "expected a program name but got \"\"");
    }
    if ((objc - 2) % 2 != 0) {
	return TkuvUsageError(interp, "option \"%s\" has no value",
		Tcl_GetString(objv[objc - 1]));
    }
    for (i = 2; i < objc; i += 2) {
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
	case O_CWD:
	    if (Tcl_GetString(objv[i + 1])[0] == '\0') {
		return TkuvUsageError(interp, "-cwd: expected a directory "
			"but got \"\"");
	    }
	    cwdObj = objv[i + 1];
	    break;
	case O_DETACHED:
	    if (Tcl_GetBooleanFromObj(NULL, objv[i + 1], &detached)
		    != TCL_OK) {
		return TkuvUsageError(interp, "expected a boolean for "
			"-detached but got \"%s\"", Tcl_GetString(objv[i + 1]));
	    }
	    break;
	case O_ENV:
	    envObj = objv[i + 1];
	    break;
	case O_READLIMIT:
	    if (Tcl_GetWideIntFromObj(NULL, objv[i + 1], &readLimit) != TCL_OK
		    || readLimit < 1) {
		return TkuvUsageError(interp, "expected a positive number of "
			"bytes for -readlimit but got \"%s\"",
			Tcl_GetString(objv[i + 1]));
	    }
	    break;
	case O_STDIN:
	case O_STDOUT:
	case O_STDERR: {
	    int which = (index == O_STDIN) ? 0 : (index == O_STDOUT) ? 1 : 2;

	    if (TkuvGetIndex(interp, objv[i + 1], stdioModes, "stdio mode",
		    &mode[which]) != TCL_OK) {
		return TCL_ERROR;
	    }
	    break;
	}
	}
    }

    /*
     * Strings for the child: the system encoding on Unix; libuv wants
     * UTF-8 on Windows (it converts to UTF-16 itself).
     */
    enc = TkuvpNativeEncoding();
    Tcl_DStringInit(&cwdDs);
    argDs = TkuvAlloc(sizeof(Tcl_DString) * (size_t) argc);
    args = TkuvAlloc(sizeof(char *) * (size_t) (argc + 1));
    for (i = 0; i < argc; i++) {
	Tcl_DStringInit(&argDs[i]);
    }
    for (i = 0; i < argc; i++) {
	if (ConvertString(interp, "argument", argvObjs[i], enc, &argDs[i])
		!= TCL_OK) {
	    goto done;
	}
	args[i] = Tcl_DStringValue(&argDs[i]);
    }
    args[argc] = NULL;
    if (cwdObj != NULL
	    && ConvertString(interp, "-cwd", cwdObj, enc, &cwdDs) != TCL_OK) {
	goto done;
    }
    if (envObj != NULL) {
	if (BuildEnv(interp, envObj, enc, &envDs, &envCount) != TCL_OK) {
	    goto done;
	}
	env = TkuvAlloc(sizeof(char *) * (size_t) (envCount + 1));
	for (i = 0; i < envCount; i++) {
	    env[i] = Tcl_DStringValue(&envDs[i]);
	}
	env[envCount] = NULL;
    }
    if (TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	goto done;
    }

    /*
     * From here on the record belongs to the handle layer: failures close
     * it (ProcessClosing closes whatever was initialised).
     */
    p = TkuvHandleAlloc(&processType);
    p->detached = detached;
    TkuvHandleRegister(interp, bridge, &p->h, NULL, callback);
    uv_check_init(&bridge->loop, &p->check);
    p->check.data = p;
    p->checkOpen = 1;
    TkuvHandleRetain(&p->h);
    memset(stdio, 0, sizeof(stdio));
    for (i = 0; i < 3; i++) {
	p->mode[i] = mode[i];
	switch (mode[i]) {
	case STDIO_PIPE:
	    if ((err = uv_pipe_init(&bridge->loop, &p->pipes[i], 0)) != 0) {
		TkuvHandleClose(&p->h);
		TkuvUvError(interp, "creating a pipe", err);
		goto done;
	    }
	    p->pipeOpen[i] = 1;
	    TkuvHandleRetain(&p->h);
	    TkuvStreamInit(&p->streams[i], &p->h, (uv_stream_t *) &p->pipes[i],
		    stdioNames[i], NULL);
	    p->streams[i].readLimit = (size_t) readLimit;
	    if (i == 0) {
		/* Nothing is read from the child's stdin. */
		TkuvStreamSetReading(&p->streams[0], 0);
	    }
	    stdio[i].flags = (uv_stdio_flags) (UV_CREATE_PIPE
		    | (i == 0 ? UV_READABLE_PIPE : UV_WRITABLE_PIPE));
	    stdio[i].data.stream = (uv_stream_t *) &p->pipes[i];
	    break;
	case STDIO_IGNORE:
	    stdio[i].flags = UV_IGNORE;
	    break;
	case STDIO_INHERIT:
	    stdio[i].flags = UV_INHERIT_FD;
	    stdio[i].data.fd = i;
	    break;
	}
    }

    memset(&opts, 0, sizeof(opts));
    opts.exit_cb = OnExit;
    opts.file = args[0];
    opts.args = args;
    opts.env = env;
    opts.cwd = (cwdObj != NULL) ? Tcl_DStringValue(&cwdDs) : NULL;
    opts.flags = detached ? UV_PROCESS_DETACHED : 0;
    opts.stdio_count = 3;
    opts.stdio = stdio;

    /* uv_spawn initialises the handle even when it fails: close it then. */
    p->processOpen = 1;
    p->uv.data = p;
    TkuvHandleRetain(&p->h);
    err = uv_spawn(&bridge->loop, &p->uv, &opts);
    if (err != 0) {
	Tcl_Obj *what;

	TkuvHandleClose(&p->h);
	if (cwdObj != NULL) {
	    what = Tcl_ObjPrintf("couldn't spawn \"%s\" in \"%s\"",
		    Tcl_GetString(argvObjs[0]), Tcl_GetString(cwdObj));
	} else {
	    what = Tcl_ObjPrintf("couldn't spawn \"%s\"",
		    Tcl_GetString(argvObjs[0]));
	}
	Tcl_IncrRefCount(what);
	TkuvUvError(interp, Tcl_GetString(what), err);
	Tcl_DecrRefCount(what);
	goto done;
    }
    p->spawned = 1;
    for (i = 0; i < 3; i++) {
	if (p->pipeOpen[i]) {
	    TkuvStreamConnected(&p->streams[i]);
	}
    }
    TkuvBridgeKick(bridge);
    Tcl_SetObjResult(interp, p->h.nameObj);
    code = TCL_OK;

  done:
    for (i = 0; i < argc; i++) {
	Tcl_DStringFree(&argDs[i]);
    }
    TkuvFree(argDs);
    TkuvFree(args);
    for (i = 0; i < envCount; i++) {
	Tcl_DStringFree(&envDs[i]);
    }
    if (envDs != NULL) {
	TkuvFree(envDs);
    }
    if (env != NULL) {
	TkuvFree(env);
    }
    Tcl_DStringFree(&cwdDs);
    if (enc != NULL) {
	Tcl_FreeEncoding(enc);
    }
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * ConvertString, BuildEnv --
 *
 *	Strings for the child in its encoding. A NUL cannot be passed (it
 *	would end the C string), so it is refused rather than cut.
 *
 *----------------------------------------------------------------------
 */

static int
ConvertString(
    Tcl_Interp *interp,
    const char *what,
    Tcl_Obj *obj,
    Tcl_Encoding enc,
    Tcl_DString *ds)
{
    Tcl_Size length;
    const char *s = Tcl_GetStringFromObj(obj, &length);

    /* Tcl keeps NUL as the two bytes C0 80 in its strings. */
    if (strstr(s, "\xC0\x80") != NULL) {
	return TkuvUsageError(interp, "%s contains a NUL character: \"%s\"",
		what, s);
    }
    Tcl_UtfToExternalDString(enc, s, length, ds);
    return TCL_OK;
}

static int
BuildEnv(
    Tcl_Interp *interp,
    Tcl_Obj *dict,
    Tcl_Encoding enc,
    Tcl_DString **dsPtr,
    int *countPtr)
{
    Tcl_DictSearch search;
    Tcl_Obj *key, *value, *pair;
    Tcl_DString *ds;
    Tcl_Size size;
    int done, n = 0, code = TCL_OK;

    if (Tcl_DictObjSize(NULL, dict, &size) != TCL_OK) {
	return TkuvUsageError(interp, "-env: expected a dictionary of "
		"variable names and values but got \"%s\"",
		Tcl_GetString(dict));
    }
    ds = TkuvAlloc(sizeof(Tcl_DString) * (size_t) (size > 0 ? size : 1));
    Tcl_DictObjFirst(NULL, dict, &search, &key, &value, &done);
    for (; !done; Tcl_DictObjNext(&search, &key, &value, &done)) {
	const char *name = Tcl_GetString(key);

	if (*name == '\0' || strchr(name, '=') != NULL) {
	    code = TkuvUsageError(interp, "-env: bad variable name \"%s\"",
		    name);
	    break;
	}
	pair = Tcl_ObjPrintf("%s=%s", name, Tcl_GetString(value));
	Tcl_IncrRefCount(pair);
	Tcl_DStringInit(&ds[n]);
	code = ConvertString(interp, "-env value", pair, enc, &ds[n]);
	Tcl_DecrRefCount(pair);
	n++;
	if (code != TCL_OK) {
	    break;
	}
    }
    Tcl_DictObjDone(&search);
    *dsPtr = ds;
    *countPtr = n;
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * OnExit --
 *
 *	libuv reaped the child. If the handle is still open, the exit event
 *	goes out once stdout and stderr are at end-of-file; if it was closed
 *	meanwhile, this was only the reaping, and the watcher closes.
 *
 *----------------------------------------------------------------------
 */

static void
OnExit(
    uv_process_t *uv,
    int64_t status,
    int termSignal)
{
    Process *p = uv->data;

    p->exited = 1;
    p->exitStatus = status;
    p->termSignal = termSignal;
    if (p->h.closed) {
	CloseProcess(p);
	return;
    }
    MaybeReportExit(p);
}

static void
MaybeReportExit(
    Process *p)
{
    Tcl_Obj *args;
    int i;

    if (!p->exited || p->exitReported || p->h.closed) {
	return;
    }
    for (i = 1; i < 3; i++) {
	if (p->pipeOpen[i] && !p->streams[i].eof
		&& InputWaiting(&p->pipes[i])) {
	    /* Output still to read: try again after the next poll. */
	    StartCheck(p);
	    return;
	}
    }
    p->exitReported = 1;
    args = Tcl_NewListObj(0, NULL);
    Tcl_ListObjAppendElement(NULL, args, Tcl_NewStringObj("exit", 4));
    Tcl_ListObjAppendElement(NULL, args, ExitCodeObj(p));
    Tcl_ListObjAppendElement(NULL, args, SignalObj(p->termSignal));
    /*
     * Nothing can follow, so the handle closes itself after the script
     * (which may still use it), like a one-shot timer.
     */
    TkuvHandleQueueEvent(&p->h, args, TkuvHandleCloseAfterEvent, NULL, 0);
}

/*
 * Whatever the child wrote before it exited is in the pipe by now, so an
 * output pipe with nothing to read (and not at end-of-file) is only held
 * open by the child's own children (`sh -c "sleep 100 &"`): the exit event
 * need not wait for them.
 */
static int
InputWaiting(
    uv_pipe_t *pipe)
{
    uv_os_fd_t fd;

    if (uv_fileno((uv_handle_t *) pipe, &fd) != 0) {
	return 0;
    }
    return TkuvpInputWaiting(fd);
}

/*
 *----------------------------------------------------------------------
 *
 * StartCheck, OnCheck --
 *
 *	Work that waits on the streams, which have no hook of their own: a
 *	stdin pipe to close once its queued writes have gone, an exit event
 *	to send once the output pipes are at end-of-file. A check handle runs
 *	right after each poll phase, i.e. after every read and write
 *	callback; it does not make the loop spin.
 *
 *----------------------------------------------------------------------
 */

static void
StartCheck(
    Process *p)
{
    if (!p->checkActive && p->checkOpen) {
	uv_check_start(&p->check, OnCheck);
	p->checkActive = 1;
    }
}

static void
OnCheck(
    uv_check_t *check)
{
    Process *p = check->data;

    if (p->stdinClosing && p->pipeOpen[0]
	    && p->streams[0].writeQueued == 0) {
	ClosePipe(p, 0);
    }
    MaybeReportExit(p);
    if (p->h.closed || ((!p->stdinClosing || !p->pipeOpen[0])
	    && (!p->exited || p->exitReported))) {
	uv_check_stop(check);
	p->checkActive = 0;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ClosePipe, ClosePipeDone, CloseOwnDone, CloseProcess --
 *
 *	Closing the secondary libuv handles; each close callback drops the
 *	reference its handle held on the record.
 *
 *----------------------------------------------------------------------
 */

static void
ClosePipe(
    Process *p,
    int i)
{
    if (!p->pipeOpen[i]) {
	return;
    }
    p->pipeOpen[i] = 0;
    TkuvStreamClosing(&p->streams[i]);
    uv_close((uv_handle_t *) &p->pipes[i], ClosePipeDone);
    TkuvBridgeKick(p->h.bridge);
}

static void
ClosePipeDone(
    uv_handle_t *uv)
{
    TkuvStream *s = uv->data;

    TkuvHandleRelease(s->owner);
}

static void
CloseOwnDone(
    uv_handle_t *uv)
{
    TkuvHandleRelease(uv->data);
}

static void
CloseProcess(
    Process *p)
{
    if (!p->processOpen) {
	return;
    }
    p->processOpen = 0;
    uv_close((uv_handle_t *) &p->uv, CloseOwnDone);
    TkuvBridgeKick(p->h.bridge);
}

/*
 *----------------------------------------------------------------------
 *
 * ProcessClosing --
 *
 *	The handle is closing ($p close, rename, interp deletion, after the
 *	exit event, thread teardown): close the pipes and the check handle.
 *	A child that still runs gets SIGTERM (unless it was spawned
 *	-detached) and libuv keeps watching it so it is reaped when it exits;
 *	at thread teardown the loop is going away, so the pid goes to Tcl's
 *	reaper instead.
 *
 *----------------------------------------------------------------------
 */

static void
ProcessClosing(
    TkuvHandle *h)
{
    Process *p = (Process *) h;
    int i;

    for (i = 0; i < 3; i++) {
	ClosePipe(p, i);
    }
    if (p->checkOpen) {
	p->checkOpen = 0;
	p->checkActive = 0;
	uv_close((uv_handle_t *) &p->check, CloseOwnDone);
    }
    if (!p->spawned || p->exited) {
	CloseProcess(p);
	return;
    }
    if (!p->detached) {
	uv_process_kill(&p->uv, SIGTERM);
    }
    if (h->bridge->finalizing) {
	TkuvpDetachPid(p->uv.pid);
	CloseProcess(p);
    }
    /* Otherwise OnExit closes the watcher once the child is reaped. */
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvProcessThreadExit --
 *
 *	A step of the bridge's teardown (tkuvBridge.c: ThreadTeardown):
 *	every handle is closed, but a process handle closed before the
 *	teardown may still watch a running child. The loop is going away,
 *	so give those pids to Tcl's reaper (it collects them the next time
 *	Tcl runs exec or closes a pipeline) and close the watchers, so that
 *	the loop closes cleanly.
 *
 *----------------------------------------------------------------------
 */

void
TkuvProcessThreadExit(
    TkuvBridge *bridge)
{
    TkuvHandle *h;

    for (h = bridge->handles; h != NULL; h = h->next) {
	Process *p = (Process *) h;

	if (h->type != &processType || !h->closed || !p->processOpen
		|| p->exited) {
	    continue;
	}
	TkuvpDetachPid(p->uv.pid);
	CloseProcess(p);
    }
    TkuvpReapDetached();	/* With those ProcessClosing gave. */
}

/*
 *----------------------------------------------------------------------
 *
 * ProcessHandleCmd --
 *
 *	$p write BYTES | closestdin | kill ?SIG? | pid | info | pause |
 *	   resume | configure ?option value ...? | close
 *
 *----------------------------------------------------------------------
 */

static int
ProcessHandleCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subcommands[] = {
	"close", "closestdin", "configure", "info", "kill", "pause", "pid",
	"resume", "write", NULL
    };
    enum { P_CLOSE, P_CLOSESTDIN, P_CONFIGURE, P_INFO, P_KILL, P_PAUSE,
	    P_PID, P_RESUME, P_WRITE };
    Process *p = clientData;
    int index, i, signum, err;

    if (TkuvGetSubcommand(interp, objc, objv, subcommands,
	    "subcommand ?arg ...?", &index) != TCL_OK) {
	return TCL_ERROR;
    }
    switch (index) {
    case P_CLOSE:
	/* $p close */
	if (objc != 2) {
	    return TkuvWrongNumArgs(interp, 2, objv, "");
	}
	TkuvHandleClose(&p->h);
	return TCL_OK;

    case P_CLOSESTDIN:
	/* $p closestdin */
	if (objc != 2) {
	    return TkuvWrongNumArgs(interp, 2, objv, "");
	}
	if (p->mode[0] != STDIO_PIPE) {
	    return TkuvUsageError(interp, "%s: stdin is not a pipe "
		    "(-stdin %s)", Tcl_GetString(p->h.nameObj),
		    stdioModes[p->mode[0]]);
	}
	if (p->stdinClosing) {
	    return TCL_OK;
	}
	p->stdinClosing = 1;
	/*
	 * The shutdown gives the child end-of-file as soon as the queued
	 * writes are out (Unix pipes are socketpairs); closing the pipe
	 * afterwards (OnCheck) releases it everywhere.
	 */
	if (TkuvStreamShutdown(interp, &p->streams[0]) != TCL_OK) {
	    Tcl_ResetResult(interp);
	}
	if (p->streams[0].writeQueued == 0) {
	    ClosePipe(p, 0);
	} else {
	    StartCheck(p);
	}
	return TCL_OK;

    case P_CONFIGURE:
	/* $p configure ?-command CMD? ?-readlimit BYTES? */
	return Configure(interp, p, objc - 2, objv + 2);

    case P_INFO:
	/* $p info */
	if (objc != 2) {
	    return TkuvWrongNumArgs(interp, 2, objv, "");
	}
	Tcl_SetObjResult(interp, ProcessInfo(p));
	return TCL_OK;

    case P_KILL:
	/* $p kill ?SIGNAL? */
	if (objc > 3) {
	    return TkuvWrongNumArgs(interp, 2, objv, "?signal?");
	}
	signum = SIGTERM;
	if (objc == 3 && TkuvGetSignal(interp, objv[2], 0, &signum) != TCL_OK) {
	    return TCL_ERROR;
	}
	/* After reaping, the pid may already belong to someone else. */
	if (p->exited) {
	    return TkuvUvError(interp, "kill", UV_ESRCH);
	}
	if ((err = uv_process_kill(&p->uv, signum)) != 0) {
	    return TkuvUvError(interp, "kill", err);
	}
	return TCL_OK;

    case P_PAUSE:
    case P_RESUME:
	/* $p pause | $p resume */
	if (objc != 2) {
	    return TkuvWrongNumArgs(interp, 2, objv, "");
	}
	for (i = 1; i < 3; i++) {
	    if (p->pipeOpen[i]) {
		TkuvStreamSetReading(&p->streams[i], index == P_RESUME);
	    }
	}
	return TCL_OK;

    case P_PID:
	/* $p pid */
	if (objc != 2) {
	    return TkuvWrongNumArgs(interp, 2, objv, "");
	}
	Tcl_SetObjResult(interp, Tcl_NewIntObj(p->uv.pid));
	return TCL_OK;

    case P_WRITE:
	/* $p write BYTES */
	if (objc != 3) {
	    return TkuvWrongNumArgs(interp, 2, objv, "bytes");
	}
	if (p->mode[0] != STDIO_PIPE) {
	    return TkuvUsageError(interp, "%s: cannot write: stdin is not a "
		    "pipe (-stdin %s)", Tcl_GetString(p->h.nameObj),
		    stdioModes[p->mode[0]]);
	}
	if (p->stdinClosing) {
	    return TkuvUsageError(interp, "%s: cannot write: stdin was "
		    "closed", Tcl_GetString(p->h.nameObj));
	}
	return TkuvStreamWrite(interp, &p->streams[0], objv[2]);
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * Configure --
 *
 *	-command CMD, -readlimit BYTES (stdout and stderr each). No
 *	arguments: the current values.
 *
 *----------------------------------------------------------------------
 */

static int
Configure(
    Tcl_Interp *interp,
    Process *p,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const options[] = { "-command", "-readlimit", NULL };
    enum { O_COMMAND, O_READLIMIT };
    int i, index;
    Tcl_WideInt limit;

    if (objc == 0) {
	Tcl_Obj *d = Tcl_NewDictObj();

	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("-command", -1),
		p->h.callback ? p->h.callback : Tcl_NewObj());
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("-readlimit", -1),
		Tcl_NewWideIntObj((Tcl_WideInt) p->streams[1].readLimit));
	Tcl_SetObjResult(interp, d);
	return TCL_OK;
    }
    if (objc % 2 != 0) {
	return TkuvUsageError(interp, "option \"%s\" has no value",
		Tcl_GetString(objv[objc - 1]));
    }
    /* Check everything before changing anything. */
    for (i = 0; i < objc; i += 2) {
	if (TkuvGetIndex(interp, objv[i], options, "option", &index)
		!= TCL_OK) {
	    return TCL_ERROR;
	}
	if (index == O_COMMAND) {
	    if (TkuvCheckCallback(interp, objv[i + 1]) != TCL_OK) {
		return TCL_ERROR;
	    }
	} else if (Tcl_GetWideIntFromObj(NULL, objv[i + 1], &limit) != TCL_OK
		|| limit < 1) {
	    return TkuvUsageError(interp, "expected a positive number of "
		    "bytes for -readlimit but got \"%s\"",
		    Tcl_GetString(objv[i + 1]));
	}
    }
    for (i = 0; i < objc; i += 2) {
	Tcl_GetIndexFromObj(NULL, objv[i], options, "option", 0, &index);
	if (index == O_COMMAND) {
	    Tcl_IncrRefCount(objv[i + 1]);
	    if (p->h.callback != NULL) {
		Tcl_DecrRefCount(p->h.callback);
	    }
	    p->h.callback = objv[i + 1];
	} else {
	    int j;

	    Tcl_GetWideIntFromObj(NULL, objv[i + 1], &limit);
	    p->streams[0].readLimit = (size_t) limit;
	    for (j = 1; j < 3; j++) {
		p->streams[j].readLimit = (size_t) limit;
		if (p->pipeOpen[j]) {
		    TkuvStreamSetReading(&p->streams[j],
			    p->streams[j].wantRead);
		}
	    }
	}
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * SignalObj --
 *
 *	Signal names (SIGTERM, TERM, term) and numbers (0 tests whether the
 *	process exists) to numbers and back. Unnamed numbers stay numbers.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
SignalObj(
    int signum)
{
    const char *name = TkuvSignalName(signum);

    if (signum == 0 || name == NULL) {
	return Tcl_NewIntObj(signum);
    }
    return Tcl_NewStringObj(name, -1);
}

/*
 * The exit status, or minus the signal number for a child a signal killed
 * (libuv reports status 0 then), so that "code != 0" means failure.
 */
static Tcl_Obj *
ExitCodeObj(
    Process *p)
{
    if (p->termSignal != 0) {
	return Tcl_NewIntObj(-p->termSignal);
    }
    return Tcl_NewWideIntObj((Tcl_WideInt) p->exitStatus);
}

static Tcl_Obj *
ProcessInfo(
    Process *p)
{
    Tcl_Obj *d = Tcl_NewDictObj();
    const char *stdinState;

    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("pid", -1),
	    Tcl_NewIntObj(p->uv.pid));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("state", -1),
	    Tcl_NewStringObj(p->exited ? "exited" : "running", -1));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("code", -1),
	    p->exited ? ExitCodeObj(p) : Tcl_NewObj());
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("signal", -1),
	    p->exited ? SignalObj(p->termSignal) : Tcl_NewObj());
    if (p->mode[0] != STDIO_PIPE) {
	stdinState = stdioModes[p->mode[0]];
    } else {
	stdinState = p->stdinClosing ? "closed" : "open";
    }
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("stdin", -1),
	    Tcl_NewStringObj(stdinState, -1));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("queued", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) p->streams[0].writeQueued));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("undelivered", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) (p->streams[1].undelivered
		    + p->streams[2].undelivered)));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("reading", -1),
	    Tcl_NewBooleanObj(p->streams[1].reading || p->streams[2].reading));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("detached", -1),
	    Tcl_NewBooleanObj(p->detached));
    return d;
}
