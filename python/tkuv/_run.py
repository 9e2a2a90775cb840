# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""tkuv.run(), tkuv.Runner and tkuv.start_guest_run(): the ways to start a
guest."""

import asyncio
import contextvars
import gc
import sys
import tkinter
from asyncio import events
from typing import Any, Awaitable, Callable, Coroutine, Optional, Type, Union

from ._asyncio_host import AsyncioHost, host_for_loop, shut_down
from ._host import Host, active_hosts
from ._outcome import Outcome
from ._trio import TrioHost

__all__ = ["run", "Runner", "start_guest_run", "current_host"]

_FLAVORS = {"asyncio": AsyncioHost, "uvloop": AsyncioHost, "trio": TrioHost}


def _host_class(flavor, host_class):
    if flavor not in _FLAVORS:
        raise ValueError("flavor must be 'asyncio', 'uvloop' or 'trio', not "
                         "%r" % (flavor,))
    return host_class if host_class is not None else _FLAVORS[flavor]


def _flavor_loop_factory(flavor, loop_factory):
    """flavor="uvloop" is flavor="asyncio" with uvloop's loops."""
    if flavor != "uvloop":
        return loop_factory
    if loop_factory is not None:
        raise TypeError("flavor='uvloop' chooses the loop; pass loop_factory "
                        "with flavor='asyncio'")
    import uvloop
    return uvloop.new_event_loop


# start_guest_run() arguments that the Trio host supplies itself.
_TRIO_OWN = frozenset((
    "run_sync_soon_threadsafe", "run_sync_soon_not_threadsafe",
    "done_callback", "host_uses_signal_set_wakeup_fd"))


def _check_options(cls, loop_factory, trio_options):
    """Refuse options that do not apply to the flavor of host class cls."""
    if issubclass(cls, AsyncioHost):
        if trio_options:
            raise TypeError("%s: only for flavor='trio'"
                            % ", ".join(sorted(trio_options)))
        return
    if loop_factory is not None:
        raise TypeError("loop_factory is only for asyncio guests")
    own = _TRIO_OWN.intersection(trio_options)
    if own:
        raise TypeError("%s: tkuv passes this to Trio itself"
                        % ", ".join(sorted(own)))


def _make_host(cls, root, loop_factory, debug):
    if issubclass(cls, AsyncioHost):
        return cls(root, loop_factory=loop_factory, debug=debug)
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


def current_host() -> Optional[Host]:
    """The Host whose guest run is active in this thread (the asyncio one
    if there are several), or None. Useful from Tk callbacks, e.g.
    `tkuv.current_host().wake()`."""
    loop = events._get_running_loop()
    host = host_for_loop(loop) if loop is not None else None
    if host is None:
        hosts = active_hosts()
        host = hosts[0] if hosts else None
    return host


def start_guest_run(async_fn: Callable[..., Awaitable[Any]], *args: Any,
                    root: tkinter.Misc,
                    done_callback: Callable[[Outcome], None],
                    loop_factory: Optional[
                        Callable[[], asyncio.AbstractEventLoop]] = None,
                    debug: bool = False, flavor: str = "asyncio",
                    host_class: Optional[Type[Host]] = None,
                    **trio_options: Any) -> Host:
    """Start `async_fn(*args)` as a guest of Tk's event loop and return the
    Host at once; the caller keeps running Tk (root.mainloop()).

    `done_callback(outcome)` is called exactly once, on the Tk thread, when
    the run has ended and its loop is closed; `outcome.unwrap()` returns the
    value or raises the exception (asyncio.CancelledError when cancelled).
    If `root` is destroyed first, the run is cancelled and finished at once
    without Tk, and done_callback is called before destroy returns.

    flavor="uvloop" is short for loop_factory=uvloop.new_event_loop.
    flavor="trio" runs `async_fn` with trio.lowlevel.start_guest_run instead
    (loop_factory does not apply; trio_options such as clock, instruments
    and strict_exception_groups are passed on to Trio). host_class: a Host
    subclass to use.
    """
    cls = _host_class(flavor, host_class)
    _check_options(cls, loop_factory, trio_options)
    loop_factory = _flavor_loop_factory(flavor, loop_factory)
    host = _make_host(cls, root, loop_factory, debug)
    if issubclass(cls, AsyncioHost):
        coro = async_fn(*args)
        if not asyncio.iscoroutine(coro):
            raise TypeError("async_fn must return a coroutine, got %r"
                            % (coro,))
        host.start(coro, done_callback)
    else:
        host.start(async_fn, args, done_callback, **trio_options)
    return host




async def _nothing():
    pass


