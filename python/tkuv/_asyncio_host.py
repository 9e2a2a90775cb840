# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""AsyncioHost: an asyncio or uvloop event loop as a guest of Tk's mainloop.

One tick runs a single non-blocking iteration of the loop, several while
work is ready at once (up to `tick_budget`). The C side watches the loop's
backend fd through Tcl's notifier or a poll thread (the wait mode,
tkuv::waitmode), and Tk's thread ticks again when it is readable or when
the timeout the last tick returned has passed. What the fd does not show
(ready callbacks, timers, uvloop's and libuv's queues) the loop's *clock*
tells after each tick: _clock.py for asyncio's loops, _uvloop.py for
uvloop's. No polling in any case.

Interleaved host code -- Tk callbacks running between ticks -- that calls
call_soon/call_at/call_later/add_reader/add_writer (directly, or through
create_task, Future.set_result, Task.cancel, Event.set, ...) must take
effect at once, not at the guest's old deadline. Between ticks, LoopHooks
arms wrappers for these methods on the loop instance; the first one that
makes earlier work wakes the guest (`$g wake`) and disarms them all, so
there is one wake per turn and no cost inside ticks. What they cannot see
(uvloop queues transport writes and some callbacks in C) is checked after
every Tk callback (see _host._watch_tk_callbacks and _after_tk_callback).

Callback order and bounded iterations: see _gate.py. Signals: _signals.py.

The running loop: during a tick it is set as usual. Between ticks tkuv keeps
it set too, so Tk callbacks can use asyncio.get_running_loop(),
asyncio.create_task() and asyncio.get_event_loop(); it is cleared around each
tick because run_forever() refuses to start while another loop is marked
running. Consequently only one asyncio guest can run per thread, just as with
asyncio.run(), and asyncio.run()/run_until_complete() inside a Tk callback
raise RuntimeError instead of blocking the GUI.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import signal
import sys
import threading
import time
import tkinter
from asyncio import events
from typing import Any, Callable, Coroutine, Dict, Optional

from ._clock import NOW, AsyncioClock
from ._gate import Gate
from ._host import Host
from ._outcome import Error, Outcome, capture_task
from ._signals import SignalRelay
from ._uvloop import UvloopClock

__all__ = ["AsyncioHost", "host_for_loop", "shut_down"]

# Clamp for long timeouts: one spurious tick a day is free, and the C side
# takes an int.
_MAX_TIMEOUT_MS = 86_400_000

# Loops driven by a live AsyncioHost; asyncslot() finds its host here.
_hosts: Dict[Any, "AsyncioHost"] = {}


def host_for_loop(loop: asyncio.AbstractEventLoop) -> Optional[AsyncioHost]:
    """The AsyncioHost driving `loop`, or None."""
    return _hosts.get(loop)


def clock_for(loop: Any) -> Any:
    """The clock (see _clock.py) for an asyncio or uvloop loop."""
    if isinstance(loop, asyncio.BaseEventLoop):
        return AsyncioClock(loop)
    if type(loop).__module__.split(".")[0] == "uvloop" or \
            hasattr(loop, "_get_backend_id"):
        return UvloopClock(loop)
    raise TypeError("tkuv can drive asyncio's own event loops and uvloop, "
                    "not %r" % (loop,))


async def shut_down(loop: Any, who: str) -> None:
    """What asyncio.run() does after its main task: cancel the loop's other
    tasks and wait for them, report their exceptions to the loop's handler
    (naming `who`), shut async generators and the default executor down."""
    me = asyncio.current_task()
    # Finally blocks may start new tasks; a few rounds catch those.
    for _ in range(8):
        tasks = [t for t in asyncio.all_tasks(loop)
                 if t is not me and not t.done()]
        if not tasks:
            break
        for t in tasks:
            t.cancel()
        await asyncio.wait(tasks)
        for t in tasks:
            if not t.cancelled() and t.exception() is not None:
                loop.call_exception_handler({
                    "message": "unhandled exception during %s shutdown"
                               % (who,),
                    "exception": t.exception(),
                    "task": t,
                })
    await loop.shutdown_asyncgens()
    await loop.shutdown_default_executor()


