"""tk.call glue: load the tkuv Tcl package and wrap one `tkuv::guest` handle.

Nothing here knows about asyncio or Trio. A Guest owns a Tcl command (its
TICKCMD, backed by a Python function) and the guest handle that the C poll
thread drives; every method must be called on the thread that owns the Tcl
interpreter (the thread running the Tk mainloop).
"""

import itertools
import os
import tkinter

__all__ = ["require", "Guest"]

_serial = itertools.count(1)

# The repository root when running from a source checkout (python/tkuv/ is
# two levels below it); used only as a last resort by require().
_SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _fallback_dirs():
    dirs = []
    build = os.environ.get("TKUV_BUILD_DIR")
    if build:
        dirs.append(build)
    if os.path.exists(os.path.join(_SOURCE_ROOT, "pkgIndex.tcl")):
        dirs.append(_SOURCE_ROOT)
    return dirs


def require(tk):
    """`package require tkuv` in the interpreter `tk` (a tkapp, e.g. root.tk).

    An installed tkuv is found by Tcl itself. Otherwise the build tree named
    by $TKUV_BUILD_DIR, then this source checkout's root, are added to
    auto_path. Returns the package version.
    """
    try:
        return tk.call("package", "require", "tkuv")
    except tkinter.TclError:
        dirs = _fallback_dirs()
        if not dirs:
            raise
    for d in dirs:
        tk.call("lappend", "auto_path", d)
    return tk.call("package", "require", "tkuv")


class Guest:
    """One `tkuv::guest` handle: the C poll thread waits on `fd` and calls
    `on_tick()` on the Tk thread, which returns the next timeout in ms
    (-1: none, 0: now).
    """

    def __init__(self, tk, fd, on_tick):
        require(tk)
        self._tk = tk
        self._on_tick = on_tick
        # A global name that nothing else uses; deleted again in close().
        self._cmd = "::tkuv_py_tick%d_%d" % (os.getpid(), next(_serial))
        tk.createcommand(self._cmd, self._tick)
        try:
            self.name = str(tk.call("tkuv::guest", "create", "-fd", int(fd),
                                    "-command", self._cmd))
        except BaseException:
            tk.deletecommand(self._cmd)
            raise
        self.closed = False
        self._ticking = False

    def _tick(self, *_args):
        # Tcl appends "$guest tick" to the command; on_tick must not raise
        # ordinary exceptions (they would end Tk's mainloop, see _guest.py).
        if self.closed:
            return -1
        self._ticking = True
        try:
            return self._on_tick()
        finally:
            self._ticking = False
            if self.closed:
                # close() ran inside this tick: drop the command only now,
                # not while tkinter is still executing it.
                self._delete_command()

    def wake(self):
        """Make the guest tick again soon (coalesced by the C side; a wake
        during a tick still yields one more tick)."""
        if not self.closed:
            self._tk.call(self.name, "wake")

    def info(self):
        """`$g info` as a dict: waitable, ticks, wakeups, timeout (ints) and
        wait (the wait mode, "notifier" or "thread")."""
        words = self._tk.splitlist(self._tk.call(self.name, "info"))
        return {str(k): str(v) if str(k) == "wait" else int(v)
                for k, v in zip(words[::2], words[1::2])}

    def close(self):
        """Stop and join the poll thread (safe from inside our own tick)."""
        if self.closed:
            return
        self.closed = True
        try:
            self._tk.call(self.name, "close")
        finally:
            if not self._ticking:
                self._delete_command()

    def _delete_command(self):
        try:
            self._tk.deletecommand(self._cmd)
        except tkinter.TclError:
            pass
        # Hold the interpreter no longer: a tkapp kept alive by a reference
        # cycle may be freed by the garbage collector on another thread,
        # which Tcl punishes with an abort ("async handler deleted by the
        # wrong thread").
        self._tk = None