class Runner:
    """asyncio.Runner's shape with Tk's mainloop as the host: a context
    manager that runs coroutines one after another on one event loop.

        with tkuv.Runner(root=root, loop_factory=uvloop.new_event_loop) as r:
            r.run(connect())
            r.run(main())

    Each run() is a guest run as in tkuv.run(): it returns when its
    coroutine has finished (Tk keeps running meanwhile), with its result or
    exception. Other tasks stay on the loop, paused between runs, and carry
    on in the next one; close() (or leaving the `with`) cancels them, shuts
    down async generators and the default executor, and closes the loop,
    in guest mode while the window exists; then it destroys the root if the
    Runner created it. A run ended by the window (or by root.quit())
    shuts the loop down at once: the Runner cannot run again afterwards.

    root: the Tk root (default: a new tkinter.Tk(), created on first use).
    loop_factory, debug: as for asyncio.Runner (debug=None leaves the
    loop's setting). flavor="uvloop": loop_factory=uvloop.new_event_loop.
    flavor="trio": every run() is a Trio run of its own
    (there is no loop to keep), and trio_options (clock, instruments,
    strict_exception_groups, ...) go to trio.lowlevel.start_guest_run.
    """

    def __init__(self, *, root: Optional[tkinter.Misc] = None,
                 flavor: str = "asyncio",
                 loop_factory: Optional[
                     Callable[[], asyncio.AbstractEventLoop]] = None,
                 debug: Optional[bool] = None,
                 host_class: Optional[Type[Host]] = None,
                 **trio_options: Any) -> None:
        self._cls = _host_class(flavor, host_class)
        _check_options(self._cls, loop_factory, trio_options)
        self._asyncio = issubclass(self._cls, AsyncioHost)
        self._root = root
        self._own_root = root is None
        self._loop_factory = _flavor_loop_factory(flavor, loop_factory)
        self._debug = debug
        self._trio_options = trio_options
        self._loop = None
        self._context = None
        self._state = "new"         # -> "initialized" -> "closed"

    def __enter__(self) -> "Runner":
        self._lazy_init()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close()

    @property
    def root(self) -> Optional[tkinter.Misc]:
        """The Tk root the runs use (created on first use if the Runner
        makes its own); None once closed."""
        if self._state == "new":
            self._lazy_init()
        return self._root

    def get_loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the runs use (created on first use)."""
        if not self._asyncio:
            raise RuntimeError("a Runner(flavor='trio') has no asyncio "
                               "event loop")
        self._lazy_init()
        return self._loop

    def run(self, coro: Coroutine[Any, Any, Any], *,
            context: Optional[contextvars.Context] = None) -> Any:
        """Run the coroutine `coro` on the loop, as a guest of Tk, and return
        its result or raise its exception. context: the contextvars.Context
        to run it in (default: one shared by all runs, as asyncio.Runner
        does; Trio ignores it). Closing the window ends the run as in
        tkuv.run() (None if `coro` ended by that cancellation); Ctrl-C
        cancels `coro` and raises KeyboardInterrupt."""
        return self._run(coro, context, final=False, who="Runner.run()")

    def close(self) -> None:
        """Shut the loop down and close it (see the class docstring); then
        destroy the root if the Runner created it. Calling it again does
        nothing."""
        if self._state != "initialized":
            return
        why = _what_is_running()
        if why is not None:
            raise RuntimeError("Runner.close() cannot be called here: %s"
                               % (why,))
        try:
            loop = self._loop
            if loop is not None and not loop.is_closed():
                if _alive(self._root):
                    self._run(_nothing(), None, final=True,
                              who="Runner.close()")
                else:
                    _shut_down_natively(loop)
        finally:
            self._state = "closed"
            root, self._root, self._loop = self._root, None, None
            if self._own_root and root is not None:
                try:
                    root.destroy()
                except tkinter.TclError:    # already destroyed
                    pass
            root = None
            # The runs leave reference cycles behind (tasks, their frames,
            # the widgets those frames used, the loop). Collect them here,
            # on the Tk thread: freed later by a garbage collection that
            # happens to run in another thread, a widget holding the last
            # reference to its Tcl interpreter would make Tcl abort the
            # process ("async handler deleted by the wrong thread").
            gc.collect()

    def _lazy_init(self):
        if self._state == "closed":
            raise RuntimeError("this tkuv.Runner is closed")
        if self._state == "initialized":
            return
        if self._own_root:
            self._root = tkinter.Tk()
        if self._asyncio:
            try:
                factory = self._loop_factory or asyncio.new_event_loop
                self._loop = factory()
                if self._debug is not None:
                    self._loop.set_debug(self._debug)
            except BaseException:
                if self._loop is not None:
                    self._loop.close()
                    self._loop = None
                if self._own_root:
                    self._root.destroy()
                    self._root = None
                raise
            self._context = contextvars.copy_context()
        self._state = "initialized"

    def _run(self, main, context, *, final, who):
        """One guest run of `main` in Tk's mainloop. final: the loop is shut
        down and closed at the end of the run, in guest mode (tkuv.run(),
        close()); otherwise it is kept for the next run."""
        try:
            self._check_run(main, who)
            host = _make_host(self._cls, self._root,
                              (lambda loop=self._loop: loop)
                              if self._asyncio else None, False)
        except BaseException:
            if asyncio.iscoroutine(main):
                main.close()        # no "never awaited" warning
            raise
        if self._asyncio:
            host.keep_loop = not final
            context = context or self._context
            outcome = _drive(host, lambda done: host.start(
                main, done, context=context))
        else:
            fn = main if not asyncio.iscoroutine(main) else (lambda: main)
            outcome = _drive(host, lambda done: host.start(
                fn, (), done, **self._trio_options))
        by_window = host.closed_by_host
        host = None         # not in the traceback of what unwrap() raises
        if by_window and isinstance(outcome.error, asyncio.CancelledError):
            return None
        return outcome.unwrap()

    def _check_run(self, main, who):
        """Refuse a run that cannot start here; make the root and loop on
        first use. (No local variable holds the root: a traceback through
        here must not lead back to Tk, see Host._deliver.)"""
        why = ("this tkuv.Runner is closed" if self._state == "closed"
               else _what_is_running())
        if why is not None:
            raise RuntimeError("%s cannot be called here: %s; start tasks "
                               "on the running loop instead" % (who, why))
        if self._asyncio:
            if not asyncio.iscoroutine(main):
                raise TypeError("%s needs a coroutine object, got %r"
                                % (who, main))
        elif not asyncio.iscoroutine(main) and not callable(main):
            raise TypeError("%s with flavor='trio' needs a coroutine object "
                            "or an async function, got %r" % (who, main))
        self._lazy_init()
        if not _alive(self._root):
            raise RuntimeError("%s: the root window was destroyed" % (who,))
        if self._loop is not None and self._loop.is_closed():
            raise RuntimeError("%s: the loop is closed (a run that the "
                               "window, or quit(), ended shut it down)"
                               % (who,))


def _drive(host, start):
    """start(done_callback) the host's run, and run Tk's mainloop until the
    run has ended; returns its outcome."""
    results = []
    root = host.root

    def done(outcome):
        results.append(outcome)
        root.quit()     # mainloop returns; harmless if it is not running

    try:
        start(done)
        try:
            while not results:
                root.mainloop()
                if not results:
                    # Window destroyed, or someone called quit(): Tk will
                    # not tick the guest any more.
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
        # An exception raised from here keeps this frame alive in its
        # traceback; it must not lead back to Tk (see Host._deliver).
        root = None
    return results.pop()


def _alive(root):
    try:
        return root is not None and bool(root.winfo_exists())
    except tkinter.TclError:        # the application was destroyed
        return False


def _shut_down_natively(loop):
    """Runner.close() without a window: what asyncio.Runner.close() does."""
    try:
        loop.run_until_complete(shut_down(loop, "tkuv.Runner"))
    finally:
        loop.close()


def run(main: Union[Coroutine[Any, Any, Any], Callable[..., Awaitable[Any]]],
        *, root: Optional[tkinter.Misc] = None,
        loop_factory: Optional[
            Callable[[], asyncio.AbstractEventLoop]] = None,
        debug: bool = False, flavor: str = "asyncio",
        host_class: Optional[Type[Host]] = None,
        **trio_options: Any) -> Any:
    """Run the coroutine `main` with Tk's mainloop as its host and return
    its result (or raise its exception), like asyncio.run().

    root: the Tk root to use; by default a new tkinter.Tk() is created and
    destroyed at the end. loop_factory: e.g. uvloop.new_event_loop (default
    asyncio.new_event_loop; flavor="uvloop" is short for uvloop's).
    flavor="trio": `main` is a Trio coroutine (or
    async function), and trio_options (clock, instruments,
    strict_exception_groups, ...) go to trio.lowlevel.start_guest_run.

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

    The same as `with Runner(...) as r: return r.run(main)`, except that the
    loop's shutdown is part of the one guest run.
    """
    try:
        runner = Runner(root=root, flavor=flavor, loop_factory=loop_factory,
                        debug=True if debug else None, host_class=host_class,
                        **trio_options)
    except BaseException:
        if asyncio.iscoroutine(main):
            main.close()
        raise
    try:
        return runner._run(main, None, final=True, who="tkuv.run()")
    finally:
        runner.close()
