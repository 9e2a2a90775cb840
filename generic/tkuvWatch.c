/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvWatch.c --
 *
 *	tkuv::watch PATH ?-recursive BOOL? ?CMD? ?-command CMD? and the watch
 *	handle command (the shared close, info, configure, cget), over libuv's
 *	uv_fs_event (inotify on Linux, FSEvents/kqueue on macOS,
 *	ReadDirectoryChangesW on Windows).
 *
 *	Events: `change NAME`, `rename NAME`, `deleted NAME` and
 *	`error {UV_ERRNAME message}`. NAME is the entry's name relative to a
 *	watched directory, or the watched file's own name. libuv reports a
 *	deleted or moved-away watched path as a rename of itself; after every
 *	`rename` event the path is stat'ed, and if it no longer exists one
 *	`deleted` follows, so a script need not guess which renames concern
 *	the path.
 *
 *	One pass of the loop may read many notifications; identical ones (same
 *	event and name) read in the same pass become one event. A notification
 *	read after an event was queued always gets an event of its own, so a
 *	change made while a script handles the previous one is not lost.
 */

#include "tkuvInt.h"
#include <stddef.h>
#include <string.h>

typedef struct Watch {
    TkuvHandle h;		/* Must be first. */
    uv_fs_event_t uv;
    Tcl_Obj *pathObj;		/* Normalized path, as Tcl spells it. */
    Tcl_Obj *tailObj;		/* Its last component, for `deleted`. */
    char *native;		/* The path in the system encoding. */
    int recursive;
    int gone;			/* `deleted` was queued; path not seen since. */
    uint64_t seenTick;		/* Pump tick that `seen` belongs to. */
    Tcl_HashTable seen;		/* Event letter + name queued in seenTick. */
    int seenValid;		/* `seen` is initialised. */
} Watch;

static void	WatchClosed(TkuvHandle *h);
static TkuvInfoProc WatchInfo;
static TkuvOptionCheckProc CheckRecursive;

static const TkuvOption watchOptions[] = {
    {"-command", TKUV_OPT_CALLBACK, .flags = TKUV_OPT_REQUIRED},
    {"-recursive", TKUV_OPT_BOOLEAN, offsetof(Watch, recursive),
	TKUV_OPT_CREATE_ONLY, .checkProc = CheckRecursive},
    {NULL}
};

static const TkuvHandleType watchType = {
    "watch", NULL, sizeof(Watch), WatchClosed, watchOptions, WatchInfo, NULL
};

/* libuv watches subdirectories itself only on some platforms. */
#define TKUV_WATCH_RECURSIVE TKUVP_WATCH_RECURSIVE

static int	CreateWatch(Tcl_Interp *interp, Tcl_Obj *pathArg,
		    const TkuvOptionValues *vals);
static void	OnFsEvent(uv_fs_event_t *uv, const char *filename,
		    int events, int status);
static void	QueueOnce(Watch *w, uint64_t tick, const char *event,
		    Tcl_Obj *nameObj, TkuvAfterEventProc *afterProc);
static TkuvAfterEventProc CheckGone;
static int	PathExists(Watch *w);
static Tcl_Obj *PathTail(Tcl_Obj *pathObj);

/*
 *----------------------------------------------------------------------
 *
 * TkuvWatchObjCmd --
 *
 *	tkuv::watch PATH ?-recursive BOOL? ?CMD? ?-command CMD?
 *
 * Results:
 *	The new handle's name; {TKUV USAGE ...} for bad arguments,
 *	{TKUV ENOENT ...} (or another libuv error) if PATH cannot be watched.
 *
 *----------------------------------------------------------------------
 */

int
TkuvWatchObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    TkuvOptionValues vals;

    (void) clientData;
    if (objc < 3) {
	return TkuvWrongNumArgs(interp, 1, objv,
		"path ?-recursive boolean? ?command? ?-command command?");
    }
    if (TkuvOptionsParse(interp, watchOptions, objc - 2, objv + 2,
	    TKUV_PARSE_CREATE | TKUV_PARSE_TRAILING_COMMAND, &vals) != TCL_OK) {
	return TCL_ERROR;
    }
    return CreateWatch(interp, objv[1], &vals);
}

static int
CheckRecursive(
    Tcl_Interp *interp,
    const TkuvOption *opt,
    Tcl_Obj *valueObj,
    TkuvOptionValue *value)
{
    if (value->i && !TKUV_WATCH_RECURSIVE) {
	return TkuvUsageError(interp, "%s %s is not supported on this "
		"platform (libuv watches subdirectories only on macOS and "
		"Windows): watch each directory instead", opt->name,
		Tcl_GetString(valueObj));
    }
    return TCL_OK;
}

