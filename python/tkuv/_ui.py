# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""Async helpers for Tk user interfaces: modal dialogs, Tk events and Tk
variables as awaitables. They work in the asyncio, uvloop and Trio guests.

modal(fn, *args, **kwargs)
    Run a function with a nested Tk loop (messagebox, filedialog,
    wait_window) while the guest loop keeps running; its result.
event(widget, sequence)
    The next Tk event `sequence` on `widget` (a tkinter.Event).
changed(var)
    The next write to a tkinter Variable; its new value.

Each one resolves from a Tk callback that runs between guest ticks (or, for
modal, a nested Tk loop entered between ticks). A waiter hands the result to
the awaiting task: an asyncio future, or for Trio an event set through the
run's TrioToken (Trio's run state only exists inside its ticks).
"""

import asyncio
import sys
import tkinter
from asyncio import events
from typing import Any, Callable

from ._run import current_host

__all__ = ["modal", "event", "changed"]


class _AsyncioWaiter:
    """One result for an asyncio task, set from Tk callbacks."""

    def __init__(self, loop):
        self._future = loop.create_future()

    def pending(self):
        return not self._future.done()

    def set_result(self, value):
        if self.pending():
            self._future.set_result(value)

    def set_exception(self, exc):
        if self.pending():
            self._future.set_exception(exc)

    async def wait(self):
        return await self._future


class _TrioWaiter:
    """One result for a Trio task, set from Tk callbacks (outside Trio's
    run context: they reach Trio through its token)."""

    def __init__(self, trio):
        self._token = trio.lowlevel.current_trio_token()
        self._event = trio.Event()
        self._value = self._error = None
        self._pending = True

    def pending(self):
        return self._pending

    def set_result(self, value):
        self._finish(value, None)

    def set_exception(self, exc):
        self._finish(None, exc)

    def _finish(self, value, error):
        if not self._pending:
            return
        self._pending = False
        self._value, self._error = value, error
        try:
            self._token.run_sync_soon(self._event.set)
        except RuntimeError:        # trio.RunFinishedError: nobody waits
            pass

    async def wait(self):
        try:
            await self._event.wait()
        finally:
            self._pending = False   # cancelled: later results are dropped
        error, self._error = self._error, None
        if error is not None:
            try:
                raise error
            finally:
                del error
        return self._value


def _waiter(what):
    """A waiter for the calling task, asyncio's or Trio's."""
    loop = events._get_running_loop()
    if loop is not None and asyncio.current_task(loop) is not None:
        return _AsyncioWaiter(loop)
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            return _TrioWaiter(trio)
    raise RuntimeError("tkuv.%s() must be awaited in an asyncio or Trio task"
                       % what)


# -- modal ------------------------------------------------------------------

# Tcl: the toplevels (menus aside) below a window that are not withdrawn.
_TOPLEVELS_PROC = """
proc ::tkuv_py_toplevels {w} {
    set out {}
    foreach c [winfo children $w] {
        if {[winfo class $c] ne "Menu" && [winfo toplevel $c] eq $c
                && [wm state $c] ne "withdrawn"} {
            lappend out $c
        }
        lappend out {*}[::tkuv_py_toplevels $c]
    }
    return $out
}
"""


def _shown_toplevels(tk):
    """The paths of the application's toplevels that are not withdrawn."""
    if not tk.call("info", "procs", "::tkuv_py_toplevels"):
        tk.eval(_TOPLEVELS_PROC)
    return {str(p) for p in tk.splitlist(tk.call("::tkuv_py_toplevels", "."))}


# The _ModalCalls whose fn runs, innermost last: a dialog opened while
# another is open runs its nested loop inside the other's.
_running = []


class _ModalCall:
    """fn(*args, **kwargs) run from a Tk timer, outside the guest's tick."""

    def __init__(self, host, fn, args, kwargs, waiter):
        self._root = host.root
        self._tk = host.root.tk
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._waiter = waiter
        self._shown_before = set()
        self.running = self.done = False
        # `after 0`: the next time Tk handles events, which is right after
        # the current tick returns (or in a nested Tk loop).
        self._after = self._root.after(0, self._call)

    def _call(self):
        self._after = None
        waiter = self._waiter
        if not waiter.pending():
            self._finished()
            return          # abandoned before it started
        self._shown_before = _shown_toplevels(self._tk)
        self.running = True
        _running.append(self)
        try:
            value = self._fn(*self._args, **self._kwargs)
        except BaseException as exc:
            if not waiter.pending() and not isinstance(exc, Exception):
                raise       # KeyboardInterrupt, SystemExit: nobody waits
            waiter.set_exception(exc)
        else:
            waiter.set_result(value)
        finally:
            _running.remove(self)
            self.running = False
            self._finished()

    def _finished(self):
        self.done = True
        # Nothing of the call's may keep the Tk interpreter alive (see
        # Host._deliver).
        self._fn = self._args = self._kwargs = None
        self._waiter = self._root = self._tk = None

    def abandon(self):
        """The awaiting task has gone (cancelled): drop the call if it has
        not started; if it runs, destroy its dialog (see modal())."""
        root, self._root = self._root, None
        if self._after is not None:
            root.after_cancel(self._after)
            self._after = None
        if not self.running:
            return
        tk = self._tk
        # Windows shown after a dialog nested in ours started are not ours.
        inner = [c for c in _running[_running.index(self) + 1:]
                 if c._tk is tk]
        try:
            shown = inner[0]._shown_before if inner else _shown_toplevels(tk)
            new = shown - self._shown_before
            grabbed = {str(tk.call("winfo", "toplevel", w))
                       for w in tk.splitlist(tk.call("grab", "current"))}
            # Other tasks run while the dialog is open and may show windows
            # too: if the grab is on a new one, that one is the dialog.
            for path in sorted(grabbed & new or new):
                if tk.getboolean(tk.call("winfo", "exists", path)):
                    tk.call("destroy", path)
        except tkinter.TclError:
            pass


