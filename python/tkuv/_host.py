# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""The part of a guest run that does not depend on the guest loop.

A Host connects one guest event loop (asyncio, uvloop or Trio) to the Tk
interpreter of one root window. It owns the `tkuv::guest` handle, watches the
root window for destruction, and delivers the run's outcome exactly once.
Subclasses (AsyncioHost, TrioHost) supply the loop-specific steps.

Lifecycle: new -> running -> done. A run ends in one of two ways:

* in guest mode: the main coroutine finishes (or is cancelled with cancel()),
  the loop's cleanup runs in ticks while Tk stays responsive, then the host
  closes;
* natively (finish()): when Tk can no longer tick the guest -- the root
  window is being destroyed, or mainloop returned -- the guest's fd is no
  longer watched and the guest loop is driven to completion directly on
  this thread.

Closing the window. The run must end before the widgets go, so that finally
blocks can still use them; Tk destroys a window's children before its own
<Destroy> binding runs, so that binding is only the last resort. The host
catches destruction earlier, by every route it can see:

* the close button (WM_DELETE_WINDOW), when the application left tkinter's
  default handler: the first press cancels the main coroutine and lets the
  loop shut down in guest mode, the window is destroyed once the run is
  done; a second press destroys it at once (below);
* `destroy()` called on the Python object of the watched toplevel (or on an
  ancestor, which destroys it through it): the run is finished first. From
  inside the loop (a coroutine) it cannot be finished there and then, so the
  destruction waits until the loop returns to Tk, then the run is finished
  and the window destroyed;
* Tcl's `destroy` naming the window or an ancestor (an execution trace).