static int
CreateWatch(
    Tcl_Interp *interp,
    Tcl_Obj *pathArg,
    const TkuvOptionValues *vals)
{
    TkuvBridge *bridge;
    Tcl_Obj *pathObj, *whatObj;
    Tcl_DString ds;
    uv_fs_t req;
    Watch *w;
    int err, len;

    if (strstr(Tcl_GetString(pathArg), "\xC0\x80") != NULL) {
	/* Tcl's encoded NUL: the system would watch a shorter name. */
	return TkuvUsageError(interp, "file name \"%s\" contains a NUL "
		"character", Tcl_GetString(pathArg));
    }
    pathObj = Tcl_FSGetNormalizedPath(NULL, pathArg);
    if (pathObj == NULL) {
	return TkuvUsageError(interp, "bad path \"%s\"",
		Tcl_GetString(pathArg));
    }
    if (TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }

    /*
     * libuv wants the system's bytes on Unix and UTF-8 on Windows. A stat
     * first gives the same ENOENT on every platform (FSEvents would accept
     * a missing path).
     */
    TkuvpUtfToNative(Tcl_GetString(pathObj), &ds);
    err = uv_fs_stat(&bridge->loop, &req, Tcl_DStringValue(&ds), NULL);
    uv_fs_req_cleanup(&req);
    if (err < 0) {
	Tcl_DStringFree(&ds);
	goto uvError;
    }

    w = TkuvHandleAlloc(&watchType);
    len = Tcl_DStringLength(&ds);
    w->native = TkuvAlloc((size_t) len + 1);
    memcpy(w->native, Tcl_DStringValue(&ds), (size_t) len + 1);
    Tcl_DStringFree(&ds);
    w->pathObj = pathObj;
    Tcl_IncrRefCount(pathObj);
    w->tailObj = PathTail(pathObj);
    w->seenTick = UINT64_MAX;

    uv_fs_event_init(&bridge->loop, &w->uv);
    TkuvHandleRegister(interp, bridge, &w->h, (uv_handle_t *) &w->uv, NULL);
    TkuvOptionsApply(interp, &w->h, vals, TKUV_APPLY_ALL);
    err = uv_fs_event_start(&w->uv, OnFsEvent, w->native,
	    w->recursive ? UV_FS_EVENT_RECURSIVE : 0);
    if (err < 0) {
	TkuvHandleClose(&w->h);
	goto uvError;
    }
    /* The loop's inotify fd may be new: epoll learns of it in uv_run. */
    TkuvBridgeKick(bridge);
    return TCL_OK;

  uvError:
    whatObj = Tcl_ObjPrintf("watching \"%s\"", Tcl_GetString(pathArg));
    Tcl_IncrRefCount(whatObj);
    TkuvUvError(interp, Tcl_GetString(whatObj), err);
    Tcl_DecrRefCount(whatObj);
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * OnFsEvent --
 *
 *	libuv's callback. Queues `rename NAME` and/or `change NAME` (or
 *	`error ...`).
 *
 *----------------------------------------------------------------------
 */

static void
OnFsEvent(
    uv_fs_event_t *uv,
    const char *filename,
    int events,
    int status)
{
    Watch *w = uv->data;
    Tcl_Obj *nameObj;
    Tcl_DString ds;
    uint64_t tick;

    if (w->h.closed || w->h.bridge->pump == NULL) {
	return;
    }
    if (status < 0) {
	TkuvHandleQueueEvent(&w->h, TkuvErrorEventArgs(status), NULL, NULL, 0);
	return;
    }

    /* Not every platform names the entry; then NAME is empty. */
    if (filename == NULL) {
	nameObj = Tcl_NewObj();
    } else {
	TkuvpNativeToUtf(filename, &ds);
	nameObj = Tcl_NewStringObj(Tcl_DStringValue(&ds),
		Tcl_DStringLength(&ds));
	Tcl_DStringFree(&ds);
    }
    Tcl_IncrRefCount(nameObj);
    tick = TkuvPumpTicks(w->h.bridge->pump);
    if (events & UV_RENAME) {
	QueueOnce(w, tick, "rename", nameObj, CheckGone);
    }
    if (events & UV_CHANGE) {
	QueueOnce(w, tick, "change", nameObj, NULL);
    }
    Tcl_DecrRefCount(nameObj);
}

