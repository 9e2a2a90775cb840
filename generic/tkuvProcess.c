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
 *	One option table serves spawn and the shared configure and cget; the
 *	process adds its own subcommands (write, closestdin, kill, pid, pause,
 *	resume).
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
#include <stddef.h>
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
    int mode[3];		/* -stdin, -stdout, -stderr: enum StdioMode */
    int pipeOpen[3];		/* Initialised and not yet uv_close'd. */
    int processOpen;		/* uv_process_t not yet uv_close'd. */
    int checkOpen;
    int checkActive;
    int spawned;		/* uv_spawn succeeded. */
    int detached;		/* -detached: close does not kill. */
    Tcl_Obj *cwd, *env;		/* -cwd, -env as given, or NULL. */
    size_t readLimit;		/* -readlimit, of stdout and stderr each. */
    int stdinClosing;		/* closestdin asked; close when written. */
    int exited;
    int exitReported;		/* The exit event has been queued. */
    int64_t exitStatus;
    int termSignal;
} Process;

/*
 * What uv_spawn gets besides the record (MakeChildStrings): every string
 * is one of the DStrings in ds.
 */
typedef struct ChildStrings {
    Tcl_DString *ds;
    Tcl_Size numDs;		/* Filled so far. */
    char **args;		/* The arguments, NULL, then env's strings. */
    char **env;			/* NULL-terminated, or NULL without -env. */
    char *cwd;			/* Or NULL without -cwd. */
} ChildStrings;

static void	ProcessClosing(TkuvHandle *h);
static TkuvOptionCheckProc CheckCwd, CheckEnv;
static TkuvOptionSetProc SetReadLimit;
static TkuvSubcommandProc CloseStdinCmd, KillCmd, PidCmd, ReadingCmd, WriteCmd;
static TkuvInfoProc ProcessInfo;

/* In table order: MakeChildStrings reads -cwd and -env before there is a
 * record. */
enum { O_COMMAND, O_CWD, O_DETACHED, O_ENV };

static const TkuvOption processOptions[] = {
    {"-command", .type = TKUV_OPT_CALLBACK},
    {"-cwd", TKUV_OPT_STRING, offsetof(Process, cwd), TKUV_OPT_CREATE_ONLY,
	.checkProc = CheckCwd},
    {"-detached", TKUV_OPT_BOOLEAN, offsetof(Process, detached),
	.flags = TKUV_OPT_CREATE_ONLY},
    {"-env", TKUV_OPT_STRING, offsetof(Process, env), TKUV_OPT_CREATE_ONLY,
	.checkProc = CheckEnv},
    {"-readlimit", TKUV_OPT_SIZE, offsetof(Process, readLimit), .min = 1,
	.max = TKUV_MAX_SIZE, .setProc = SetReadLimit},
    {"-stderr", TKUV_OPT_INDEX, offsetof(Process, mode[2]),
	TKUV_OPT_CREATE_ONLY, .values = stdioModes},
    {"-stdin", TKUV_OPT_INDEX, offsetof(Process, mode[0]),
	TKUV_OPT_CREATE_ONLY, .values = stdioModes},
    {"-stdout", TKUV_OPT_INDEX, offsetof(Process, mode[1]),
	TKUV_OPT_CREATE_ONLY, .values = stdioModes},
    {NULL}
};

static const TkuvSubcommand processSubcommands[] = {
    {"closestdin", CloseStdinCmd, 0, 0, ""},
    {"kill", KillCmd, 0, 1, "?signal?"},
    {"pause", ReadingCmd, 0, 0, ""},
    {"pid", PidCmd, 0, 0, ""},
    {"resume", ReadingCmd, 0, 0, ""},
    {"write", WriteCmd, 1, 1, "bytes"},
    {NULL}
};

static const TkuvHandleType processType = {
    "process", sizeof(Process), ProcessClosing, processOptions,
    ProcessInfo, processSubcommands
};

static int	Spawn(Tcl_Interp *interp, int objc, Tcl_Obj *const objv[]);
static int	MakeChildStrings(Tcl_Interp *interp, Tcl_Size argc,
		    Tcl_Obj *const argvObjs[], const TkuvOptionValues *vals,
		    ChildStrings *cs);
static char *	ConvertString(Tcl_Interp *interp, const char *what,
		    Tcl_Obj *obj, Tcl_Encoding enc, ChildStrings *cs);