class LoopHooks:
    """The methods tkuv replaces on the guest loop object, and when.

    * permanent ones, for the whole run: call_soon_threadsafe (the gate),
      add/remove_signal_handler (the signal relay), and what the clock asks
      for (uvloop: call_later);
    * armed ones, between ticks only: the wrappers below, which tell the
      host (`on_call`) that Tk-side code gave the loop work;
    * the gate's call_soon while the gate is closed.

    They go into the loop instance's __dict__, which shadows the class's
    methods for that object alone. This is the one place that sees every
    such call: they are made on the loop object by code tkuv does not
    control (the application, asyncio's Futures and Tasks, from C too), and
    uvloop's methods live in a Cython class that cannot be wrapped for one
    loop; a subclass swapped in through __class__ would change type(loop)
    and put a Python call in front of every call_soon inside ticks, where
    asyncio runs most of them. Removed again, an instance entry costs
    nothing: disarm() leaves the loop's own methods inside ticks.
    """

    ARMED = ("call_soon", "call_at", "call_later", "add_reader",
             "add_writer")

    def __init__(self, loop: Any, on_call: Callable[[Any], None]) -> None:
        d = getattr(loop, "__dict__", None)
        if d is None:
            raise TypeError("tkuv needs an event loop object with a __dict__ "
                            "(to watch calls made between ticks)")
        self._dict = d
        self._loop = loop
        self._on_call = on_call
        self._permanent: Dict[str, Any] = {}
        self._base: Dict[str, Any] = {}
        self._wrappers = {name: getattr(self, name) for name in self.ARMED}
        self.armed = False

    def install(self, permanent: Dict[str, Any]) -> None:
        """Put the permanent ones in place for the run."""
        self._permanent = dict(permanent)
        self._dict.update(self._permanent)
        # Bound now, so they are the class methods or the permanent
        # wrappers (what the armed ones call on).
        self._base = {name: getattr(self._loop, name) for name in self.ARMED}

    def drop(self) -> None:
        """Take every one of them off the loop (end of the run)."""
        for name in set(self._permanent) | set(self.ARMED):
            self._dict.pop(name, None)
        self.armed = False

    def arm(self) -> None:
        if not self.armed:
            self._dict.update(self._wrappers)
            self.armed = True

    def disarm(self) -> None:
        if self.armed:
            for name in self.ARMED:
                self._restore(name)
            self.armed = False

    def replace(self, name: str, fn: Any) -> None:
        """Put fn in place of loop.<name> until restore(name, fn)."""
        self._dict[name] = fn

    def restore(self, name: str, fn: Any) -> None:
        """Undo replace(name, fn), if fn is still there."""
        if self._dict.get(name) == fn:
            self._restore(name)

    def _restore(self, name):
        if name in self._permanent:
            self._dict[name] = self._permanent[name]
        else:
            self._dict.pop(name, None)

    # -- the armed wrappers ---------------------------------------------------

    def call_soon(self, callback, *args, context=None):
        handle = self._base["call_soon"](callback, *args, context=context)
        self._on_call(None)
        return handle

    def call_at(self, when, callback, *args, context=None):
        handle = self._base["call_at"](when, callback, *args, context=context)
        self._on_call(handle)
        return handle

    def call_later(self, delay, callback, *args, context=None):
        handle = self._base["call_later"](delay, callback, *args,
                                          context=context)
        self._on_call(handle)
        return handle

    def add_reader(self, fd, callback, *args):
        result = self._base["add_reader"](fd, callback, *args)
        self._on_call(None)
        return result

    def add_writer(self, fd, callback, *args):
        result = self._base["add_writer"](fd, callback, *args)
        self._on_call(None)
        return result