/*
 *----------------------------------------------------------------------
 *
 * CheckGone --
 *
 *	Runs after each `rename` event's script. If the watched path no
 *	longer exists, queues one `deleted TAIL`. Checking here rather than in
 *	OnFsEvent puts `deleted` after every notification that the same pass
 *	of the loop read (they are all queued by now), and a local stat is
 *	cheap.
 *
 *----------------------------------------------------------------------
 */

static void
CheckGone(
    TkuvHandle *h,
    void *clientData,
    size_t size)
{
    Watch *w = (Watch *) h;
    Tcl_Obj *args;

    (void) clientData;
    (void) size;
    if (h->closed) {
	return;
    }
    if (PathExists(w)) {
	w->gone = 0;
    } else if (!w->gone) {
	w->gone = 1;
	args = Tcl_NewListObj(0, NULL);
	Tcl_ListObjAppendElement(NULL, args, Tcl_NewStringObj("deleted", 7));
	Tcl_ListObjAppendElement(NULL, args, w->tailObj);
	TkuvHandleQueueEvent(h, args, NULL, NULL, 0);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * QueueOnce --
 *
 *	Queue `event name` unless the same pair was queued in this pass of
 *	the loop (`tick`).
 *
 *----------------------------------------------------------------------
 */

static void
QueueOnce(
    Watch *w,
    uint64_t tick,
    const char *event,
    Tcl_Obj *nameObj,
    TkuvAfterEventProc *afterProc)
{
    Tcl_DString key;
    Tcl_Obj *args;
    int isNew;

    if (tick != w->seenTick) {
	if (w->seenValid) {
	    Tcl_DeleteHashTable(&w->seen);
	}
	Tcl_InitHashTable(&w->seen, TCL_STRING_KEYS);
	w->seenValid = 1;
	w->seenTick = tick;
    }
    Tcl_DStringInit(&key);
    Tcl_DStringAppend(&key, event, 1);
    Tcl_DStringAppend(&key, Tcl_GetString(nameObj), -1);
    Tcl_CreateHashEntry(&w->seen, Tcl_DStringValue(&key), &isNew);
    Tcl_DStringFree(&key);
    if (!isNew) {
	return;
    }
    args = Tcl_NewListObj(0, NULL);
    Tcl_ListObjAppendElement(NULL, args, Tcl_NewStringObj(event, -1));
    Tcl_ListObjAppendElement(NULL, args, nameObj);
    TkuvHandleQueueEvent(&w->h, args, afterProc, NULL, 0);
}

static int
PathExists(
    Watch *w)
{
    uv_fs_t req;
    /* No callback: libuv runs the stat synchronously, here. */
    int err = uv_fs_stat(&w->h.bridge->loop, &req, w->native, NULL);

    uv_fs_req_cleanup(&req);
    return err != UV_ENOENT && err != UV_ENOTDIR;
}

/*
 * PathTail -- the last component of a normalized path, with a reference.
 */

static Tcl_Obj *
PathTail(
    Tcl_Obj *pathObj)
{
    Tcl_Obj *parts = Tcl_FSSplitPath(pathObj, NULL);
    Tcl_Obj *tail = NULL;
    Tcl_Size n = 0;

    Tcl_IncrRefCount(parts);
    if (Tcl_ListObjLength(NULL, parts, &n) == TCL_OK && n > 0) {
	Tcl_ListObjIndex(NULL, parts, n - 1, &tail);
    }
    if (tail == NULL) {
	tail = pathObj;
    }
    Tcl_IncrRefCount(tail);
    Tcl_DecrRefCount(parts);
    return tail;
}

/*
 *----------------------------------------------------------------------
 *
 * WatchClosed --
 *
 *	Frees what only the open handle uses (queued events use only the
 *	handle layer's fields). uv_close stops the watch.
 *
 *----------------------------------------------------------------------
 */

static void
WatchClosed(
    TkuvHandle *h)
{
    Watch *w = (Watch *) h;

    if (w->seenValid) {
	Tcl_DeleteHashTable(&w->seen);
	w->seenValid = 0;
    }
    Tcl_DecrRefCount(w->pathObj);
    Tcl_DecrRefCount(w->tailObj);
    TkuvFree(w->native);
    w->pathObj = w->tailObj = NULL;
    w->native = NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * WatchInfo --
 *
 *	$watch info: the path, -recursive, and whether it was deleted.
 *
 *----------------------------------------------------------------------
 */

static void
WatchInfo(
    TkuvHandle *h,
    Tcl_Obj *d)
{
    Watch *w = (Watch *) h;

    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("path", -1), w->pathObj);
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("recursive", -1),
	    Tcl_NewBooleanObj(w->recursive));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("deleted", -1),
	    Tcl_NewBooleanObj(w->gone));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("command", -1), w->h.callback);
}