static void	FreeChildStrings(ChildStrings *cs);
static int	OpenPipes(Tcl_Interp *interp, Process *p,
		    uv_stdio_container_t stdio[3]);
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
    Tcl_Obj **argvObjs;
    TkuvOptionValues vals;
    ChildStrings cs;
    Tcl_Size argc;
    int i, err;
    uv_process_options_t opts;
    uv_stdio_container_t stdio[3];
    TkuvBridge *bridge;
    Process *p;
    int code = TCL_ERROR;

    if (Tcl_ListObjGetElements(NULL, objv[1], &argc, &argvObjs) != TCL_OK
	    || argc == 0) {
	return TkuvUsageError(interp, "expected the program and its "
		"arguments as a non-empty list but got \"%s\"",
		Tcl_GetString(objv[1]));
    }
    if (Tcl_GetString(argvObjs[0])[0] == '\0') {
	return TkuvUsageError(interp, "expected a program name but got \"\"");
    }
    if (TkuvOptionsParse(interp, processOptions, objc - 2, objv + 2,
	    TKUV_PARSE_CREATE, &vals) != TCL_OK) {
	return TCL_ERROR;
    }
    if (MakeChildStrings(interp, argc, argvObjs, &vals, &cs) != TCL_OK
	    || TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	goto done;
    }

    /*
     * From here on the record belongs to the handle layer: failures close
     * it (ProcessClosing closes whatever was initialised). No option can
     * fail to apply yet: there is no pipe to set.
     */
    p = TkuvHandleAlloc(&processType);
    p->readLimit = TKUV_DEFAULT_READ_LIMIT;
    TkuvHandleRegister(interp, bridge, &p->h, NULL, NULL);
    TkuvOptionsApply(interp, &p->h, &vals, TKUV_APPLY_ALL);
    uv_check_init(&bridge->loop, &p->check);
    p->check.data = p;
    p->checkOpen = 1;
    TkuvHandleRetain(&p->h);
    if (OpenPipes(interp, p, stdio) != TCL_OK) {
	goto done;
    }

    memset(&opts, 0, sizeof(opts));
    opts.exit_cb = OnExit;
    opts.file = cs.args[0];
    opts.args = cs.args;
    opts.env = cs.env;
    opts.cwd = cs.cwd;
    opts.flags = p->detached ? UV_PROCESS_DETACHED : 0;
    opts.stdio_count = 3;
    opts.stdio = stdio;

    /* uv_spawn initialises the handle even when it fails: close it then. */
    p->processOpen = 1;
    p->uv.data = p;
    TkuvHandleRetain(&p->h);
    err = uv_spawn(&bridge->loop, &p->uv, &opts);
    if (err != 0) {
	Tcl_Obj *what = Tcl_ObjPrintf("couldn't spawn \"%s\"",
		Tcl_GetString(argvObjs[0]));

	TkuvHandleClose(&p->h);
	if (p->cwd != NULL) {
	    Tcl_AppendPrintfToObj(what, " in \"%s\"", Tcl_GetString(p->cwd));
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
    FreeChildStrings(&cs);
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * MakeChildStrings, ConvertString, FreeChildStrings --
 *
 *	The strings of uv_process_options_t in the child's encoding: the
 *	arguments and -env (checked by CheckEnv) as NULL-terminated arrays,
 *	and -cwd. A NUL cannot be passed (it would end the C string), so it
 *	is refused rather than cut. FreeChildStrings frees them, also after
 *	an error.
 *
 *----------------------------------------------------------------------
 */

static int
MakeChildStrings(
    Tcl_Interp *interp,
    Tcl_Size argc,
    Tcl_Obj *const argvObjs[],
    const TkuvOptionValues *vals,
    ChildStrings *cs)
{
    Tcl_Encoding enc = TkuvpNativeEncoding();
    Tcl_Obj *envObj = TKUV_OPTION_GIVEN(vals, O_ENV) ? vals->v[O_ENV].obj
	    : NULL;
    Tcl_Obj *key, *value, *pair;
    Tcl_DictSearch search;
    Tcl_Size i, envSize = 0;
    int done = 1, code = TCL_ERROR;

    if (envObj != NULL) {
	Tcl_DictObjSize(NULL, envObj, &envSize);
    }
    cs->numDs = 0;
    cs->ds = TkuvAlloc(sizeof(Tcl_DString) * (size_t) (argc + envSize + 1));
    cs->args = TkuvAlloc(sizeof(char *) * (size_t) (argc + envSize + 2));
    cs->env = NULL;
    cs->cwd = NULL;
    for (i = 0; i < argc; i++) {
	cs->args[i] = ConvertString(interp, "argument", argvObjs[i], enc, cs);
	if (cs->args[i] == NULL) {
	    goto end;
	}
    }
    cs->args[argc] = NULL;
    if (envObj != NULL) {
	cs->env = cs->args + argc + 1;
	Tcl_DictObjFirst(NULL, envObj, &search, &key, &value, &done);
	for (i = 0; !done; i++) {
	    pair = Tcl_ObjPrintf("%s=%s", Tcl_GetString(key),
		    Tcl_GetString(value));
	    Tcl_IncrRefCount(pair);
	    cs->env[i] = ConvertString(interp, "-env value", pair, enc, cs);
	    Tcl_DecrRefCount(pair);
	    if (cs->env[i] == NULL) {
		break;
	    }
	    Tcl_DictObjNext(&search, &key, &value, &done);
	}
	Tcl_DictObjDone(&search);
	cs->env[i] = NULL;
    }
    if (done && (!TKUV_OPTION_GIVEN(vals, O_CWD)
	    || (cs->cwd = ConvertString(interp, "-cwd", vals->v[O_CWD].obj,
		    enc, cs)) != NULL)) {
	code = TCL_OK;
    }

  end:
    if (enc != NULL) {
	Tcl_FreeEncoding(enc);
    }
    return code;
}

static char *
ConvertString(
    Tcl_Interp *interp,
    const char *what,
    Tcl_Obj *obj,
    Tcl_Encoding enc,
    ChildStrings *cs)
{
    Tcl_Size length;
    const char *s = Tcl_GetStringFromObj(obj, &length);
    Tcl_DString *ds = &cs->ds[cs->numDs];

    /* Tcl keeps NUL as the two bytes C0 80 in its strings. */
    if (strstr(s, "\xC0\x80") != NULL) {
	TkuvUsageError(interp, "%s contains a NUL character: \"%s\"", what, s);
	return NULL;
    }
    Tcl_UtfToExternalDString(enc, s, length, ds);
    cs->numDs++;
    return Tcl_DStringValue(ds);
}

static void
FreeChildStrings(
    ChildStrings *cs)
{
    Tcl_Size i;

    for (i = 0; i < cs->numDs; i++) {
	Tcl_DStringFree(&cs->ds[i]);
    }
    TkuvFree(cs->ds);
    TkuvFree(cs->args);
}

/*
 *----------------------------------------------------------------------
 *
 * OpenPipes --
 *
 *	The libuv side of -stdin, -stdout and -stderr, in stdio for
 *	uv_spawn: a pipe (a stream of the handle) for each one in pipe mode.
 *
 * Results:
 *	TCL_OK, or TCL_ERROR with the handle closed.
 *
 *----------------------------------------------------------------------
 */

static int
OpenPipes(
    Tcl_Interp *interp,
    Process *p,
    uv_stdio_container_t stdio[3])
{
    int i, err;

    memset(stdio, 0, 3 * sizeof(uv_stdio_container_t));
    for (i = 0; i < 3; i++) {
	switch (p->mode[i]) {
	case STDIO_PIPE:
	    err = uv_pipe_init(&p->h.bridge->loop, &p->pipes[i], 0);
	    if (err != 0) {
		TkuvHandleClose(&p->h);
		return TkuvUvError(interp, "creating a pipe", err);
	    }
	    p->pipeOpen[i] = 1;
	    TkuvHandleRetain(&p->h);
	    TkuvStreamInit(&p->streams[i], &p->h, (uv_stream_t *) &p->pipes[i],
		    stdioNames[i], NULL);
	    p->streams[i].readLimit = p->readLimit;
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
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * CheckCwd, CheckEnv, SetReadLimit --
 *
 *	Options beyond their table type: -cwd is not empty, -env is a
 *	dictionary of variable names (no "=" in them) and values, and a new
 *	-readlimit applies to the open output pipes at once.
 *
 *----------------------------------------------------------------------
 */

static int
CheckCwd(
    Tcl_Interp *interp,
    const TkuvOption *opt,
    Tcl_Obj *valueObj,
    TkuvOptionValue *value)
{
    (void) value;
    if (Tcl_GetString(valueObj)[0] == '\0') {
	return TkuvBadValue(interp, opt->name, "a directory", valueObj);
    }
    return TCL_OK;
}

static int
CheckEnv(
    Tcl_Interp *interp,
    const TkuvOption *opt,
    Tcl_Obj *valueObj,
    TkuvOptionValue *value)
{
    Tcl_DictSearch search;
    Tcl_Obj *key, *val, *bad = NULL;
    int done;

    (void) value;
    if (Tcl_DictObjFirst(NULL, valueObj, &search, &key, &val, &done)
	    != TCL_OK) {
	return TkuvBadValue(interp, opt->name, "a dictionary of variable "
		"names and values", valueObj);
    }
    for (; !done && bad == NULL; Tcl_DictObjNext(&search, &key, &val, &done)) {
	const char *name = Tcl_GetString(key);

	if (*name == '\0' || strchr(name, '=') != NULL) {
	    bad = key;
	}
    }
    Tcl_DictObjDone(&search);
    if (bad != NULL) {
	return TkuvUsageError(interp, "bad variable name \"%s\" in -env",
		Tcl_GetString(bad));
    }
    return TCL_OK;
}

static int
SetReadLimit(
    Tcl_Interp *interp,
    TkuvHandle *h,
    const TkuvOption *opt,
    TkuvOptionValue *value)
{
    Process *p = (Process *) h;
    int i;

    (void) interp;
    (void) opt;
    for (i = 1; i < 3; i++) {
	if (p->pipeOpen[i]) {
	    p->streams[i].readLimit = (size_t) value->w;
	    TkuvStreamSetReading(&p->streams[i], p->streams[i].wantRead);
	}
    }
    return TCL_OK;
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
 * CloseStdinCmd, KillCmd, PidCmd, ReadingCmd, WriteCmd --
 *
 *	The process subcommands besides the shared ones:
 *	$p closestdin | kill ?SIGNAL? | pid | pause | resume | write BYTES
 *
 *----------------------------------------------------------------------
 */

static int
CloseStdinCmd(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    Process *p = (Process *) h;

    (void) objc;
    (void) objv;
    if (p->mode[0] != STDIO_PIPE) {
	return TkuvUsageError(interp, "%s: stdin is not a pipe (-stdin %s)",
		Tcl_GetString(p->h.nameObj), stdioModes[p->mode[0]]);
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
}

static int
KillCmd(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    Process *p = (Process *) h;
    int signum = SIGTERM, err;

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
}

static int
PidCmd(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) objc;
    (void) objv;
    Tcl_SetObjResult(interp, Tcl_NewIntObj(((Process *) h)->uv.pid));
    return TCL_OK;
}

static int
ReadingCmd(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    Process *p = (Process *) h;
    /* objv[1] is pause or resume, or a prefix of one: p... or r... */
    int resume = (Tcl_GetString(objv[1])[0] == 'r');
    int i;

    (void) interp;
    (void) objc;
    for (i = 1; i < 3; i++) {
	if (p->pipeOpen[i]) {
	    TkuvStreamSetReading(&p->streams[i], resume);
	}
    }
    return TCL_OK;
}

static int
WriteCmd(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    Process *p = (Process *) h;

    (void) objc;
    if (p->mode[0] != STDIO_PIPE) {
	return TkuvUsageError(interp, "%s: cannot write: stdin is not a "
		"pipe (-stdin %s)", Tcl_GetString(p->h.nameObj),
		stdioModes[p->mode[0]]);
    }
    if (p->stdinClosing) {
	return TkuvUsageError(interp, "%s: cannot write: stdin was closed",
		Tcl_GetString(p->h.nameObj));
    }
    return TkuvStreamWrite(interp, &p->streams[0], objv[2]);
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

/*
 *----------------------------------------------------------------------
 *
 * ProcessInfo --
 *
 *	$p info: pid, state, code, signal, stdin, queued, undelivered,
 *	reading, detached.
 *
 *----------------------------------------------------------------------
 */

static void
ProcessInfo(
    TkuvHandle *h,
    Tcl_Obj *d)
{
    Process *p = (Process *) h;
    const char *stdinState = (p->mode[0] != STDIO_PIPE)
	    ? stdioModes[p->mode[0]] : p->stdinClosing ? "closed" : "open";

#define PUT(key, value) \
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj(key, -1), (value))
    PUT("pid", Tcl_NewIntObj(p->uv.pid));
    PUT("state", Tcl_NewStringObj(p->exited ? "exited" : "running", -1));
    PUT("code", p->exited ? ExitCodeObj(p) : Tcl_NewObj());
    PUT("signal", p->exited ? SignalObj(p->termSignal) : Tcl_NewObj());
    PUT("stdin", Tcl_NewStringObj(stdinState, -1));
    PUT("queued", Tcl_NewWideIntObj((Tcl_WideInt) p->streams[0].writeQueued));
    PUT("undelivered", Tcl_NewWideIntObj((Tcl_WideInt)
	    (p->streams[1].undelivered + p->streams[2].undelivered)));
    PUT("reading", Tcl_NewBooleanObj(p->streams[1].reading
	    || p->streams[2].reading));
    PUT("detached", Tcl_NewBooleanObj(p->detached));
#undef PUT
}