async def modal(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call fn(*args, **kwargs), a function that runs a nested Tk event loop
    until the user is done (messagebox.showinfo, filedialog.askopenfilename,
    simpledialog.askstring, a custom dialog's wait_window, ...), and return
    its result or raise its exception. The guest loop keeps running while
    the dialog is open.

    fn runs from a Tk timer right after the current guest tick, not inside
    it: a nested Tk loop inside a tick would hold the guest loop until it
    returned. Dialogs nest as they do in Tk: one opened while another is
    open must close first.

    Cancelling the awaiting task raises CancelledError in it at once. If fn
    has not started, it never will; if it runs, its result is discarded and
    its dialog destroyed: the toplevel holding Tk's grab if it was shown
    since fn started (Tk's message, file and color dialogs and tkinter's
    simpledialog grab), else every toplevel shown since then -- up to the
    start of any modal() dialog nested in this one. Tk's dialogs
    then return, and so does wait_window on such a window. A dialog that
    tkuv cannot close this way (a window shown before, a native dialog on
    Windows or macOS, wait_variable) stays open until the user closes it;
    destroy it yourself on cancellation if you can.
    """
    if asyncio.iscoroutinefunction(fn):
        raise TypeError("tkuv.modal() calls a plain function that runs a "
                        "nested Tk loop; %r is async: await it instead"
                        % (fn,))
    host = current_host()
    if host is None or host.root is None:
        raise RuntimeError("tkuv.modal() needs a running tkuv guest")
    waiter = _waiter("modal")
    call = _ModalCall(host, fn, args, kwargs, waiter)
    host = None
    try:
        return await waiter.wait()
    finally:
        if not call.done:
            call.abandon()


# -- Tk events ----------------------------------------------------------------

def _remove_binding(widget, sequence, funcid):
    """Remove the one binding script line of tkinter callback `funcid` from
    widget's `sequence`, keeping the others. (tkinter's unbind(sequence,
    funcid) before Python 3.13 removes every binding of the sequence.)"""
    tk = widget.tk
    try:
        lines = str(tk.call("bind", widget._w, sequence)).split("\n")
        mine = "[%s " % funcid
        at = next((i for i, line in enumerate(lines) if mine in line), None)
        if at is not None:
            # `bind ... +script` joined it to the others with a newline
            # (tkinter's script line has its own): drop that one too.
            if at > 0 and not lines[at - 1]:
                del lines[at - 1:at + 1]
            elif at + 1 < len(lines) - 1 and not lines[at + 1]:
                del lines[at:at + 2]
            else:
                del lines[at]
            kept = "\n".join(lines)
            tk.call("bind", widget._w, sequence,
                    kept if kept.strip() else "")
    except tkinter.TclError:
        pass            # the window is gone, and its bindings with it
    try:
        widget.deletecommand(funcid)
    except tkinter.TclError:
        pass


async def event(widget: tkinter.Misc, sequence: str) -> tkinter.Event:
    """Wait for the next Tk event `sequence` (e.g. "<Return>",
    "<<ComboboxSelected>>") on `widget` and return it (a tkinter.Event).

    A binding is added (bind add="+", so the widget's own bindings still
    run) when the await starts, and removed -- that one alone -- after the
    event or when the waiting task is cancelled. If the widget is destroyed
    first, tkinter.TclError is raised. For "<Destroy>" only the widget's own
    destruction counts, not that of its children (which a toplevel's
    binding sees too): an awaitable wait_window().
    """
    if not isinstance(widget, tkinter.Misc):
        raise TypeError("tkuv.event() needs a tkinter widget, got %r"
                        % (widget,))
    waiter = _waiter("event")
    path = str(widget)
    bound = []

    def unbind():
        while bound:
            _remove_binding(widget, *bound.pop())

    def on_event(ev):
        if sequence == "<Destroy>" and str(ev.widget) != path:
            return
        waiter.set_result(ev)
        unbind()

    def on_destroy(ev):
        if str(ev.widget) == path:
            waiter.set_exception(tkinter.TclError(
                "window %s was destroyed while waiting for %s"
                % (path, sequence)))
            unbind()

    try:
        bound.append((sequence, widget.bind(sequence, on_event, add="+")))
        if sequence != "<Destroy>":
            bound.append(("<Destroy>",
                          widget.bind("<Destroy>", on_destroy, add="+")))
        return await waiter.wait()
    finally:
        unbind()


# -- Tk variables -----------------------------------------------------------

async def changed(var: tkinter.Variable) -> Any:
    """Wait for the next write to the tkinter Variable `var` (StringVar,
    IntVar, ...; a write of the same value counts, as for wait_variable)
    and return its new value, without a nested Tk loop. Raises what
    var.get() raises if the value does not convert (e.g. IntVar set to
    "abc"), and tkinter.TclError if the variable is unset first.
    """
    if not isinstance(var, tkinter.Variable):
        raise TypeError("tkuv.changed() needs a tkinter Variable, got %r"
                        % (var,))
    waiter = _waiter("changed")
    traced = []

    def untrace():
        while traced:
            try:
                var.trace_remove(("write", "unset"), traced.pop())
            except tkinter.TclError:
                pass

    def on_change(_name, _index, _op):
        try:
            waiter.set_result(var.get())
        except Exception as exc:    # unset, or a value that does not convert
            waiter.set_exception(exc)
        untrace()

    try:
        traced.append(var.trace_add(("write", "unset"), on_change))
        return await waiter.wait()
    finally:
        untrace()
