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
  window was destroyed, or mainloop returned -- the poll thread is stopped and
  the guest loop is driven to completion directly on this thread.
"""

import itertools
import sys
import threading
import tkinter
import traceback

from ._bridge import Guest

__all__ = ["Host"]

_serial = itertools.count(1)

# Hosts that have started and not yet finished, by thread id: tkuv.run()
# refuses to nest inside any of them.
_active = {}


def active_hosts(thread_id=None):
    return list(_active.get(thread_id or threading.get_ident(), ()))


class Host:
    """Base class of the loop drivers. Overridable hooks:

    * wake(): make the guest tick again soon (default: `$g wake`).
    * report_exception(exc, message): where errors that have no other home
      go (default: the loop's exception handler, else stderr).

    Public state: `root` (None once done: see _deliver), `outcome` (None
    until done), `closed_by_host` (True when the window, not the coroutine,
    ended the run), `guest` (the Tcl handle name).
    """

    flavor = None

    def __init__(self, root):
        if not isinstance(root, tkinter.Misc):
            raise TypeError("root must be a tkinter widget (e.g. tkinter.Tk())"
                            ", got %r" % (root,))
        self.root = root
        self.tk = root.tk
        self.outcome = None
        self.closed_by_host = False
        self._done_callback = None
        self._guest = None
        self._state = "new"
        self._in_tick = False
        self._finish_requested = False
        self._interrupt = None      # a BaseException that ended the run
        self._thread = threading.get_ident()
        self._destroy_tag = None
        self._destroy_cmd = None
        self._in_destroy_handler = False

    # -- public -----------------------------------------------------------

    @property
    def guest(self):
        return self._guest.name if self._guest is not None else None

    def done(self):
        return self._state == "done"

    def guest_info(self):
        """The C side's counters (`$g info`) as a dict, or None when closed."""
        if self._guest is None or self._guest.closed:
            return None
        return self._guest.info()

    def wake(self):
        """Hook: make the C poll thread hand us a tick soon. Tk thread only."""
        if self._guest is not None:
            self._guest.wake()

    def cancel(self):
        """Ask the main coroutine to stop; the run then ends in guest mode."""
        raise NotImplementedError

    def finish(self):
        """Drive the run to its end now, without Tk: cancels the main
        coroutine if still running, stops the poll thread and runs the guest
        loop directly until the outcome is delivered. Called automatically
        when the root window is destroyed. Inside a tick it is deferred to the
        end of that tick.
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

    def report_exception(self, exc, message):
        """Hook: an error that belongs to no task (e.g. a done_callback that
        raised)."""
        print("tkuv: %s" % message, file=sys.stderr)
        traceback.print_exception(type(exc), exc, exc.__traceback__)

    # -- for subclasses ---------------------------------------------------

    def _start_guest(self, fd, done_callback):
        """Create the guest handle on fd and watch the root window."""
        self._done_callback = done_callback
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
        return timeout if self._state == "running" else -1

    def _force_close(self, exc):
        """Last resort when finishing failed: deliver an error outcome."""
        from ._outcome import Error
        if self._state != "done":
            self.report_exception(exc, "could not finish the guest run")
            self._deliver(Error(exc))

    def _watch_root(self):
        # A bind tag on the root alone: <Destroy> of child widgets does not
        # pass through it (their bindtags name their toplevel, not this tag),
        # and no binding of the application is replaced.
        n = next(_serial)
        self._destroy_tag = "tkuv_host%d" % n
        self._destroy_cmd = "::tkuv_py_destroy%d" % n
        self.tk.createcommand(self._destroy_cmd, self._on_root_destroyed)
        self.tk.call("bind", self._destroy_tag, "<Destroy>",
                     self._destroy_cmd)
        path = self.root.winfo_toplevel()._w
        tags = self.tk.splitlist(self.tk.call("bindtags", path))
        self.tk.call("bindtags", path, tags + (self._destroy_tag,))
        self._watched_path = path

    def _on_root_destroyed(self, *_args):
        cmd, tk = self._destroy_cmd, self.tk
        self._in_destroy_handler = True
        try:
            if self._state == "running":
                self.closed_by_host = True
                self.finish()
        finally:
            self._in_destroy_handler = False
            if self._destroy_cmd is None and cmd is not None:
                # _unwatch_root() ran inside this handler: drop the command
                # now that tkinter is no longer executing it.
                self._delete_command(tk, cmd)

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
        tag, cmd = self._destroy_tag, self._destroy_cmd
        self._destroy_tag = self._destroy_cmd = None
        try:
            path = self._watched_path
            if self.tk.getboolean(self.tk.call("winfo", "exists", path)):
                tags = self.tk.splitlist(self.tk.call("bindtags", path))
                self.tk.call("bindtags", path,
                             tuple(t for t in tags if t != tag))
            self.tk.call("bind", tag, "<Destroy>", "")
        except tkinter.TclError:
            pass
        if not self._in_destroy_handler:
            self._delete_command(self.tk, cmd)

    @staticmethod
    def _delete_command(tk, cmd):
        try:
            tk.deletecommand(cmd)
        except tkinter.TclError:
            pass
