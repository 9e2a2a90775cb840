# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""tkuv.run() and tkuv.start_guest_run(): the two ways to start a guest."""

import asyncio
import gc
import sys
import tkinter
from asyncio import events

from ._guest import AsyncioHost, host_for_loop
from ._host import active_hosts
from ._trio import TrioHost

__all__ = ["run", "start_guest_run", "current_host"]

_FLAVORS = {"asyncio": AsyncioHost, "trio": TrioHost}


def _host_class(flavor, host_class):
    if host_class is not None:
        return host_class
    try:
        return _FLAVORS[flavor]
    except KeyError:
        raise ValueError("flavor must be 'asyncio' or 'trio', not %r"
                         % (flavor,)) from None


def _make_host(cls, root, loop_factory, debug):
    if issubclass(cls, AsyncioHost):
        return cls(root, loop_factory=loop_factory, debug=debug)
    if loop_factory is not None:
        raise TypeError("loop_factory is only for asyncio guests")
    return cls(root)


def _what_is_running():
    """Why a new run cannot start in this thread, or None."""
    if events._get_running_loop() is not None:
        return "an asyncio event loop is already running in this thread"
    if active_hosts():
        return "a tkuv guest run is already active in this thread"
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_trio_token()
        except RuntimeError:
            pass
        else:
            return "a Trio run is active in this thread"
    return None


def current_host():
    """The Host whose guest run is active in this thread (the asyncio one
    if there are several), or None. Useful from Tk callbacks, e.g.
    `tkuv.current_host().wake()`."""
    loop = events._get_running_loop()
    host = host_for_loop(loop) if loop is not None else None
    if host is None:
        hosts = active_hosts()
        host = hosts[0] if hosts else None
    return host


def start_guest_run(async_fn, *args, root, done_callback, loop_factory=None,
                    debug=False, flavor="asyncio", host_class=None):
    """Start `async_fn(*args)` as a guest of Tk's event loop and return the
    Host at once; the caller keeps running Tk (root.mainloop()).

    `done_callback(outcome)` is called exactly once, on the Tk thread, when
    the run has ended and its loop is closed; `outcome.unwrap()` returns the
    value or raises the exception (asyncio.CancelledError when cancelled).
    If `root` is destroyed first, the run is cancelled and finished at once
    without Tk, and done_callback is called before destroy returns.

    flavor="trio" runs `async_fn` with trio.lowlevel.start_guest_run instead
    (loop_factory does not apply). host_class: a Host subclass to use.
    """
    cls = _host_class(flavor, host_class)
    host = _make_host(cls, root, loop_factory, debug)
    if issubclass(cls, AsyncioHost):
        coro = async_fn(*args)
        if not asyncio.iscoroutine(coro):
            raise TypeError("async_fn must return a coroutine, got %r"
                            % (coro,))
        host.start(coro, done_callback)
    else:
        host.start(async_fn, args, done_callback)
    return host


def run(main, *, root=None, loop_factory=None, debug=False, flavor="asyncio",
        host_class=None):
    """Run the coroutine `main` with Tk's mainloop as its host and return
    its result (or raise its exception), like asyncio.run().

    root: the Tk root to use; by default a new tkinter.Tk() is created and
    destroyed at the end. loop_factory: e.g. uvloop.new_event_loop (default
    asyncio.new_event_loop). flavor="trio": `main` is a Trio coroutine.

    Closing the window ends the run: the first WM_DELETE_WINDOW (unless the
    application set its own handler) cancels the main coroutine and lets the
    loop shut down in guest mode, then destroys the window; a second one, or
    destroying the window (root.destroy(), Tcl's destroy), finishes the run
    at once, before the widgets go, and mainloop returning finishes it
    without Tk. In all cases remaining tasks are cancelled and run to
    completion, async generators and the default executor are shut down and
    the loop is closed. A run ended by the window returns None if `main`
    ended by that cancellation.

    Ctrl-C (SIGINT, in the main thread, with Python's default handler) does
    what it does in asyncio.run(): the first cancels the main coroutine and
    the run raises KeyboardInterrupt once it has ended; a second raises
    KeyboardInterrupt at once.

    Raises RuntimeError if a loop already runs in this thread.
    """
    why = _what_is_running()
    if why is not None:
        if asyncio.iscoroutine(main):
            main.close()
        raise RuntimeError("tkuv.run() cannot be called here: %s; start "
                           "tasks on the running loop instead" % why)
    cls = _host_class(flavor, host_class)
    if issubclass(cls, AsyncioHost):
        if not asyncio.iscoroutine(main):
            raise TypeError("tkuv.run() needs a coroutine object, got %r"
                            % (main,))
    elif not asyncio.iscoroutine(main) and not callable(main):
        raise TypeError("tkuv.run(flavor='trio') needs a coroutine object or "
                        "an async function, got %r" % (main,))

    own_root = root is None
    try:
        if own_root:
            root = tkinter.Tk()
        host = _make_host(cls, root, loop_factory, debug)
    except BaseException:
        if asyncio.iscoroutine(main):
            main.close()
        if own_root and root is not None:
            root.destroy()
        raise

    results = []

    def done(outcome):
        results.append(outcome)
        root.quit()     # mainloop returns; harmless if it is not running

    try:
        if issubclass(cls, AsyncioHost):
            host.start(main, done)
        else:
            fn = main if not asyncio.iscoroutine(main) else (lambda: main)
            host.start(fn, (), done)
        try:
            while not results:
                root.mainloop()
                if not results:
                    # Window destroyed, or someone called quit(): Tk will not
                    # tick the guest any more.
                    host.closed_by_host = True
                    host.finish()
        except BaseException as exc:
            # e.g. KeyboardInterrupt or SystemExit out of mainloop: end the
            # run like asyncio.run() does, then let it propagate.
            if not host.done():
                host._interrupt = exc
                host.finish()
            raise
    finally:
        if own_root:
            try:
                root.destroy()
            except tkinter.TclError:    # already destroyed
                pass
        # An exception raised from here keeps this frame alive in its
        # traceback; it must not lead back to Tk (see Host._deliver).
        root = None
    outcome = results.pop()
    by_window = host.closed_by_host
    host = None
    # The run leaves reference cycles behind (tasks, their frames, the
    # widgets those frames used, the loop). Collect them here, on the Tk
    # thread: freed later by a garbage collection that happens to run in
    # another thread, a widget holding the last reference to its Tcl
    # interpreter would make Tcl abort the process ("async handler deleted
    # by the wrong thread").
    gc.collect()
    if by_window and isinstance(outcome.error, asyncio.CancelledError):
        return None
    return outcome.unwrap()
