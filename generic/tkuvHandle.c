/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvHandle.c --
 *
 *	What every tkuv handle shares: a record that starts with TkuvHandle, a
 *	Tcl command named after it ($h close, rename $h {} and interp deletion
 *	all end in the same place), and callback events.
 *
 *	libuv callbacks never evaluate Tcl: they queue a HandleEvent that holds
 *	a reference on the record, and the event runs the script after uv_run
 *	has returned. The record is freed when libuv's close callback has run
 *	and the last queued event is gone.
 */

#include "tkuvInt.h"
#include <stdio.h>
#include <string.h>

typedef struct HandleEvent {
    Tcl_Event header;		/* Must be first. */
    TkuvHandle *h;
    Tcl_Obj *args;		/* Event name and arguments, or NULL. */
    TkuvAfterEventProc *afterProc;
    void *clientData;		/* For afterProc. */
    size_t size;
    int final;			/* Delivered even though the handle closed. */
} HandleEvent;

static Tcl_InterpDeleteProc ClosedEventInterpGone;

static void	HandleCmdDeleted(ClientData clientData);
static void	HandleCmdRenamed(ClientData clientData, Tcl_Interp *interp,
		    const char *oldName, const char *newName, int flags);
static void	CloseUv(TkuvHandle *h);
static void	OnUvClosed(uv_handle_t *uvHandle);
static int	HandleEventProc(Tcl_Event *evPtr, int flags);
static void	AddCallbackErrorInfo(Tcl_Interp *interp, Tcl_Obj *callback,
			    Tcl_Size numAppended, Tcl_Obj *const appended[]);
static int	DropHandleEvent(Tcl_Event *evPtr, ClientData clientData);
static void	QueueEvent(TkuvHandle *h, Tcl_Obj *eventArgs,
		    TkuvAfterEventProc *afterProc, void *clientData,
		    size_t size, int final);
static void	FreeOptionFields(TkuvHandle *h);
static int	ApplyOrRestore(Tcl_Interp *interp, TkuvHandle *h,
		    const TkuvOptionValues *vals);

/* A type's options, or an empty table. */
static const TkuvOption noOptions[] = {{NULL}};
#define OPTIONS(type)	((type)->options != NULL ? (type)->options : noOptions)


/*
 *----------------------------------------------------------------------
 *
 * TkuvHandleAlloc --
 *
 *	A zeroed family record of type->recordSize bytes.
 *
 *----------------------------------------------------------------------
 */