class AsyncioHost(Host):
    """Runs an asyncio (or uvloop) event loop as a guest of Tk.

    Overridable hooks besides Host's: next_timeout() -> ms (-1 none, 0 now).
    Public state: `loop`, `main_task`.
    """

    flavor: Optional[str] = "asyncio"

    # True (set by tkuv.Runner before start()): the run ends when its main
    # task does, and the loop is left open, with its other tasks, for the
    # next run on it. A run ended by the window still shuts the loop down.
    keep_loop = False

    # Seconds one tick may keep iterating while the loop has work ready at
    # once: fewer trips through Tcl's event loop under load, while a Tk
    # event waits at most about this long plus one iteration.
    tick_budget: float = 0.0005

    # Ready callbacks beyond which an iteration holds the rest back (None:
    # never, as asyncio does); see _gate.py. With many busy connections,
    # or a flood of call_soon_threadsafe() from other threads, one full
    # iteration would take longer than Tk can wait for a timer or a redraw.
    tick_ready_limit: Optional[int] = 16

    def __init__(self, root: tkinter.Misc, *,
                 loop_factory: Optional[
                     Callable[[], asyncio.AbstractEventLoop]] = None,
                 debug: bool = False) -> None:
        super().__init__(root)
        self._loop_factory = loop_factory or asyncio.new_event_loop
        self._debug = debug
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.main_task: Optional[asyncio.Task] = None
        self._clock: Any = None
        self._hooks: Optional[LoopHooks] = None
        self._gate: Optional[Gate] = None
        self._signals: Optional[SignalRelay] = None    # main thread only
        self._shutdown_task: Optional[asyncio.Future] = None
        self._deadline = math.inf       # when the guest wakes by itself
        self._old_agen_hooks: Optional[tuple] = None
        self._sigint_handler: Optional[Callable[..., None]] = None
        self._sigint_count = 0
        self._in_iteration = False

    # -- start ----------------------------------------------------------

    def start(self, coro: Coroutine[Any, Any, Any],
              done_callback: Callable[[Any], None],
              context: Optional[contextvars.Context] = None) -> None:
        """Start the guest loop with `coro` as its main task (run in
        `context`, a contextvars.Context, if given); returns at once (the
        first tick runs as soon as Tk processes events)."""
        if not asyncio.iscoroutine(coro):
            raise TypeError("a coroutine object is required, got %r" % (coro,))
        try:
            if events._get_running_loop() is not None:
                raise RuntimeError(
                    "tkuv cannot start an asyncio guest while an asyncio "
                    "event loop is already running in this thread (another "
                    "tkuv guest, or asyncio.run()); use asyncio.create_task()"
                    " or tkuv.asyncslot() from it instead")
            loop = self._loop_factory()
        except BaseException:
            coro.close()            # no "never awaited" warning
            raise
        try:
            self._attach(loop, done_callback)
        except BaseException:
            coro.close()
            self._detach()
            if not self.keep_loop:
                loop.close()
            raise
        if context is None:
            self.main_task = loop.create_task(coro)
        else:
            self.main_task = loop.create_task(coro, context=context)
        self.main_task.add_done_callback(self._main_done)
        self._catch_sigint()
        _hosts[loop] = self
        # Make the loop reachable from Tk callbacks (see module docstring),
        # and let async generators made there be finalized by it.
        events._set_running_loop(loop)
        self._old_agen_hooks = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(firstiter=loop._asyncgen_firstiter_hook,
                               finalizer=loop._asyncgen_finalizer_hook)
        return self

    def _attach(self, loop, done_callback):
        """Set `loop` up as the guest: its clock, signal relay, gate and
        hooks, then the guest handle on its fd."""
        if self._debug:
            loop.set_debug(True)
        self._clock = clock = clock_for(loop)
        self.loop = loop
        self._hooks = hooks = LoopHooks(loop, self._interleaved)
        self._gate = gate = Gate(loop, clock, hooks)
        permanent = dict(clock.permanent_hooks,
                         call_soon_threadsafe=gate.call_soon_threadsafe)
        if threading.current_thread() is threading.main_thread():
            self._signals = SignalRelay(loop, refuse_sigchld=not isinstance(
                loop, asyncio.BaseEventLoop))
            permanent["add_signal_handler"] = \
                self._signals.add_signal_handler
            permanent["remove_signal_handler"] = \
                self._signals.remove_signal_handler
        hooks.install(permanent)
        self._start_guest(clock.fd, done_callback)

    def _detach(self):
        """Undo what _attach() did to the loop (not the guest handle)."""
        if self._hooks is not None:
            self._hooks.drop()
        if self._signals is not None:
            self._signals.close()
            self._signals = None

    def cancel(self) -> None:
        """Cancel the main task; the run ends in guest mode. Tk thread."""
        if self.main_task is not None and not self.main_task.done():
            self.main_task.cancel()

    # -- Ctrl-C -----------------------------------------------------------

    def _catch_sigint(self):
        """Ctrl-C as asyncio.Runner treats it: if SIGINT still has Python's
        default handler (and this is the main thread), the first one cancels
        the main task and the run ends with KeyboardInterrupt; a second one
        raises KeyboardInterrupt at once. The signal relay's wakeup fd makes
        the guest tick, hence the handler run, even in an idle window."""
        if self._signals is None or \
                signal.getsignal(signal.SIGINT) is not \
                signal.default_int_handler:
            return
        self._sigint_handler = self._on_sigint
        signal.signal(signal.SIGINT, self._sigint_handler)

    def _on_sigint(self, signum, frame):
        self._sigint_count += 1
        if self._sigint_count == 1 and self.main_task is not None \
                and not self.main_task.done():
            self.main_task.cancel()
            self._after_tk_callback()   # wake the guest if it sleeps
            return
        raise KeyboardInterrupt()

    def _main_outcome(self) -> Outcome:
        outcome = capture_task(self.main_task)
        if self._sigint_count and \
                isinstance(outcome.error, asyncio.CancelledError):
            return Error(KeyboardInterrupt())
        return outcome

    # -- ticks ----------------------------------------------------------

    def _tick(self):
        deadline = time.perf_counter() + self.tick_budget
        while True:
            if self._iterate() or self._finish_requested:
                return -1
            timeout = self.next_timeout()
            if timeout != 0 or time.perf_counter() >= deadline:
                return timeout

    def next_timeout(self) -> int:
        """Hook: ms until the loop has work that its fd will not signal, and
        arm the interleaving hooks for the time until then."""
        if self._gate.held:
            return 0
        when = self._clock.next_when()
        if when is NOW:
            return 0
        if when is None:
            timeout, self._deadline = -1, math.inf
        else:
            ms = math.ceil((when - self.loop.time()) * 1000 - 1e-6)
            if ms <= 0:
                return 0
            timeout = min(ms, _MAX_TIMEOUT_MS)
            self._deadline = when
        self._hooks.arm()
        return timeout

    def _busy(self):
        return self._in_iteration

    def _iterate(self):
        """One iteration of the loop; True when the run has ended."""
        self._hooks.disarm()
        self._in_iteration = True
        try:
            moved = self._gate.refill(self.tick_ready_limit)
            if moved:
                t0 = time.perf_counter()
                self._clock.run_once()
                self._gate.adapt(moved, time.perf_counter() - t0,
                                 self.tick_budget, self.tick_ready_limit)
            else:
                self._clock.run_once()
        finally:
            self._in_iteration = False
        if self._shutdown_task is not None and self._shutdown_task.done():
            self._deliver(self._main_outcome())
            return True
        if self._finish_requested and not self._in_tick:
            # The root window went away during an eager (asyncslot)
            # iteration; a tick handles this itself when it returns.
            self._finish_requested = False
            self.finish()
            return True
        return False

    # -- eager start (asyncslot) -----------------------------------------

    def run_task_eagerly(
            self, coro: Coroutine[Any, Any, Any],
            done_callback: Optional[Callable[[asyncio.Task], object]] = None
    ) -> asyncio.Task:
        """Create a task and run it to its first suspension before returning,
        unless a loop iteration is already under way (then it starts on the
        next one, as create_task() would). done_callback, if given, is added
        before the task runs."""
        loop = self.loop
        eager = not (self._in_iteration or self._in_tick
                     or self._state != "running")
        if eager:
            self._hooks.disarm()     # the wake() below covers what we do
        task = loop.create_task(coro)
        if done_callback is not None:
            task.add_done_callback(done_callback)
        if eager:
            self._iterate()
            # The C side still waits with the old timeout (or was suspended
            # by a nested Tk loop in the task): tick again.
            self._resume()
        return task

    # -- the end --------------------------------------------------------

    def _main_done(self, task):
        if self.keep_loop and not self.closed_by_host:
            self._shutdown_task = task      # the run ends here; see keep_loop
            return
        # Clean up in guest mode, as asyncio.run() does after its main task;
        # Tk stays responsive meanwhile.
        self._shutdown_task = self.loop.create_task(
            shut_down(self.loop, "tkuv guest"))

    def _finish_natively(self):
        self._hooks.disarm()
        self._gate.flush()
        events._set_running_loop(None)
        self.cancel()
        # The cancelled main task runs its finally blocks; its done callback
        # then starts the shutdown task.
        self._run_natively_until(self.main_task)
        while self._shutdown_task is None:
            self._run_natively_until(None)
        self._run_natively_until(self._shutdown_task)
        self._deliver(self._main_outcome())

    def _run_natively_until(self, fut):
        """Run the loop until fut is done (one iteration for None), without
        wrapping it in a task: shut_down() cancels every other task."""
        loop = self.loop
        if fut is None:
            loop.stop()
            loop.run_forever()
            return
        if fut.done():
            return
        try:
            loop.run_until_complete(fut)
        except BaseException:
            if not fut.done():
                raise       # stopped by something else (KeyboardInterrupt)

    def _release(self):
        loop = self.loop
        kept = self.keep_loop and self._shutdown_task is self.main_task \
            and not loop.is_closed()
        self._hooks.disarm()
        if kept:
            self._gate.flush()      # they run on the loop's next run
        self._gate.held.clear()
        if self._sigint_handler is not None:
            if signal.getsignal(signal.SIGINT) is self._sigint_handler:
                signal.signal(signal.SIGINT, signal.default_int_handler)
            self._sigint_handler = None
        self._detach()
        _hosts.pop(loop, None)
        if events._get_running_loop() is loop:
            events._set_running_loop(None)
        if self._old_agen_hooks is not None:
            sys.set_asyncgen_hooks(*self._old_agen_hooks)
            self._old_agen_hooks = None
        if not loop.is_closed() and not kept:
            loop.close()

    def report_exception(self, exc: BaseException, message: str) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_exception_handler({"message": "tkuv: " + message,
                                              "exception": exc})
        else:
            super().report_exception(exc, message)

    # -- interleaved calls ----------------------------------------------

    def _after_tk_callback(self):
        """A Tk callback ran between ticks: if it gave the loop work that
        the hooks did not see (uvloop queues a transport write, or a
        callback, in C), wake the guest now."""
        hooks = self._hooks
        if hooks is None or not hooks.armed or self._in_iteration \
                or self._in_tick:
            return
        clock = self._clock
        when = clock.next_when()
        if when is NOW or clock.writes_queued() or \
                (when is not None and when < self._deadline):
            hooks.disarm()
            self.wake()

    def _interleaved(self, handle):
        """An armed hook ran between ticks: wake the guest unless what it
        scheduled (a timer handle) is due after the guest wakes anyway."""
        if not self._hooks.armed or self._in_iteration:
            return
        when = getattr(handle, "when", None)
        if when is not None and when() >= self._deadline:
            return
        self._hooks.disarm()
        self.wake()
