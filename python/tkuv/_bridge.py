# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""tk.call glue: load the tkuv Tcl package and wrap one `tkuv::guest` handle.

Nothing here knows about asyncio or Trio. A Guest owns a Tcl command (its
TICKCMD, backed by a Python function) and the guest handle that calls it;
every method must be called on the thread that owns the Tcl interpreter
(the thread running the Tk mainloop).
"""

from __future__ import annotations

import itertools
import os
import tkinter
from typing import Any, Callable, Dict, List, Union

__all__ = ["require", "Guest", "VERSION"]

_serial = itertools.count(1)

_HERE = os.path.dirname(os.path.abspath(__file__))

# The Tcl package that pip's build ships inside this Python package (see
# setup.py); absent in a source checkout and after `make install`.
_BUNDLED = os.path.join(_HERE, "_tcl")

# The repository root when running from a source checkout (python/tkuv/ is
# two levels below it); used only as a last resort by require().
_SOURCE_ROOT = os.path.dirname(os.path.dirname(_HERE))


def _find_version() -> str:
    """tkuv's version: from _version.py, which pip's build and `make
    install` write; in a source checkout, from the repository's VERSION
    file; else from the installed distribution's metadata."""
    try:
        from ._version import version
        return str(version)
    except ImportError:
        pass
    try:
        with open(os.path.join(_SOURCE_ROOT, "VERSION"),
                  encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        pass
    from importlib import metadata
    try:
        return metadata.version("tkuv")
    except metadata.PackageNotFoundError:
        return "0+unknown"


VERSION = _find_version()


def _fallback_dirs() -> List[str]:
    dirs = []
    build = os.environ.get("TKUV_BUILD_DIR")
    if build:
        dirs.append(build)
    if os.path.exists(os.path.join(_SOURCE_ROOT, "pkgIndex.tcl")):
        dirs.append(_SOURCE_ROOT)
    return dirs


def _auto_path_first(tk: Any, directory: str) -> None:
    """Put directory at the front of auto_path, unless already on it: Tcl
    reads the first directories' pkgIndex.tcl last, so for an equal version
    their `package ifneeded` wins."""
    paths = [str(p) for p in tk.splitlist(tk.call("set", "::auto_path"))]
    if directory not in paths:
        tk.call("set", "::auto_path", tuple([directory] + paths))


def require(tk: Any) -> str:
    """`package require tkuv` in the interpreter `tk` (a tkapp, e.g. root.tk).

    Installed by pip, the Tcl package comes from this Python package's own
    folder (tkuv/_tcl/, put first on auto_path), in exactly its version.
    Otherwise an installed tkuv is found by Tcl itself, and failing that
    the build tree named by $TKUV_BUILD_DIR, then this source checkout's
    root, are added to auto_path. Returns the Tcl package's version.
    """
    if os.path.isfile(os.path.join(_BUNDLED, "pkgIndex.tcl")):
        _auto_path_first(tk, _BUNDLED)
        return str(tk.call("package", "require", "-exact", "tkuv", VERSION))
    try:
        return str(tk.call("package", "require", "tkuv"))
    except tkinter.TclError:
        dirs = _fallback_dirs()
        if not dirs:
            raise
    for d in dirs:
        tk.call("lappend", "auto_path", d)
    return str(tk.call("package", "require", "tkuv"))


class Guest:
    """One `tkuv::guest` handle: the C side watches `fd` (through Tcl's
    notifier, or a poll thread of its own: tkuv::waitmode) and calls
    `on_tick()` on the Tk thread when it is readable, when the last
    timeout has passed, or after wake(); on_tick returns the next timeout
    in ms (-1: none, 0: now).
    """

    def __init__(self, tk: Any, fd: int, on_tick: Callable[[], int]) -> None:
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

    def _tick(self, *_args: Any) -> int:
        # Tcl appends "$guest tick" to the command; on_tick must not raise
        # ordinary exceptions (they would end Tk's mainloop, see
        # Host._guest_tick).
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

    def wake(self) -> None:
        """Make the guest tick again soon (coalesced by the C side; a wake
        during a tick still yields one more tick)."""
        if not self.closed:
            self._tk.call(self.name, "wake")

    def info(self) -> Dict[str, Union[int, str]]:
        """`$g info` as a dict: waitable, ticks, wakeups, timeout (ints) and
        wait (the wait mode, "notifier" or "thread")."""
        words = self._tk.splitlist(self._tk.call(self.name, "info"))
        return {str(k): str(v) if str(k) == "wait" else int(v)
                for k, v in zip(words[::2], words[1::2])}

    def close(self) -> None:
        """Stop watching the fd: `$g close` (safe from inside our own
        tick)."""
        if self.closed:
            return
        self.closed = True
        try:
            self._tk.call(self.name, "close")
        finally:
            if not self._ticking:
                self._delete_command()

    def _delete_command(self) -> None:
        try:
            self._tk.deletecommand(self._cmd)
        except tkinter.TclError:
            pass
        # Hold the interpreter no longer: a tkapp kept alive by a reference
        # cycle may be freed by the garbage collector on another thread,
        # which Tcl punishes with an abort ("async handler deleted by the
        # wrong thread").
        self._tk = None
