# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""Drive an asyncio or uvloop event loop as a guest of Tk's mainloop.

One tick runs a single non-blocking iteration of the loop, several while
work is ready at once (up to `tick_budget`): on asyncio
`loop.stop(); loop.run_forever()`; on uvloop libuv's uv_run(NOWAIT)
directly, because uvloop's run_forever() sets signal handling up and down
on every call (see _UvRunner). The C side watches the loop's backend fd
(asyncio: its epoll selector; uvloop: libuv's epoll fd), through Tcl's
notifier or a poll thread (the wait mode, tkuv::waitmode), and Tk's thread
ticks again when it is readable or when the timeout the last tick returned
has passed, so I/O and call_soon_threadsafe() (which write the loop's
self-pipe / uv_async) wake the guest by themselves. What
does not show on the fd is computed after each tick:

* asyncio: the ready queue (`_ready`) and the timer heap (`_scheduled`).
* uvloop: its ready deque and timer set live in Cython and are invisible as
  attributes, but the loop object reports them to the garbage collector; we
  find them once with gc.get_referents() (verified with a probe timer). The
  earliest deadline comes from our own heap of TimerHandles, fed by a
  call_later wrapper on the instance (uvloop's call_at goes through
  call_later), pruned by membership in the loop's live-timer set, and
  rebuilt from that set if they ever disagree.
  libuv itself also keeps work that its fd does not show: epoll changes
  queued after the poll phase (uv__io_start only queues them; e.g. POLLOUT
  for a partial write flushed in the check phase) and callbacks fed to the
  next iteration (a write that completed at once). Without them a large
  uvloop write stalls. Their queues sit in the ABI-stable head of libuv 1.x's
  uv_loop_t, which uvloop keeps as the first field of its Loop object; see
  _LibuvQueues. No polling in any case.

Interleaved host code -- Tk callbacks running between ticks -- that calls
call_soon/call_at/call_later/add_reader/add_writer (directly, or through
create_task, Future.set_result, Task.cancel, Event.set, ...) must take
effect at once, not at the guest's old deadline. Between ticks, wrappers for
these methods are "armed" in the loop instance's __dict__; the first one
that makes earlier work wakes the guest (`$g wake`) and disarms them all, so
there is one wake per turn and no cost inside ticks. What they cannot see
(uvloop queues transport writes and some callbacks in C) is checked after
every Tk callback (see _host._watch_tk_callbacks and _after_tk_callback).

Callback order and bounded iterations: see "the gate" in AsyncioHost.
Signals: see _SignalRelay.

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
import collections
import contextvars
import ctypes
import errno
import gc
import heapq
import importlib.machinery
import itertools
import math
import os
import signal
import socket
import sys
import threading
import time
import tkinter
from asyncio import events
from typing import Any, Callable, Coroutine, Optional

from ._host import Host, logger
from ._outcome import Error, capture_task

__all__ = ["AsyncioHost", "host_for_loop"]

# Clamp for long timeouts: one spurious tick a day is free, and the C side
# takes an int.
_MAX_TIMEOUT_MS = 86_400_000

_NOW = "now"

# Loops driven by a live AsyncioHost; asyncslot() finds its host here.
_hosts = {}


def host_for_loop(loop: asyncio.AbstractEventLoop) -> Optional[AsyncioHost]:
    """The AsyncioHost driving `loop`, or None."""
    return _hosts.get(loop)


def _noop():
    pass


class _AsyncioClock:
    """asyncio's BaseEventLoop: read `_ready` and `_scheduled` directly."""

    permanent_hooks = {}
    native_handles_only = False

    def __init__(self, loop):
        try:
            self.fd = loop._selector.fileno()
        except AttributeError:
            raise TypeError("tkuv needs a selector event loop whose selector "
                            "has a file descriptor (epoll, kqueue, poll "
                            "devices); %r has none" % (loop,)) from None
        self._loop = loop
        self.ready = loop._ready

    def run_once(self):
        """One non-blocking iteration."""
        loop = self._loop
        events._set_running_loop(None)      # run_forever() insists
        try:
            loop.stop()
            loop.run_forever()
        finally:
            events._set_running_loop(loop)

    def next_when(self):
        loop = self._loop
        if loop._ready:
            return _NOW
        if loop._scheduled:
            # A cancelled head only costs one early tick; asyncio itself
            # drops it then.
            return loop._scheduled[0]._when
        return None

    def writes_queued(self):
        return False        # asyncio's transports write at once


class _UvloopClock:
    """uvloop: see the module docstring."""

    native_handles_only = True     # its ready queue holds its own Handles

    def __init__(self, loop):
        self.fd = loop._get_backend_id()
        self._loop = loop
        refs = gc.get_referents(loop)
        readies = [r for r in refs if type(r) is collections.deque]
        probe = loop.call_later(3600, _noop)
        try:
            timer_sets = [r for r in refs if type(r) is set and probe in r]
        finally:
            probe.cancel()
        if len(readies) != 1 or len(timer_sets) != 1:
            raise RuntimeError(
                "tkuv cannot find the ready queue and timer set of %r "
                "(uvloop %s); this uvloop version is not supported"
                % (loop, getattr(sys.modules.get("uvloop"), "__version__",
                                 "?")))
        self._ready = self.ready = readies[0]
        self._timers = timer_sets[0]
        # uvloop's _queued_streams and _executing_streams follow the ready
        # queue (uvloop/loop.pxd, 0.15 to 0.22): transports with a write
        # queued for the check phase.
        at = next(i for i, r in enumerate(refs) if r is self._ready)
        streams = refs[at + 1:at + 3]
        if len(streams) == 2 and all(type(r) is set and r is not self._timers
                                     for r in streams):
            self._stream_sets = tuple(streams)
        else:
            self._stream_sets = ()
            logger.warning("tkuv cannot see uvloop's queued writes; a "
                           "transport write from a plain Tk callback may "
                           "wait for the next event")
        self._timer_type = type(probe)
        self._heap = []
        self._seq = itertools.count()
        base_call_later = loop.call_later       # the class's bound method
        heap, seq, timer_type = self._heap, self._seq, self._timer_type

        def call_later(delay, callback, *args, context=None):
            handle = base_call_later(delay, callback, *args, context=context)
            if type(handle) is timer_type:      # not a 0-delay call_soon
                heapq.heappush(heap, (handle.when(), next(seq), handle))
            return handle

        self._fast = None
        try:
            self._fast = _UvRunner(loop, self._ready)
        except (LookupError, ValueError, OSError, AttributeError) as exc:
            logger.warning("tkuv cannot run uvloop iterations directly (%s); "
                           "every tick goes through run_forever(), which is "
                           "several times slower", exc)

        # Installed on the instance for the loop's whole life as a guest.
        self.permanent_hooks = {"call_later": call_later}
        try:
            self._libuv = _LibuvQueues(loop)
        except (LookupError, ValueError, OSError) as exc:
            self._libuv = None
            logger.warning("tkuv cannot see libuv's internal queues (%s); "
                           "with this uvloop a partial write may wait for "
                           "the next event", exc)

    def run_once(self):
        """One non-blocking iteration; see _UvRunner for the fast way."""
        loop = self._loop
        fast = self._fast
        if fast is not None and fast.usable():
            fast.run_once()
            return
        events._set_running_loop(None)
        try:
            loop.stop()
            loop.run_forever()
        finally:
            events._set_running_loop(loop)
            if fast is not None:
                fast.after_run_forever()

    def next_when(self):
        if self._ready or (self._libuv is not None and self._libuv.busy()):
            return _NOW
        heap, timers = self._heap, self._timers
        # Fired and cancelled TimerHandles leave the loop's set.
        while heap and heap[0][2] not in timers:
            heapq.heappop(heap)
        if len(timers) > len(heap) or len(heap) > 2 * len(timers) + 64:
            # A timer made behind our wrapper's back, or too many dead
            # entries: start again from the loop's own set.
            heap[:] = [(t.when(), next(self._seq), t) for t in timers]
            heapq.heapify(heap)
        return heap[0][0] if heap else None

    def writes_queued(self):
        """A transport write waits for the check phase of an iteration."""
        return any(self._stream_sets)


class _UvloopObject(ctypes.Structure):
    """The start of uvloop's Cython Loop object (uvloop/loop.pxd, the same
    from 0.15 to 0.22): PyObject_HEAD, the vtable pointer, then the declared
    C fields in order. Checked against the live object before use; the
    fields further on differ between versions and are found by _UvRunner."""

    _fields_ = [
        ("head", ctypes.c_char * object.__basicsize__),
        ("vtab", ctypes.c_void_p),
        ("uvloop", ctypes.c_void_p),
        ("coroutine_debug_set", ctypes.c_int),
        ("coroutine_origin_tracking_saved_depth", ctypes.c_int),
        ("slow_callback_duration", ctypes.c_void_p),
        ("closed", ctypes.c_int),
        ("debug", ctypes.c_int),
        ("running", ctypes.c_int),
        ("stopping", ctypes.c_int),
        ("thread_id", ctypes.c_uint64),
    ]


_UV_RUN_NOWAIT = 2


class _UvRunner:
    """Runs one uvloop iteration without run_forever().

    uvloop's run_forever() in the main thread makes a socket pair for
    signal.set_wakeup_fd(), registers it, and closes it again on the way
    out: about 50 us and ten system calls per call, which dominated a guest
    tick. Instead we call libuv's uv_run(NOWAIT) on the loop's uv_loop_t,
    through the libuv that uvloop's own extension module resolves, and do by
    hand the rest of what uvloop's _run() does: mark the loop running in this
    thread for the call. Its idle handler (the ready queue) and check handler
    (queued writes) are started by call_soon() and by a queued write
    whatever the loop's state; only run_forever() stops them on its way out,
    see after_run_forever().

    Not used in debug mode (run_forever() also sets up coroutine origin
    tracking then). uvloop listens for signals only inside run_forever();
    the guest handles them itself (see _SignalRelay). A callback that raises
    KeyboardInterrupt or SystemExit makes uvloop set its stopping flag and
    keep the exception; run_once() then returns False and the caller lets
    run_forever() finish that iteration and raise it.
    """

    def __init__(self, loop, ready):
        uv_run = ctypes.CDLL(_extension_file(loop)).uv_run   # or
        # AttributeError: a uvloop with its own libuv, hidden
        uv_run.argtypes = [ctypes.c_void_p, ctypes.c_int]
        uv_run.restype = ctypes.c_int
        obj = _UvloopObject.from_address(id(loop))
        if not (obj.uvloop
                and obj.slow_callback_duration
                == id(loop.slow_callback_duration)
                and obj.closed == int(loop._closed)
                and obj.debug == int(loop.get_debug())
                and obj.running == int(loop.is_running()) == 0
                and obj.stopping == 0
                and obj.thread_id == 0):
            raise LookupError("uvloop's Loop layout is not the expected one")
        head = _UvLoopHead.from_address(obj.uvloop)
        if head.backend_fd != loop._get_backend_id():
            raise LookupError("uv_loop_t backend_fd does not match")
        self._last_error_at = _find_last_error(loop, ready)
        self._loop = loop       # keeps obj's memory alive
        self._obj = obj
        self._uv_run = uv_run
        self._ready = ready

    def usable(self):
        obj = self._obj
        return not (obj.debug or obj.running or obj.closed)

    def run_once(self):
        """One iteration, as run_forever() would run it after stop(); raises
        the KeyboardInterrupt or SystemExit that stopped it."""
        obj = self._obj
        obj.thread_id = threading.get_ident()
        obj.running = 1
        try:
            self._uv_run(obj.uvloop, _UV_RUN_NOWAIT)
        finally:
            obj.running = 0
            obj.thread_id = 0
        if obj.stopping:
            # loop.stop() from the program, or a BaseException kept in
            # _last_error; _run() would now reset the flag and raise it.
            # (_last_error itself is reset by uvloop's next _run().)
            obj.stopping = 0
            err = ctypes.c_void_p.from_address(self._last_error_at).value
            if err and err != id(None):
                raise ctypes.cast(err, ctypes.py_object).value

    def after_run_forever(self):
        """run_forever() stops the idle handler on its way out even when
        callbacks are ready; call_soon() starts it again."""
        if self._ready and not self._loop.is_closed():
            type(self._loop).call_soon(self._loop, _noop)


def _find_last_error(loop, ready):
    """Address of uvloop's Loop._last_error: the field after its check
    handler (handler_check__exec_writes), after the ready queue. Only slots
    that hold the address of one of the loop's own referents are looked at,
    so nothing but those objects is dereferenced."""
    start = ctypes.sizeof(_UvloopObject)
    count = (min(type(loop).__basicsize__, start + 64 * 8) - start) // 8
    slots = (ctypes.c_void_p * count).from_address(id(loop) + start)
    refs = {id(r): r for r in gc.get_referents(loop)}
    names = [type(refs[v]).__name__ if v in refs else None for v in slots]
    try:
        at = names.index("UVCheck")
    except ValueError:
        raise LookupError("no check handler in uvloop's Loop") from None
    if not (names[at - 2:at] == ["UVAsync", "UVIdle"]
            and id(ready) in slots[:at] and at + 1 < count
            and slots[at + 1] == id(None)):
        raise LookupError("uvloop's Loop layout is not the expected one")
    return id(loop) + start + 8 * (at + 1)


def _extension_file(loop):
    """The compiled module that defines uvloop's Loop (uvloop.loop)."""
    for cls in type(loop).__mro__:
        path = getattr(sys.modules.get(cls.__module__), "__file__", None)
        if path and path.endswith(tuple(importlib.machinery
                                        .EXTENSION_SUFFIXES)):
            return path
    raise LookupError("no compiled module defines %r" % (type(loop),))


class _UvLoopHead(ctypes.Structure):
    """The start of struct uv_loop_s (libuv 1.x, unix), up to watcher_queue.
    libuv keeps this layout for the whole 1.x ABI."""

    _fields_ = [
        ("data", ctypes.c_void_p),
        ("active_handles", ctypes.c_uint),
        ("handle_queue", ctypes.c_void_p * 2),
        ("active_reqs", ctypes.c_void_p),
        ("internal_fields", ctypes.c_void_p),
        ("stop_flag", ctypes.c_uint),
        ("flags", ctypes.c_ulong),
        ("backend_fd", ctypes.c_int),
        ("pending_queue", ctypes.c_void_p * 2),
        ("watcher_queue", ctypes.c_void_p * 2),
    ]


class _LibuvQueues:
    """Read-only view of a uvloop loop's libuv pending and watcher queues.

    uvloop's Cython Loop starts with PyObject_HEAD, its vtable pointer, then
    `uv_loop_t *uvloop`. The pointer is checked before use: the memory must
    be readable (probed with write(2), which fails with EFAULT instead of
    crashing) and its backend_fd must equal loop._get_backend_id().
    """

    _OFFSET = object.__basicsize__ + ctypes.sizeof(ctypes.c_void_p)

    def __init__(self, loop):
        self._loop = loop       # keeps the uv_loop_t alive while we look
        ptr = ctypes.c_void_p.from_address(id(loop) + self._OFFSET).value
        if not ptr or not _readable(ptr, ctypes.sizeof(_UvLoopHead)):
            raise LookupError("no uv_loop_t pointer where expected")
        head = _UvLoopHead.from_address(ptr)
        if head.backend_fd != loop._get_backend_id():
            raise LookupError("uv_loop_t backend_fd does not match")
        self._head = head
        # An empty libuv queue points at itself.
        self._pending_at = ptr + _UvLoopHead.pending_queue.offset
        self._watcher_at = ptr + _UvLoopHead.watcher_queue.offset

    def busy(self):
        """True when libuv has work for its next iteration that its epoll fd
        will not signal."""
        if self._loop.is_closed():
            return False
        head = self._head
        return (head.pending_queue[0] != self._pending_at
                or head.watcher_queue[0] != self._watcher_at)


def _readable(address, size):
    libc = ctypes.CDLL(None, use_errno=True)
    rfd, wfd = os.pipe()
    try:
        return libc.write(wfd, ctypes.c_void_p(address), size) == size
    finally:
        os.close(rfd)
        os.close(wfd)


def _clock_for(loop):
    if isinstance(loop, asyncio.BaseEventLoop):
        return _AsyncioClock(loop)
    if type(loop).__module__.split(".")[0] == "uvloop" or \
            hasattr(loop, "_get_backend_id"):
        return _UvloopClock(loop)
    raise TypeError("tkuv can drive asyncio's own event loops and uvloop, "
                    "not %r" % (loop,))


class _HeldHandle(events.Handle):
    """A callback given to call_soon_threadsafe() (or to a signal handler)
    that waits in the host's queue of held callbacks rather than the loop's
    own ready queue; see AsyncioHost._refill()."""

    __slots__ = ()


def _run_held(handle):
    # uvloop runs its own Handle type only: ours is run through this.
    if not handle._cancelled:
        handle._run()


def _ignore_signal(signum, frame):
    """Python handler for signals with a loop handler: the C-level handler
    writes the number to the wakeup fd, which is all we need."""


class _SignalRelay:
    """loop.add_signal_handler() and remove_signal_handler() for a guest
    loop, asyncio's and uvloop's alike, installed on the loop instance.

    A guest loop is never inside run_forever() while Tk waits, which is
    where uvloop listens for signals (it sets Python's wakeup fd up there
    and takes it down on the way out). Instead, for the whole run, Python's
    wakeup fd is one end of a socket pair whose other end is a reader in the
    loop: a signal makes the guest's backend fd readable, which wakes Tk,
    and the reader schedules the handler with call_soon(). The
    same wakeup makes a Ctrl-C seen at once in an idle window.
    Main thread only (Python delivers signals there)."""

    def __init__(self, loop, *, refuse_sigchld):
        self._loop = loop
        self._refuse_sigchld = refuse_sigchld
        self._handlers = {}
        self._rsock, self._wsock = socket.socketpair()
        try:
            self._rsock.setblocking(False)
            self._wsock.setblocking(False)
            self._old_wakeup = signal.set_wakeup_fd(
                self._wsock.fileno(), warn_on_full_buffer=False)
        except BaseException:
            self._rsock.close()
            self._wsock.close()
            raise
        type(loop).add_reader(loop, self._rsock.fileno(), self._read)

    def _read(self):
        data = b""
        while True:
            try:
                chunk = self._rsock.recv(4096)
            except InterruptedError:
                continue
            except OSError:     # BlockingIOError: drained
                break
            if not chunk:
                break
            data += chunk
        for signum in data:
            handle = self._handlers.get(signum)
            if handle is None:
                continue
            if handle._cancelled:
                self.remove_signal_handler(signum)
            else:
                self._loop.call_soon(_run_held, handle)

    @staticmethod
    def _check_signal(sig):
        if not isinstance(sig, int):
            raise TypeError("sig must be an int, not %r" % (sig,))
        if sig not in signal.valid_signals():
            raise ValueError("invalid signal number %s" % (sig,))

    def add_signal_handler(self, sig, callback, *args):
        if asyncio.iscoroutine(callback) or \
                asyncio.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with "
                            "add_signal_handler()")
        self._check_signal(sig)
        loop = self._loop
        if loop.is_closed():
            raise RuntimeError("Event loop is closed")
        if self._refuse_sigchld and sig == signal.SIGCHLD:
            raise RuntimeError("cannot add a signal handler for SIGCHLD: it "
                               "is used by the event loop to track "
                               "subprocesses")
        self._handlers[sig] = _HeldHandle(callback, args, loop, None)
        try:
            signal.signal(sig, _ignore_signal)
            signal.siginterrupt(sig, False)
        except OSError as exc:
            del self._handlers[sig]
            if exc.errno == errno.EINVAL:
                raise RuntimeError("sig %d cannot be caught" % sig) from None
            raise

    def remove_signal_handler(self, sig):
        self._check_signal(sig)
        if self._handlers.pop(sig, None) is None:
            return False
        handler = (signal.default_int_handler if sig == signal.SIGINT
                   else signal.SIG_DFL)
        try:
            signal.signal(sig, handler)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise RuntimeError("sig %d cannot be caught" % sig) from None
            raise
        return True

    def close(self):
        """Remove every handler, as loop.close() does, and the relay."""
        for sig in list(self._handlers):
            try:
                self.remove_signal_handler(sig)
            except (OSError, RuntimeError, ValueError):
                pass
        loop = self._loop
        if not loop.is_closed():
            type(loop).remove_reader(loop, self._rsock.fileno())
        try:
            mine = self._wsock.fileno()
            current = signal.set_wakeup_fd(self._old_wakeup)
            if current != mine:     # someone else's since: leave theirs
                signal.set_wakeup_fd(current)
        except ValueError:
            pass
        self._rsock.close()
        self._wsock.close()


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

    # Loop methods that, called between ticks, may make work due earlier.
    _HOOKED = ("call_soon", "call_at", "call_later", "add_reader",
               "add_writer")

    def __init__(self, root: tkinter.Misc, *,
                 loop_factory: Optional[
                     Callable[[], asyncio.AbstractEventLoop]] = None,
                 debug: bool = False) -> None:
        super().__init__(root)
        self._loop_factory = loop_factory or asyncio.new_event_loop
        self._debug = debug
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.main_task: Optional[asyncio.Task] = None
        self._shutdown_task = None
        self._armed = False
        self._deadline = math.inf       # when the guest wakes by itself
        self._old_agen_hooks = None
        self._signals = None            # _SignalRelay, main thread only
        self._sigint_handler = None
        self._sigint_count = 0
        # The gate (see _refill): callbacks held back, in order.
        self._held = collections.deque()
        self._gated = False
        self._gate_lock = threading.RLock()
        self._chunk = 0

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
            if self._debug:
                loop.set_debug(True)
            clock = _clock_for(loop)
            self.loop, self._clock = loop, clock
            if threading.current_thread() is threading.main_thread():
                self._signals = _SignalRelay(
                    loop, refuse_sigchld=not isinstance(
                        loop, asyncio.BaseEventLoop))
            self._install_hooks()
            self._start_guest(clock.fd, done_callback)
        except BaseException:
            coro.close()
            if self.loop is not None:
                self._drop_hooks()
            if self._signals is not None:
                self._signals.close()
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

    def _main_outcome(self):
        outcome = capture_task(self.main_task)
        if self._sigint_count and \
                isinstance(outcome.error, asyncio.CancelledError):
            return Error(KeyboardInterrupt())
        return outcome

    # -- ticks ----------------------------------------------------------

    # Seconds one tick may keep iterating while the loop has work ready at
    # once: fewer trips through Tcl's event loop under load, while a Tk
    # event waits at most about this long plus one iteration.
    tick_budget: float = 0.0005

    # Ready callbacks beyond which an iteration holds the rest back (None:
    # never, as asyncio does); see _refill(). With many busy connections,
    # or a flood of call_soon_threadsafe() from other threads, one full
    # iteration would take longer than Tk can wait for a timer or a redraw.
    tick_ready_limit: Optional[int] = 16

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
        if self._held:
            return 0
        when = self._clock.next_when()
        if when is _NOW:
            return 0
        if when is None:
            timeout, self._deadline = -1, math.inf
        else:
            ms = math.ceil((when - self.loop.time()) * 1000 - 1e-6)
            if ms <= 0:
                return 0
            timeout = min(ms, _MAX_TIMEOUT_MS)
            self._deadline = when
        self._arm()
        return timeout

    def _busy(self):
        return self._in_iteration

    def _iterate(self):
        """One iteration of the loop; True when the run has ended."""
        self._disarm()
        self._in_iteration = True
        try:
            moved = self._refill()
            if moved:
                t0 = time.perf_counter()
                self._clock.run_once()
                self._adapt_chunk(moved, time.perf_counter() - t0)
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

    _in_iteration = False

    # -- the gate: bounded iterations, callbacks in order ---------------

    # An asyncio iteration runs every callback that is ready when it starts
    # (uvloop's too, in C). To bound an iteration without reordering
    # callbacks, the excess waits outside the loop's ready queue, in the
    # host's `_held` queue, and enters the ready queue at the start of each
    # iteration, `_chunk` at a time. Once anything is held, every new
    # callback must queue behind it: call_soon() (an instance override
    # while the gate is closed) and call_soon_threadsafe() (always
    # overridden; other threads then never touch the ready queue) append to
    # `_held` too. When `_held` runs empty the gate opens again and both go
    # straight to the ready queue. `_chunk` adapts so that an iteration
    # takes about tick_budget: a flood from other threads costs Tk a bounded
    # wait per tick, not one proportional to the queue.

    def _refill(self):
        """Start of an iteration: close the gate if too much is ready, feed
        the ready queue from `_held`. Returns how many were moved."""
        limit = self.tick_ready_limit
        if limit is None:
            return 0
        ready, held, loop = self._clock.ready, self._held, self.loop
        with self._gate_lock:
            if not self._gated:
                if len(ready) <= limit:
                    return 0
                # Other threads append through our call_soon_threadsafe,
                # under this lock: the tail is ours to move.
                held.extendleft([ready.pop()
                                 for _ in range(len(ready) - limit)])
                self._gated = True
                self._chunk = max(self._chunk, limit)
                loop.__dict__["call_soon"] = self._gated_call_soon
            n = min(len(held), self._chunk)
            uvloop = self._clock.native_handles_only
            for _ in range(n):
                handle = held.popleft()
                if uvloop and type(handle) is _HeldHandle:
                    type(loop).call_soon(loop, _run_held, handle)
                else:
                    ready.append(handle)
            if uvloop and n:
                # uvloop runs its ready queue from an idle handler that only
                # call_soon() starts.
                type(loop).call_soon(loop, _noop)
            if not held:
                self._open_gate()
            return n

    def _adapt_chunk(self, moved, elapsed):
        if elapsed < self.tick_budget and moved >= self._chunk:
            self._chunk = min(self._chunk * 2, 1 << 16)
        elif elapsed > 2 * self.tick_budget:
            self._chunk = max(self._chunk // 2, self.tick_ready_limit or 1)

    def _open_gate(self):
        """Back to the loop's own call_soon (caller holds the lock, or no
        other thread can schedule any more)."""
        self._gated = False
        d = self.loop.__dict__
        if d.get("call_soon") == self._gated_call_soon:
            del d["call_soon"]

    def _flush_held(self):
        """Everything held into the ready queue, gate open: for running the
        loop natively."""
        if self.loop.is_closed():
            return
        with self._gate_lock:
            saved, self._chunk = self._chunk, len(self._held)
            if self._held:
                self._refill()
            self._open_gate()
            self._chunk = saved

    def _gated_call_soon(self, callback, *args, context=None):
        loop = self.loop
        handle = type(loop).call_soon(loop, callback, *args, context=context)
        ready = self._clock.ready
        if ready and ready[-1] is handle:
            ready.pop()
            self._held.append(handle)
        return handle

    def _make_call_soon_threadsafe(self):
        loop = self.loop
        base = loop.call_soon_threadsafe
        held, lock = self._held, self._gate_lock
        host = self

        def call_soon_threadsafe(callback, *args, context=None):
            with lock:
                if not host._gated:
                    return base(callback, *args, context=context)
                if loop.is_closed():
                    raise RuntimeError("Event loop is closed")
                handle = _HeldHandle(callback, args, loop, context)
                held.append(handle)
                return handle
        return call_soon_threadsafe

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
            self._disarm()           # the wake() below covers what we do
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
        self._shutdown_task = self.loop.create_task(self._shutdown())

    async def _shutdown(self):
        loop = self.loop
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
                        "message": "unhandled exception during tkuv guest "
                                   "shutdown",
                        "exception": t.exception(),
                        "task": t,
                    })
        await loop.shutdown_asyncgens()
        await loop.shutdown_default_executor()

    def _finish_natively(self):
        self._disarm()
        self._flush_held()
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
        wrapping it in a task: _shutdown() cancels every other task."""
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
        self._disarm()
        if kept:
            self._flush_held()      # they run on the loop's next run
        self._drop_hooks()
        self._held.clear()
        if self._sigint_handler is not None:
            if signal.getsignal(signal.SIGINT) is self._sigint_handler:
                signal.signal(signal.SIGINT, signal.default_int_handler)
            self._sigint_handler = None
        if self._signals is not None:
            self._signals.close()
            self._signals = None
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

    # -- interleaving hooks ---------------------------------------------

    def _install_hooks(self):
        loop = self.loop
        d = getattr(loop, "__dict__", None)
        if d is None:
            raise TypeError("tkuv needs an event loop object with a __dict__ "
                            "(to watch calls made between ticks)")
        permanent = dict(self._clock.permanent_hooks)
        permanent["call_soon_threadsafe"] = self._make_call_soon_threadsafe()
        if self._signals is not None:
            permanent["add_signal_handler"] = \
                self._signals.add_signal_handler
            permanent["remove_signal_handler"] = \
                self._signals.remove_signal_handler
        self._permanent_hooks = permanent
        d.update(permanent)
        self._armed_hooks = self._make_armed_hooks()

    _permanent_hooks = {}

    def _drop_hooks(self):
        d = getattr(self.loop, "__dict__", {})
        for name in set(self._permanent_hooks) | set(self._HOOKED):
            d.pop(name, None)

    def _make_armed_hooks(self):
        loop = self.loop
        # Bound before arming, so they are the class methods or the
        # permanent wrappers.
        base = {name: getattr(loop, name) for name in self._HOOKED}
        host = self

        def call_soon(callback, *args, context=None):
            handle = base["call_soon"](callback, *args, context=context)
            host._interleaved(None)
            return handle

        def call_at(when, callback, *args, context=None):
            handle = base["call_at"](when, callback, *args, context=context)
            host._interleaved(handle)
            return handle

        def call_later(delay, callback, *args, context=None):
            handle = base["call_later"](delay, callback, *args,
                                        context=context)
            host._interleaved(handle)
            return handle

        def add_reader(fd, callback, *args):
            result = base["add_reader"](fd, callback, *args)
            host._interleaved(None)
            return result

        def add_writer(fd, callback, *args):
            result = base["add_writer"](fd, callback, *args)
            host._interleaved(None)
            return result

        return {"call_soon": call_soon, "call_at": call_at,
                "call_later": call_later, "add_reader": add_reader,
                "add_writer": add_writer}

    def _arm(self):
        if not self._armed:
            self.loop.__dict__.update(self._armed_hooks)
            self._armed = True

    def _disarm(self):
        if self._armed:
            d = self.loop.__dict__
            permanent = self._permanent_hooks
            for name in self._armed_hooks:
                if name in permanent:
                    d[name] = permanent[name]
                else:
                    del d[name]
            self._armed = False

    def _after_tk_callback(self):
        """A Tk callback ran between ticks: if it gave the loop work that
        the hooks did not see (uvloop queues a transport write, or a
        callback, in C), wake the guest now."""
        if not self._armed or self._in_iteration or self._in_tick:
            return
        clock = self._clock
        when = clock.next_when()
        if when is _NOW or clock.writes_queued() or \
                (when is not None and when < self._deadline):
            self._disarm()
            self.wake()

    def _interleaved(self, handle):
        """A hooked method ran between ticks: wake the guest unless what it
        scheduled (a timer handle) is due after the guest wakes anyway."""
        if not self._armed or self._in_iteration:
            return
        when = getattr(handle, "when", None)
        if when is not None and when() >= self._deadline:
            return
        self._disarm()
        self.wake()