void *
TkuvHandleAlloc(
    const TkuvHandleType *type)
{
    TkuvHandle *h = TkuvAlloc(type->recordSize);

    memset(h, 0, type->recordSize);
    h->type = type;
    return h;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvHandleRegister --
 *
 *	Called once the family has initialised its libuv handle (uvHandle may
 *	be NULL for records without one): names the handle, creates its
 *	command and sets the interp result to the name (callers outside a
 *	command, e.g. accept, save and restore the interp state around it).
 *	From here on the record belongs to the handle layer.
 *
 *----------------------------------------------------------------------
 */

int
TkuvHandleRegister(
    Tcl_Interp *interp,
    TkuvBridge *bridge,
    TkuvHandle *h,
    uv_handle_t *uvHandle,
    Tcl_Obj *callback)
{
    char name[64];
    Tcl_CmdInfo info;

    do {
	snprintf(name, sizeof(name), "::tkuv::%s%lu", h->type->name,
		++bridge->nextId);
    } while (Tcl_GetCommandInfo(interp, name, &info));

    h->bridge = bridge;
    /*
     * No Tcl_Preserve here: a preserved interp defers its own deletion, and
     * deletion is what closes the handle. The interp is only used while the
     * command exists (token != NULL) or before `closed` is set.
     */
    h->interp = interp;
    h->uvHandle = uvHandle;
    if (uvHandle != NULL) {
	uvHandle->data = h;
    }
    h->refCount = 1;			/* Released once closed. */
    h->nameObj = Tcl_NewStringObj(name, -1);
    Tcl_IncrRefCount(h->nameObj);
    if (callback != NULL) {
	h->callback = callback;
	Tcl_IncrRefCount(callback);
    }
    h->next = bridge->handles;
    if (bridge->handles != NULL) {
	bridge->handles->prev = h;
    }
    bridge->handles = h;
    bridge->numHandles++;
    h->token = Tcl_CreateObjCommand(interp, name, TkuvHandleObjCmd,
	    h, HandleCmdDeleted);
    /* Callbacks and `info` name the handle as it is called now. */
    Tcl_TraceCommand(interp, name, TCL_TRACE_RENAME, HandleCmdRenamed, h);
    Tcl_SetObjResult(interp, h->nameObj);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvHandleFromObj --
 *
 *	Finds the live handle of `type` named by obj in this interp (handles
 *	of other interps are not visible).
 *
 * Results:
 *	The handle, or NULL with a {TKUV USAGE} error in interp.
 *
 *----------------------------------------------------------------------
 */

TkuvHandle *
TkuvHandleFromObj(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    const TkuvHandleType *type)
{
    Tcl_CmdInfo info;

    if (!Tcl_GetCommandInfo(interp, Tcl_GetString(obj), &info)
	    || info.objProc != TkuvHandleObjCmd
	    || ((TkuvHandle *) info.objClientData)->type != type
	    || ((TkuvHandle *) info.objClientData)->closed) {
	TkuvUsageError(interp, "no such %s \"%s\" (closed, or never created)",
		type->name, Tcl_GetString(obj));
	return NULL;
    }
    return info.objClientData;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvHandleClose --
 *
 *	Closes the handle: no more callbacks, its command is deleted, the
 *	libuv handle closes. Safe to call more than once and from inside the
 *	handle's own callback.
 *
 *----------------------------------------------------------------------
 */

void
TkuvHandleClose(
    TkuvHandle *h)
{
    if (h->token != NULL) {
	/* HandleCmdDeleted closes; h may be freed once this returns. */
	Tcl_DeleteCommandFromToken(h->interp, h->token);
	return;
    }
    CloseUv(h);
}

static void
HandleCmdDeleted(
    ClientData clientData)
{
    TkuvHandle *h = clientData;

    h->token = NULL;
    CloseUv(h);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvHandleName --
 *
 *	The handle command's current fully qualified name. A rename trace
 *	keeps h->nameObj current, but `interp hide` and `interp expose` rename
 *	a command without firing traces: a cheap look at the command's own
 *	name catches those, and only then is the full name rebuilt.
 *
 *----------------------------------------------------------------------
 */

Tcl_Obj *
TkuvHandleName(
    TkuvHandle *h)
{
    const char *cached, *tail, *now;

    if (h->token == NULL || h->interp == NULL) {
	return h->nameObj;
    }
    now = Tcl_GetCommandName(h->interp, h->token);
    cached = Tcl_GetString(h->nameObj);
    tail = strrchr(cached, ':');
    tail = (tail != NULL) ? tail + 1 : cached;
    if (strcmp(now, tail) != 0) {
	Tcl_Obj *fresh = Tcl_NewObj();

	Tcl_GetCommandFullName(h->interp, h->token, fresh);
	Tcl_IncrRefCount(fresh);
	Tcl_DecrRefCount(h->nameObj);
	h->nameObj = fresh;
    }
    return h->nameObj;
}

/*
 *----------------------------------------------------------------------
 *
 * HandleCmdRenamed --
 *
 *	A command trace: after `rename $h ::new` the handle's name (given to
 *	its callbacks, listed by info) is the new one. Renaming to {} deletes
 *	the command instead and does not come here. The old name object is
 *	left to whoever still holds it (a queued event, a list).
 *
 *----------------------------------------------------------------------
 */

static void
HandleCmdRenamed(
    ClientData clientData,
    Tcl_Interp *interp,
    const char *oldName,
    const char *newName,
    int flags)
{
    TkuvHandle *h = clientData;

    (void) interp;
    (void) oldName;
    if (!(flags & TCL_TRACE_RENAME) || newName == NULL || *newName == '\0'
	    || h->token == NULL) {
	return;
    }
    Tcl_DecrRefCount(h->nameObj);
    h->nameObj = Tcl_NewStringObj(newName, -1);
    Tcl_IncrRefCount(h->nameObj);
}

static void
CloseUv(
    TkuvHandle *h)
{
    if (h->closed) {
	return;
    }
    h->closed = 1;
    h->bridge->numHandles--;
    if (h->type->closeProc != NULL) {
	h->type->closeProc(h);
    }
    if (h->uvHandle == NULL) {
	TkuvHandleRelease(h);
	return;
    }
    /* Families may point data elsewhere while open (streams do). */
    h->uvHandle->data = h;
    uv_close(h->uvHandle, OnUvClosed);
    TkuvBridgeKick(h->bridge);	/* The close callback needs a tick. */
}

static void
OnUvClosed(
    uv_handle_t *uvHandle)
{
    TkuvHandleRelease(uvHandle->data);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvHandleRetain, TkuvHandleRelease --
 *
 *	Keep a record alive across something that may close it (a script).
 *	The last release frees it.
 *
 *----------------------------------------------------------------------
 */

void
TkuvHandleRetain(
    TkuvHandle *h)
{
    h->refCount++;
}

void
TkuvHandleRelease(
    TkuvHandle *h)
{
    TkuvBridge *bridge = h->bridge;

    if (--h->refCount > 0) {
	return;
    }
    if (h->prev != NULL) {
	h->prev->next = h->next;
    } else {
	bridge->handles = h->next;
    }
    if (h->next != NULL) {
	h->next->prev = h->prev;
    }
    Tcl_DecrRefCount(h->nameObj);
    if (h->callback != NULL) {
	Tcl_DecrRefCount(h->callback);
    }
    FreeOptionFields(h);
    TkuvFree(h);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvHandleQueueEvent --
 *
 *	From a libuv callback: queue `{*}$callback $handle {*}$eventArgs` to
 *	run after uv_run returns. `afterProc`, if any, runs after the script
 *	(even when the script is skipped because the handle closed meanwhile).
 *	Nothing is queued for a handle that is already closed.
 *
 *----------------------------------------------------------------------
 */

void
TkuvHandleQueueEvent(
    TkuvHandle *h,
    Tcl_Obj *eventArgs,
    TkuvAfterEventProc *afterProc,
    void *clientData,
    size_t size)
{
    if (h->closed) {
	/* Nobody will hear it (and teardown may be running the loop). */
	if (eventArgs != NULL) {
	    Tcl_IncrRefCount(eventArgs);
	    Tcl_DecrRefCount(eventArgs);
	}
	return;
    }
    QueueEvent(h, eventArgs, afterProc, clientData, size, 0);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvHandleQueueClosedEvent --
 *
 *	From a closeProc: queue `{*}$callback $handle closed`, the handle's
 *	last event. It is delivered although the handle (and its command) is
 *	gone, unless the interp is being deleted; earlier events still queued
 *	are skipped, as for any closed handle.
 *
 *----------------------------------------------------------------------
 */

void
TkuvHandleQueueClosedEvent(
    TkuvHandle *h)
{
    if (h->callback != NULL && !h->bridge->finalizing
	    && !Tcl_InterpDeleted(h->interp)) {
	QueueEvent(h, Tcl_NewStringObj("closed", 6), NULL, NULL, 0, 1);
	Tcl_CallWhenDeleted(h->interp, ClosedEventInterpGone, h);
    }
}

/*
 * The interp of a queued `closed` event is deleted before the event runs:
 * the event must not touch it (nothing else holds it; its memory may even
 * be a new interp's by then).
 */

static void
ClosedEventInterpGone(
    ClientData clientData,
    Tcl_Interp *interp)
{
    TkuvHandle *h = clientData;

    (void) interp;
    h->interp = NULL;
}

static void
QueueEvent(
    TkuvHandle *h,
    Tcl_Obj *eventArgs,
    TkuvAfterEventProc *afterProc,
    void *clientData,
    size_t size,
    int final)
{
    HandleEvent *ev = (HandleEvent *) ckalloc(sizeof(HandleEvent));

    ev->header.proc = HandleEventProc;
    ev->h = h;
    ev->args = eventArgs;
    if (eventArgs != NULL) {
	Tcl_IncrRefCount(eventArgs);
    }
    ev->afterProc = afterProc;
    ev->clientData = clientData;
    ev->size = size;
    ev->final = final;
    h->refCount++;
    Tcl_QueueEvent(&ev->header, TCL_QUEUE_TAIL);
}

static int
HandleEventProc(
    Tcl_Event *evPtr,
    int flags)
{
    HandleEvent *ev = (HandleEvent *) evPtr;
    TkuvHandle *h = ev->h;

    if (!(flags & TCL_FILE_EVENTS)) {
	return 0;
    }
    if (ev->final && h->interp != NULL) {
	Tcl_DontCallWhenDeleted(h->interp, ClosedEventInterpGone, h);
    }
    if ((!h->closed || ev->final) && h->callback != NULL && h->interp != NULL
	    && !Tcl_InterpDeleted(h->interp)) {
	Tcl_Interp *interp = h->interp;

	Tcl_Preserve(interp);
	if (TkuvHandleInvoke(h, ev->args) != TCL_OK) {
	    Tcl_BackgroundException(interp, TCL_ERROR);
	}
	Tcl_ResetResult(interp);
	Tcl_Release(interp);
    }
    if (ev->afterProc != NULL) {
	ev->afterProc(h, ev->clientData, ev->size);
    }
    if (ev->args != NULL) {
	Tcl_DecrRefCount(ev->args);
    }
    TkuvHandleRelease(h);
    return 1;
}

/*
 * The subcommands of a one-shot request handle (a lookup, a file
 * operation) besides the shared ones: cancel, another name for close. Its
 * type's closeProc does the libuv side of cancelling.
 */

const TkuvSubcommand TkuvRequestSubcommands[] = {
    {"cancel", TkuvHandleCloseCmd, 0, 0, ""},
    {NULL, NULL, 0, 0, NULL}
};

/*
 *----------------------------------------------------------------------
 *
 * TkuvHandleCloseAfterEvent --
 *
 *	An afterProc for one-shot handles (requests): the only event has run
 *	(or was skipped), so the handle closes.
 *
 *----------------------------------------------------------------------
 */

void
TkuvHandleCloseAfterEvent(
    TkuvHandle *h,
    void *clientData,
    size_t size)
{
    (void) clientData;
    (void) size;
    TkuvHandleClose(h);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvHandleList --
 *
 *	Sets the interp's result to the names of the open handles the interp
 *	made, oldest first; only those of the type named `typeName` unless it
 *	is NULL.
 *
 *----------------------------------------------------------------------
 */

int
TkuvHandleList(
    Tcl_Interp *interp,
    const char *typeName)
{
    TkuvBridge *bridge;
    TkuvHandle *h, *last = NULL;
    Tcl_Obj *list = Tcl_NewListObj(0, NULL);

    if (TkuvBridgeGet(interp, &bridge) != TCL_OK) {
	return TCL_ERROR;
    }
    /* New handles go to the front: walk from the back. */
    for (h = bridge->handles; h != NULL; h = h->next) {
	last = h;
    }
    for (h = last; h != NULL; h = h->prev) {
	if ((typeName == NULL || strcmp(h->type->name, typeName) == 0)
		&& !h->closed
		&& h->interp == interp && h->token != NULL) {
	    Tcl_ListObjAppendElement(NULL, list, TkuvHandleName(h));
	}
    }
    Tcl_SetObjResult(interp, list);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvHandlesObjCmd --
 *
 *	tkuv::handles ?TYPE?: the open handles of the calling interp, oldest
 *	first, of one family (a handle type's name) or all.
 *
 *----------------------------------------------------------------------
 */

int
TkuvHandlesObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    /* The `name` of every TkuvHandleType. */
    static const char *const typeNames[] = {
	"fs", "guest", "process", "resolve", "signal", "socket", "tcp",
	"tcpserver", "timer", "udp", "watch", NULL
    };
    int index;

    (void) clientData;
    if (objc > 2) {
	return TkuvWrongNumArgs(interp, 1, objv, "?type?");
    }
    if (objc == 1) {
	return TkuvHandleList(interp, NULL);
    }
    if (TkuvGetIndex(interp, objv[1], typeNames, "handle type", &index)
	    != TCL_OK) {
	return TCL_ERROR;
    }
    return TkuvHandleList(interp, typeNames[index]);
}

/*
 *----------------------------------------------------------------------
 *
 * AddCallbackErrorInfo --
 *
 *	Ends the -errorinfo of a failed callback with the callback, the
 *	words appended to it, and the apply idiom. The first trap of every
 *	user of after and fileevent is a script given where tkuv wants a
 *	command prefix ({puts hi} becomes "puts hi ::tkuv::timer1 fired"),
 *	and the error message itself (from puts, here) does not say why.
 *
 *----------------------------------------------------------------------
 */

static void
AddCallbackErrorInfo(
    Tcl_Interp *interp,
    Tcl_Obj *callback,
    Tcl_Size numAppended,
    Tcl_Obj *const appended[])
{
    Tcl_Obj *appendedObj = Tcl_NewListObj(numAppended, appended);
    Tcl_Obj *info;

    Tcl_IncrRefCount(appendedObj);
    info = Tcl_ObjPrintf("\n    (tkuv callback \"%.200s\" called as "
	    "\"%.200s %.200s\":\n    callbacks are command prefixes; to run "
	    "a script use {apply {args {...}}})", Tcl_GetString(callback),
	    Tcl_GetString(callback), Tcl_GetString(appendedObj));
    Tcl_IncrRefCount(info);
    Tcl_AppendObjToErrorInfo(interp, info);
    Tcl_DecrRefCount(info);
    Tcl_DecrRefCount(appendedObj);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvHandleInvoke --
 *
 *	Evaluates `{*}$callback $handle {*}$eventArgs` at global level. The
 *	caller makes sure the handle is open and holds the interp.
 *
 * Results:
 *	The script's completion code (TCL_ERROR for break/continue/return
 *	too, as a callback has nowhere to send them); the result is left in
 *	the interp.
 *
 *----------------------------------------------------------------------
 */

int
TkuvHandleInvoke(
    TkuvHandle *h,
    Tcl_Obj *eventArgs)
{
    Tcl_Obj *stackWords[16], **words = stackWords, **prefix, **args = NULL;
    Tcl_Size numPrefix, numArgs = 0, numWords, i;
    int code;

    /*
     * The words go straight to Tcl_EvalObjv (no list is copied and grown
     * for every event). Each word is held for the call: the script may
     * replace the callback or shimmer the list meanwhile.
     */
    if (Tcl_ListObjGetElements(NULL, h->callback, &numPrefix, &prefix)
	    != TCL_OK) {
	numPrefix = 0;		/* Checked when set; cannot happen. */
    }
    if (eventArgs != NULL && Tcl_ListObjGetElements(NULL, eventArgs,
	    &numArgs, &args) != TCL_OK) {
	numArgs = 0;
    }
    numWords = numPrefix + 1 + numArgs;
    if (numWords > (Tcl_Size) (sizeof(stackWords) / sizeof(stackWords[0]))) {
	words = (Tcl_Obj **) ckalloc(numWords * sizeof(Tcl_Obj *));
    }
    for (i = 0; i < numPrefix; i++) {
	words[i] = prefix[i];
    }
    words[numPrefix] = TkuvHandleName(h);
    for (i = 0; i < numArgs; i++) {
	words[numPrefix + 1 + i] = args[i];
    }
    for (i = 0; i < numWords; i++) {
	Tcl_IncrRefCount(words[i]);
    }
    code = Tcl_EvalObjv(h->interp, numWords, words, TCL_EVAL_GLOBAL);
    if (code == TCL_ERROR) {
	AddCallbackErrorInfo(h->interp, h->callback, numWords - numPrefix,
		words + numPrefix);
    }
    for (i = 0; i < numWords; i++) {
	Tcl_DecrRefCount(words[i]);
    }
    if (words != stackWords) {
	ckfree((char *) words);
    }
    if (code != TCL_OK && code != TCL_ERROR) {
	Tcl_SetObjResult(h->interp, Tcl_ObjPrintf(
		"callback of %s: unexpected %s", Tcl_GetString(h->nameObj),
		code == TCL_BREAK ? "break" : code == TCL_CONTINUE ? "continue"
		: "return code"));
	code = TCL_ERROR;
    }
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvHandleCloseAll --
 *
 *	Thread teardown: drop this thread's queued callback events and close
 *	every handle still open.
 *
 *----------------------------------------------------------------------
 */

void
TkuvHandleCloseAll(
    TkuvBridge *bridge)
{
    TkuvHandle *h, *next;

    Tcl_DeleteEvents(DropHandleEvent, NULL);
    for (h = bridge->handles; h != NULL; h = next) {
	next = h->next;
	if (!h->closed) {
	    h->refCount++;		/* Keep `next` reachable meanwhile. */
	    TkuvHandleClose(h);
	    next = h->next;
	    TkuvHandleRelease(h);
	}
    }
}

static int
DropHandleEvent(
    Tcl_Event *evPtr,
    ClientData clientData)
{
    HandleEvent *ev = (HandleEvent *) evPtr;

    (void) clientData;
    if (evPtr->proc != HandleEventProc) {
	return 0;
    }
    if (ev->afterProc != NULL) {
	/* As for a skipped script: families free per-event state here. */
	ev->afterProc(ev->h, ev->clientData, ev->size);
    }
    if (ev->args != NULL) {
	Tcl_DecrRefCount(ev->args);
    }
    TkuvHandleRelease(ev->h);
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * Options: see tkuvInt.h for the model.
 *
 *----------------------------------------------------------------------
 */

#define FIELD(h, opt, ctype)	((ctype *) ((char *) (h) + (opt)->offset))

/*
 * FindOption --
 *
 *	The table entry named by obj (an exact name or a unique prefix),
 *	aliases resolved.
 *
 * Results:
 *	The entry's index, or -1 with a {TKUV USAGE} error.
 */

static int
FindOption(
    Tcl_Interp *interp,
    const TkuvOption *table,
    Tcl_Obj *obj)
{
    const char *names[TKUV_MAX_OPTIONS];
    uint64_t aliases = 0;
    int i, n, index;

    for (n = 0; table[n].name != NULL; n++) {
	if (n >= TKUV_MAX_OPTIONS) {
	    Tcl_Panic("tkuv: option table over %d entries", TKUV_MAX_OPTIONS);
	}
	names[n] = table[n].name;
	if (table[n].type == TKUV_OPT_ALIAS) {
	    aliases |= (uint64_t) 1 << n;
	}
    }
    if (TkuvLookup(interp, obj, "option", names, n, aliases, &index)
	    != TCL_OK) {
	return -1;
    }
    if (table[index].type == TKUV_OPT_ALIAS) {
	for (i = 0; i < n && strcmp(names[i], table[index].alias) != 0; i++) {
	    /* Empty. */
	}
	if (i == n) {
	    Tcl_Panic("tkuv: alias %s of unknown option", names[index]);
	}
	index = i;
    }
    return index;
}

/*
 * NamesOption --
 *
 *	Whether a word names one of the table's options (whole, or a unique
 *	prefix of at least two characters): an odd last word that does is an
 *	option left without its value, not the short form's command.
 */

static int
NamesOption(
    const TkuvOption *table,
    Tcl_Obj *obj)
{
    Tcl_Size length;
    const char *word = Tcl_GetStringFromObj(obj, &length);
    int i;

    if (length < 2 || word[0] != '-') {
	return 0;
    }
    for (i = 0; table[i].name != NULL; i++) {
	if (strncmp(word, table[i].name, (size_t) length) == 0) {
	    return 1;
	}
    }
    return 0;
}

/*
 * ParseValue --
 *
 *	Checks one value against its entry's type, limits and checkProc.
 */

static int
ParseValue(
    Tcl_Interp *interp,
    const TkuvOption *opt,
    Tcl_Obj *obj,
    TkuvOptionValue *v)
{
    char expected[200];
    Tcl_WideInt w;
    Tcl_Size len;
    int n;

    switch (opt->type) {
    case TKUV_OPT_BOOLEAN:
	if (Tcl_GetBooleanFromObj(NULL, obj, &v->i) != TCL_OK) {
	    return TkuvBadValue(interp, opt->name, "a boolean", obj);
	}
	break;
    case TKUV_OPT_INT:
    case TKUV_OPT_SIZE:
    case TKUV_OPT_MS:
	if (Tcl_GetWideIntFromObj(NULL, obj, &w) != TCL_OK
		|| w < opt->min || w > opt->max) {
	    const char *unit = (opt->type == TKUV_OPT_INT) ? "an integer"
		    : (opt->type == TKUV_OPT_SIZE) ? "a number of bytes"
		    : "a number of milliseconds";

	    if (opt->max >= INT_MAX && !(Tcl_GetWideIntFromObj(NULL, obj, &w)
		    == TCL_OK && w > opt->max)) {
		snprintf(expected, sizeof(expected), "%s >= %" TCL_LL_MODIFIER
			"d", unit, (long long) opt->min);
	    } else {
		snprintf(expected, sizeof(expected), "%s from %"
			TCL_LL_MODIFIER "d to %" TCL_LL_MODIFIER "d", unit,
			(long long) opt->min, (long long) opt->max);
	    }
	    return TkuvBadValue(interp, opt->name, expected, obj);
	}
	if (opt->type == TKUV_OPT_INT) {
	    v->i = (int) w;
	} else {
	    v->w = w;
	}
	break;
    case TKUV_OPT_CALLBACK:
	/* Empty: none, where the family may run without one. */
	if (Tcl_ListObjLength(NULL, obj, &len) != TCL_OK
		|| (len == 0 && (opt->flags & TKUV_OPT_REQUIRED))) {
	    return TkuvBadValue(interp, opt->name,
		    (opt->flags & TKUV_OPT_REQUIRED)
		    ? "a command prefix (a non-empty list)"
		    : "a command prefix (a list, empty for none)", obj);
	}
	v->obj = obj;
	break;
    case TKUV_OPT_STRING:
	v->obj = obj;
	break;
    case TKUV_OPT_INDEX:
	for (n = 0; opt->values[n] != NULL; n++) {
	    if (strcmp(opt->values[n], Tcl_GetString(obj)) == 0) {
		break;
	    }
	}
	if (opt->values[n] == NULL) {
	    Tcl_Obj *msg = Tcl_NewObj();

	    TkuvAppendChoices(msg, opt->values, n, 0);
	    Tcl_IncrRefCount(msg);
	    TkuvBadValue(interp, opt->name, Tcl_GetString(msg), obj);
	    Tcl_DecrRefCount(msg);
	    return TCL_ERROR;
	}
	v->i = n;
	break;
    case TKUV_OPT_ALIAS:
	break;				/* Resolved by FindOption. */
    }
    if (opt->checkProc != NULL) {
	return opt->checkProc(interp, opt, obj, v);
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvOptionsParse --
 *
 *	Checks `NAME VALUE ...` against a family's table: names (or unique
 *	prefixes, or aliases), values, and whether the option may be set now
 *	(creation, when flags has TKUV_PARSE_CREATE, or later). A name given
 *	twice keeps its last value. Nothing is applied.
 *
 * Results:
 *	TCL_OK with *vals filled, or TCL_ERROR with a {TKUV USAGE} error
 *	naming the first bad name or value.
 *
 *----------------------------------------------------------------------
 */

int
TkuvOptionsParse(
    Tcl_Interp *interp,
    const TkuvOption *table,
    int objc,
    Tcl_Obj *const objv[],
    int flags,
    TkuvOptionValues *vals)
{
    int i, index, command = -1;

    vals->given = 0;
    if ((flags & TKUV_PARSE_TRAILING_COMMAND) && objc % 2 == 1
	    && !NamesOption(table, objv[objc - 1])) {
	for (command = 0; table[command].type != TKUV_OPT_CALLBACK;
		command++) {
	    if (table[command].name == NULL) {
		Tcl_Panic("tkuv: a trailing command but no callback option");
	    }
	}
	if (ParseValue(interp, &table[command], objv[objc - 1],
		&vals->v[command]) != TCL_OK) {
	    return TCL_ERROR;
	}
	objc--;
    }
    if (objc % 2 != 0) {
	return TkuvUsageError(interp, "option \"%s\" has no value",
		Tcl_GetString(objv[objc - 1]));
    }
    for (i = 0; i < objc; i += 2) {
	const TkuvOption *opt;

	if ((index = FindOption(interp, table, objv[i])) < 0) {
	    return TCL_ERROR;
	}
	opt = &table[index];
	if (opt->flags & TKUV_OPT_READ_ONLY) {
	    return TkuvUsageError(interp, "option %s is read-only", opt->name);
	}
	if ((opt->flags & TKUV_OPT_CREATE_ONLY)
		&& !(flags & TKUV_PARSE_CREATE)) {
	    return TkuvUsageError(interp, "option %s can only be given when "
		    "the handle is created", opt->name);
	}
	if (index == command) {
	    return TkuvUsageError(interp, "the command is given twice: as "
		    "the last argument and as %s", opt->name);
	}
	if (ParseValue(interp, opt, objv[i + 1], &vals->v[index]) != TCL_OK) {
	    return TCL_ERROR;
	}
	vals->given |= (uint64_t) 1 << index;
    }
    if (command >= 0) {
	vals->given |= (uint64_t) 1 << command;
    }
    if (flags & TKUV_PARSE_CREATE) {
	for (i = 0; table[i].name != NULL; i++) {
	    if ((table[i].flags & TKUV_OPT_REQUIRED)
		    && !TKUV_OPTION_GIVEN(vals, i)) {
		return TkuvUsageError(interp, "missing %s", table[i].name);
	    }
	}
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvOptionsApply --
 *
 *	Applies parsed values to an open handle in table order: with
 *	TKUV_APPLY_SET each entry's setProc, with TKUV_APPLY_STORE its field.
 *
 * Results:
 *	TCL_OK, or the error of the first setProc that failed (a system
 *	refusal; the values before it have been applied).
 *
 *----------------------------------------------------------------------
 */

int
TkuvOptionsApply(
    Tcl_Interp *interp,
    TkuvHandle *h,
    const TkuvOptionValues *vals,
    int how)
{
    const TkuvOption *table = OPTIONS(h->type), *opt;
    int i;

    for (i = 0; table[i].name != NULL; i++) {
	TkuvOptionValue v;

	if (!TKUV_OPTION_GIVEN(vals, i)) {
	    continue;
	}
	opt = &table[i];
	v = vals->v[i];
	if ((how & TKUV_APPLY_SET) && opt->setProc != NULL
		&& opt->setProc(interp, h, opt, &v) != TCL_OK) {
	    return TCL_ERROR;
	}
	if (!(how & TKUV_APPLY_STORE)) {
	    continue;
	}
	if (opt->type == TKUV_OPT_CALLBACK || opt->type == TKUV_OPT_STRING) {
	    Tcl_Obj **field = (opt->type == TKUV_OPT_CALLBACK) ? &h->callback
		    : (opt->offset > 0) ? FIELD(h, opt, Tcl_Obj *) : NULL;
	    Tcl_Size len = 1;

	    if (opt->type == TKUV_OPT_CALLBACK) {
		Tcl_ListObjLength(NULL, v.obj, &len);	/* Checked. */
	    }
	    if (field != NULL) {
		if (*field != NULL) {
		    Tcl_DecrRefCount(*field);
		}
		*field = (len > 0) ? v.obj : NULL;	/* Empty: none. */
		if (*field != NULL) {
		    Tcl_IncrRefCount(*field);
		}
	    }
	} else if (opt->offset == 0) {
	    continue;
	} else if (opt->type == TKUV_OPT_SIZE) {
	    *FIELD(h, opt, size_t) = (size_t) v.w;
	} else if (opt->type == TKUV_OPT_MS) {
	    *FIELD(h, opt, uint64_t) = (uint64_t) v.w;
	} else {
	    *FIELD(h, opt, int) = v.i;
	}
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvOptionGet --
 *
 *	An option's current value: its getProc's answer, else its field.
 *
 *----------------------------------------------------------------------
 */

Tcl_Obj *
TkuvOptionGet(
    TkuvHandle *h,
    const TkuvOption *opt)
{
    Tcl_Obj *obj = NULL;

    if (opt->getProc != NULL) {
	return opt->getProc(h, opt);
    }
    switch (opt->type) {
    case TKUV_OPT_CALLBACK:
	obj = h->callback;
	break;
    case TKUV_OPT_STRING:
	obj = (opt->offset > 0) ? *FIELD(h, opt, Tcl_Obj *) : NULL;
	break;
    case TKUV_OPT_BOOLEAN:
	return Tcl_NewBooleanObj(*FIELD(h, opt, int));
    case TKUV_OPT_INT:
	return Tcl_NewIntObj(*FIELD(h, opt, int));
    case TKUV_OPT_SIZE:
	return Tcl_NewWideIntObj((Tcl_WideInt) *FIELD(h, opt, size_t));
    case TKUV_OPT_MS:
	return Tcl_NewWideIntObj((Tcl_WideInt) *FIELD(h, opt, uint64_t));
    case TKUV_OPT_INDEX:
	return Tcl_NewStringObj(opt->values[*FIELD(h, opt, int)], -1);
    case TKUV_OPT_ALIAS:
	break;
    }
    return (obj != NULL) ? obj : Tcl_NewObj();
}

/*
 * TkuvOptionRefused --
 *
 *	A setProc's error when the system refuses a checked value, in one
 *	form for every family: {TKUV <UV_ERRNAME>} "setting -opt: message".
 */

int
TkuvOptionRefused(
    Tcl_Interp *interp,
    const TkuvOption *opt,
    int err)
{
    char what[100];

    snprintf(what, sizeof(what), "setting %.80s", opt->name);
    return TkuvUvError(interp, what, err);
}

/*
 * FreeOptionFields --
 *
 *	With the record: the STRING fields its options hold.
 */

static void
FreeOptionFields(
    TkuvHandle *h)
{
    const TkuvOption *opt;

    for (opt = OPTIONS(h->type); opt->name != NULL; opt++) {
	if (opt->type == TKUV_OPT_STRING && opt->offset > 0
		&& *FIELD(h, opt, Tcl_Obj *) != NULL) {
	    Tcl_DecrRefCount(*FIELD(h, opt, Tcl_Obj *));
	    *FIELD(h, opt, Tcl_Obj *) = NULL;
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * The shared subcommands: close, info, configure, cget.
 * TkuvHandleCloseCmd also serves families for another name of close
 * (a timer's cancel).
 *
 *----------------------------------------------------------------------
 */

int
TkuvHandleCloseCmd(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    (void) interp;
    (void) objc;
    (void) objv;
    TkuvHandleClose(h);
    return TCL_OK;
}

static int
InfoSub(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Obj *d = Tcl_NewDictObj();

    (void) objc;
    (void) objv;
    if (h->type->infoProc != NULL) {
	h->type->infoProc(h, d);
    }
    Tcl_SetObjResult(interp, d);
    return TCL_OK;
}

/*
 * $h configure			-> dict of every option
 * $h configure -opt		-> its value
 * $h configure -opt value ...	-> all checked, then all applied; when the
 *				   system refuses one (a setProc fails: an
 *				   interface that is not local, ...), the
 *				   ones given are put back as they were
 */

static int
ConfigureSub(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    const TkuvOption *table = OPTIONS(h->type), *opt;
    TkuvOptionValues vals;
    int index;

    if (objc == 2) {
	Tcl_Obj *d = Tcl_NewDictObj();

	for (opt = table; opt->name != NULL; opt++) {
	    if (opt->type != TKUV_OPT_ALIAS) {
		Tcl_DictObjPut(NULL, d, Tcl_NewStringObj(opt->name, -1),
			TkuvOptionGet(h, opt));
	    }
	}
	Tcl_SetObjResult(interp, d);
	return TCL_OK;
    }
    if (objc == 3) {
	if ((index = FindOption(interp, table, objv[2])) < 0) {
	    return TCL_ERROR;
	}
	Tcl_SetObjResult(interp, TkuvOptionGet(h, &table[index]));
	return TCL_OK;
    }
    if (TkuvOptionsParse(interp, table, objc - 2, objv + 2, 0, &vals)
	    != TCL_OK) {
	return TCL_ERROR;
    }
    return ApplyOrRestore(interp, h, &vals);
}

/*
 * ApplyOrRestore --
 *
 *	configure's apply: values that passed every check can still be
 *	refused by the system halfway through. Then each option given is set
 *	back to the value it had (read before, parsed and applied again), so
 *	that a failed configure changes nothing; the refusal stays the result.
 */

static int
ApplyOrRestore(
    Tcl_Interp *interp,
    TkuvHandle *h,
    const TkuvOptionValues *vals)
{
    const TkuvOption *table = OPTIONS(h->type);
    Tcl_Obj *before[TKUV_MAX_OPTIONS], *callback = h->callback;
    Tcl_InterpState refusal;
    int i, code;

    for (i = 0; table[i].name != NULL; i++) {
	before[i] = NULL;
	if (TKUV_OPTION_GIVEN(vals, i) && table[i].type != TKUV_OPT_CALLBACK) {
	    before[i] = TkuvOptionGet(h, &table[i]);
	    Tcl_IncrRefCount(before[i]);
	}
    }
    if (callback != NULL) {
	Tcl_IncrRefCount(callback);
    }
    code = TkuvOptionsApply(interp, h, vals, TKUV_APPLY_ALL);
    if (code != TCL_OK) {
	refusal = Tcl_SaveInterpState(interp, code);
	for (i = 0; table[i].name != NULL; i++) {
	    TkuvOptionValues old;

	    if (before[i] == NULL || ParseValue(interp, &table[i], before[i],
		    &old.v[i]) != TCL_OK) {
		continue;
	    }
	    old.given = (uint64_t) 1 << i;
	    TkuvOptionsApply(interp, h, &old, TKUV_APPLY_ALL);
	}
	if (h->callback != callback) {
	    if (h->callback != NULL) {
		Tcl_DecrRefCount(h->callback);
	    }
	    h->callback = callback;
	    callback = NULL;		/* Its reference moved back. */
	}
	code = Tcl_RestoreInterpState(interp, refusal);
    }
    for (i = 0; table[i].name != NULL; i++) {
	if (before[i] != NULL) {
	    Tcl_DecrRefCount(before[i]);
	}
    }
    if (callback != NULL) {
	Tcl_DecrRefCount(callback);
    }
    return code;
}

static int
CgetSub(
    Tcl_Interp *interp,
    TkuvHandle *h,
    int objc,
    Tcl_Obj *const objv[])
{
    const TkuvOption *table = OPTIONS(h->type);
    int index = FindOption(interp, table, objv[2]);

    (void) objc;
    if (index < 0) {
	return TCL_ERROR;
    }
    Tcl_SetObjResult(interp, TkuvOptionGet(h, &table[index]));
    return TCL_OK;
}

static const TkuvSubcommand sharedSubcommands[] = {
    {"cget",		CgetSub,	1, 1,	"option"},
    {"close",		TkuvHandleCloseCmd, 0, 0,	""},
    {"configure",	ConfigureSub,	0, -1,	"?option? ?value option value ...?"},
    {"info",		InfoSub,	0, 0,	""},
    {NULL, NULL, 0, 0, NULL}
};

/*
 *----------------------------------------------------------------------
 *
 * TkuvHandleObjCmd --
 *
 *	The command of every handle: the shared subcommands, then the
 *	family's (one search, so a
 *	prefix is resolved and a bad name reported against both), the
 *	argument count checked against the entry.
 *
 *----------------------------------------------------------------------
 */

int
TkuvHandleObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    TkuvHandle *h = clientData;
    const TkuvSubcommand *family = h->type->subcommands, *sub;
    const char *names[32];
    int numShared, n, index;

    if (objc < 2) {
	return TkuvWrongNumArgs(interp, 1, objv, "subcommand ?arg ...?");
    }
    for (n = 0; sharedSubcommands[n].name != NULL; n++) {
	names[n] = sharedSubcommands[n].name;
    }
    numShared = n;
    for (sub = family; sub != NULL && sub->name != NULL; sub++) {
	if (n == (int) (sizeof(names) / sizeof(names[0]))) {
	    Tcl_Panic("tkuv: too many subcommands for %s", h->type->name);
	}
	names[n++] = sub->name;
    }
    if (TkuvLookup(interp, objv[1], "subcommand", names, n, 0, &index)
	    != TCL_OK) {
	return TCL_ERROR;
    }
    sub = (index < numShared) ? &sharedSubcommands[index]
	    : &family[index - numShared];
    if (objc - 2 < sub->minArgs
	    || (sub->maxArgs >= 0 && objc - 2 > sub->maxArgs)) {
	return TkuvWrongNumArgs(interp, 2, objv, sub->usage);
    }
    return sub->proc(interp, h, objc, objv);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvAddressObj --
 *
 *	A socket address as `info` gives it everywhere: {address port}.
 *
 *----------------------------------------------------------------------
 */

Tcl_Obj *
TkuvAddressObj(
    const struct sockaddr *sa)
{
    char name[TKUV_ADDRSTRLEN];
    int port = TkuvSockaddrName(sa, name, sizeof(name));
    Tcl_Obj *pair[2];

    pair[0] = Tcl_NewStringObj(name, -1);
    pair[1] = Tcl_NewIntObj(port);
    return Tcl_NewListObj(2, pair);
}