Interleaved code: a Tk callback (command=, bind, after, protocol, ...) that
touches the guest loop between ticks must take effect at once. The asyncio
host arms wrappers around the loop's scheduling methods for that; what they
cannot see (uvloop queues a transport write in C) is checked after every
Python callback that tkinter dispatches (see _watch_tk_callbacks).
"""

from __future__ import annotations

import itertools
import logging
import threading
import tkinter
from typing import Dict, List, Optional

from ._bridge import Guest
from ._outcome import Outcome

__all__ = ["Host"]

logger = logging.getLogger("tkuv")

_serial = itertools.count(1)

# Hosts that have started and not yet finished, by thread id: tkuv.run()
# refuses to nest inside any of them.
_active: Dict[int, set] = {}


def active_hosts(thread_id: Optional[int] = None) -> List[Host]:
    return list(_active.get(thread_id or threading.get_ident(), ()))


def _watch_tk_callbacks():
    """Wrap tkinter's CallWrapper (every Python callback that tkinter
    registers with Tcl: command=, bind, after, protocol, trace, ...) so that
    after each one the hosts active in this thread can check what it did to
    their loop. Installed once, at import: tkinter binds CallWrapper.__call__
    when a callback is registered, so callbacks registered before tkuv was
    imported are not seen. Costs one dict lookup per callback when no host
    is active."""
    cls = tkinter.CallWrapper
    if getattr(cls.__call__, "_tkuv_wrapped", False):
        return
    call = cls.__call__

    def __call__(self, *args):
        try:
            return call(self, *args)
        finally:
            hosts = _active.get(threading.get_ident())
            if hosts:
                for host in tuple(hosts):
                    host._after_tk_callback()

    __call__._tkuv_wrapped = True
    __call__.__wrapped__ = call
    cls.__call__ = __call__


_watch_tk_callbacks()


class Host:
    """Base class of the loop drivers. Overridable hooks:

    * wake(): make the guest tick again soon (default: `$g wake`).
    * report_exception(exc, message): where errors that have no other home
      go (default: the loop's exception handler, else the "tkuv" logger).

    Public state: `root` (None once done: see _deliver), `outcome` (None
    until done), `closed_by_host` (True when the window, not the coroutine,
    ended the run), `guest` (the Tcl handle name).
    """

    flavor: Optional[str] = None

    def __init__(self, root: tkinter.Misc) -> None:
        if not isinstance(root, tkinter.Misc):
            raise TypeError("root must be a tkinter widget (e.g. tkinter.Tk())"
                            ", got %r" % (root,))
        self.root: Optional[tkinter.Misc] = root
        self.tk = root.tk
        self.outcome: Optional[Outcome] = None
        self.closed_by_host = False
        self._done_callback = None
        self._guest = None
        self._state = "new"
        self._in_tick = False
        self._finish_requested = False
        self._interrupt = None      # a BaseException that ended the run
        self._thread = threading.get_ident()
        self._fd = None
        self._suspended = False
        self._destroy_tag = None
        self._commands = []         # Tcl commands of ours (_own_command)
        self._executing = set()
        self._doomed = set()
        self._tk_for_commands = None
        self._top = None            # the watched toplevel's Python object
        self._trace_cmd = None
        self._close_cmd = None      # our WM_DELETE_WINDOW handler
        self._old_close = None
        self._close_requested = False   # by the close button
        self._destroy_when_done = False

    # -- public -----------------------------------------------------------

    @property
    def guest(self) -> Optional[str]:
        return self._guest.name if self._guest is not None else None

    def done(self) -> bool:
        return self._state == "done"

    def guest_info(self) -> Optional[Dict[str, int]]:
        """The C side's counters (`$g info`) as a dict, or None when closed."""
        if self._guest is None or self._guest.closed:
            return None
        return self._guest.info()

    def wake(self) -> None:
        """Hook: have the C side hand us a tick soon. Tk thread only."""
        if self._guest is not None and not self._suspended:
            self._guest.wake()

    def cancel(self) -> None:
        """Ask the main coroutine to stop; the run then ends in guest mode."""
        raise NotImplementedError

    def finish(self) -> None:
        """Drive the run to its end now, without Tk: cancels the main
        coroutine if still running, stops watching the guest's fd and runs
        the guest loop directly until the outcome is delivered. Called
        automatically when the root window is destroyed. Inside a tick it is
        deferred to the end of that tick.
        """
        if self._state != "running":
            return
        if self._in_tick or self._busy():
            self._finish_requested = True
            return
        self._state = "finishing"
        try:
            self._guest.close()
            self._finish_natively()
        except BaseException as exc:
            self._force_close(exc)
            if not isinstance(exc, Exception):
                raise

    def report_exception(self, exc: BaseException, message: str) -> None:
        """Hook: an error that belongs to no task (e.g. a done_callback that
        raised)."""
        logger.error("%s", message, exc_info=exc)

    # -- for subclasses ---------------------------------------------------

    def _start_guest(self, fd, done_callback):
        """Create the guest handle on fd and watch the root window."""
        self._done_callback = done_callback
        self._fd = fd
        self._guest = Guest(self.tk, fd, self._guest_tick)
        self._state = "running"
        _active.setdefault(self._thread, set()).add(self)
        try:
            self._watch_root()
        except BaseException:
            self._guest.close()
            self._forget()
            raise

    def _tick(self):
        """One step of the guest loop; returns the next timeout in ms."""
        raise NotImplementedError

    def _busy(self):
        """True while the guest loop is running code (finish must wait)."""
        return False

    def _after_tk_callback(self):
        """Hook: a Tk callback has just run (see _watch_tk_callbacks)."""

    def _suspend(self):
        """A tick arrived while the loop is already running code, from a
        nested Tk event loop (a dialog, update(), wait_window) entered by a
        step that is not itself a tick (an eager asyncslot start; the C side
        never re-enters a tick). The loop cannot run now, and returning at
        once would only bring the same readiness back at once: a spin. So
        stop watching the fd; _resume() watches it again when the step is
        over."""
        if not self._suspended:
            self._suspended = True
            self._guest.close()

    def _resume(self):
        """After a step outside a tick: restart a suspended guest (its first
        tick comes at once), or make the C side recompute its timeout."""
        if self._state != "running":
            return
        if self._suspended:
            self._suspended = False
            self._guest = Guest(self.tk, self._fd, self._guest_tick)
        else:
            self.wake()

    def _finish_natively(self):
        """Run the guest loop to completion without Tk; must end in
        _deliver()."""
        raise NotImplementedError

    def _release(self):
        """Free loop resources after the guest handle is closed."""

    def _deliver(self, outcome):
        """Close everything and call done_callback(outcome), exactly once."""
        if self._state == "done":
            return
        if self._interrupt is not None:
            from ._outcome import Error
            outcome = Error(self._interrupt)
        self._state = "done"
        self.outcome = outcome
        top = self._top
        try:
            if self._guest is not None:
                self._guest.close()
            self._release()
        except Exception as exc:    # still call done_callback below
            self.report_exception(exc, "closing the guest failed")
        finally:
            self._forget()
        callback, self._done_callback = self._done_callback, None
        try:
            if callback is not None:
                try:
                    callback(outcome)
                except Exception as exc:
                    self.report_exception(exc, "done_callback raised")
            if (self._destroy_when_done or self._close_requested) \
                    and top is not None:
                # Asked for while the loop ran (see the module docstring).
                try:
                    if top.winfo_exists():
                        top.destroy()
                except tkinter.TclError:
                    pass
        finally:
            # The host sits in reference cycles (closures, the loop, an
            # exception's traceback). If one of them held the Tk interpreter
            # and the garbage collector ran on another thread, Tcl would
            # abort the process; so let go of Tk now.
            self._interrupt = None
            self.root = self.tk = None

    # -- internals --------------------------------------------------------

    def _guest_tick(self):
        # Called by the C side through Guest._tick. A Python exception
        # escaping a createcommand callback would make tkinter's mainloop
        # raise it, so nothing may escape here.
        if self._state != "running":
            return -1
        if self._in_tick or self._busy():
            self._suspend()
            return -1
        self._in_tick = True
        try:
            timeout = self._tick()
        except BaseException as exc:
            # KeyboardInterrupt / SystemExit out of a callback, as with
            # asyncio.run(): the run ends with that exception after its
            # cleanup. Anything else is a bug here or a broken loop.
            if isinstance(exc, Exception):
                self.report_exception(exc, "guest tick failed; ending the run")
            self._interrupt = exc
            self._finish_requested = True
            timeout = -1
        finally:
            self._in_tick = False
        if self._finish_requested and self._state == "running":
            self._finish_requested = False
            self.finish()
        if self._suspended:
            self._resume()      # a new guest; its first tick comes at once
            return -1
        return timeout if self._state == "running" else -1

    def _force_close(self, exc):
        """Last resort when finishing failed: deliver an error outcome."""
        from ._outcome import Error
        if self._state != "done":
            self.report_exception(exc, "could not finish the guest run")
            self._deliver(Error(exc))

    def _watch_root(self):
        n = next(_serial)
        top = self.root.winfo_toplevel()
        path = self._watched_path = top._w
        self._top = top
        self._tk_for_commands = self.tk
        # Last resort: a bind tag on the toplevel alone (<Destroy> of child
        # widgets does not pass through it, and no binding of the
        # application is replaced).
        self._destroy_tag = "tkuv_host%d" % n
        cmd = self._own_command("::tkuv_py_destroy%d" % n,
                                self._on_root_destroyed)
        self.tk.call("bind", self._destroy_tag, "<Destroy>", cmd)
        tags = self.tk.splitlist(self.tk.call("bindtags", path))
        self.tk.call("bindtags", path, tags + (self._destroy_tag,))
        # Python: destroy() on the toplevel's object, or on an ancestor
        # (tkinter destroys children one by one, through their objects).
        top.destroy = self._destroy_requested
        # Tcl: `destroy` naming it or an ancestor.
        self._trace_cmd = self._own_command("::tkuv_py_predestroy%d" % n,
                                            self._tcl_destroy_traced)
        self.tk.call("trace", "add", "execution", "destroy", "enter",
                     self._trace_cmd)
        # The close button, unless the application has its own handler.
        old = str(self.tk.call("wm", "protocol", path, "WM_DELETE_WINDOW"))
        if _default_close_handler(old):
            self._old_close = old
            self._close_cmd = self._own_command("::tkuv_py_close%d" % n,
                                                self._close_button)
            self.tk.call("wm", "protocol", path, "WM_DELETE_WINDOW",
                         self._close_cmd)

    def _own_command(self, name, fn):
        """Create Tcl command `name` running fn; _unwatch_root() deletes it,
        after it returns if it is running then."""
        def command(*args):
            self._executing.add(name)
            try:
                return fn(*args)
            except Exception as exc:
                self.report_exception(exc, "%s failed" % (fn.__name__,))
            finally:
                self._executing.discard(name)
                if name in self._doomed:
                    self._doomed.discard(name)
                    self._delete_command(self._tk_for_commands, name)
                    if not self._doomed:
                        self._tk_for_commands = None    # see _deliver
        self.tk.createcommand(name, command)
        self._commands.append(name)
        return name

    def _close_button(self):
        if self._state == "running" and not self._close_requested:
            # First press: a graceful end, in guest mode; the window goes
            # when the run is done.
            self._close_requested = True
            self.closed_by_host = True
            self.cancel()
        elif self._top is not None:
            self._top.destroy()     # second press: finish at once

    def _destroy_requested(self):
        """destroy() on the watched toplevel's object: finish the run
        first, while the widgets still exist."""
        top = self._top
        if self._state == "running":
            self.closed_by_host = True
            if self._in_tick or self._busy():
                # Called by the loop's own code: finish (and destroy) when
                # the loop has returned to Tk.
                self._destroy_when_done = True
                self._finish_requested = True
                return
            self.finish()
        if top is not None:
            type(top).destroy(top)

    def _tcl_destroy_traced(self, command, *_op):
        if self._state != "running" or self._in_tick or self._busy():
            return      # inside the loop: the <Destroy> binding finishes
        mine = self._watched_path
        for p in self.tk.splitlist(command)[1:]:
            p = str(p)
            if p == mine or p == "." or mine.startswith(p + "."):
                self.closed_by_host = True
                self.finish()
                return

    def _on_root_destroyed(self, *_args):
        if self._state == "running":
            self.closed_by_host = True
            self.finish()

    def _forget(self):
        hosts = _active.get(self._thread)
        if hosts is not None:
            hosts.discard(self)
            if not hosts:
                del _active[self._thread]
        self._unwatch_root()

    def _unwatch_root(self):
        if self._destroy_tag is None:
            return
        tk, tag, path = self.tk, self._destroy_tag, self._watched_path
        self._destroy_tag = None
        top, self._top = self._top, None
        if top is not None and \
                top.__dict__.get("destroy") == self._destroy_requested:
            del top.destroy
        try:
            if self._trace_cmd is not None:
                tk.call("trace", "remove", "execution", "destroy", "enter",
                        self._trace_cmd)
            tk.call("bind", tag, "<Destroy>", "")
            if tk.getboolean(tk.call("winfo", "exists", path)):
                tags = tk.splitlist(tk.call("bindtags", path))
                tk.call("bindtags", path, tuple(t for t in tags if t != tag))
                if self._close_cmd is not None and str(tk.call(
                        "wm", "protocol", path, "WM_DELETE_WINDOW")) \
                        == self._close_cmd:
                    tk.call("wm", "protocol", path, "WM_DELETE_WINDOW",
                            self._old_close)
        except tkinter.TclError:
            pass
        for name in self._commands:
            if name in self._executing:
                self._doomed.add(name)      # see _own_command
            else:
                self._delete_command(tk, name)
        self._commands = []
        if not self._doomed:
            self._tk_for_commands = None    # see _deliver

    @staticmethod
    def _delete_command(tk, cmd):
        try:
            tk.deletecommand(cmd)
        except tkinter.TclError:
            pass


def _default_close_handler(cmd):
    """True if the WM_DELETE_WINDOW command is unset or still tkinter's
    default (Tk() registers its destroy method, as "<digits>destroy")."""
    return not cmd or (cmd.endswith("destroy") and cmd[:-7].isdigit())
