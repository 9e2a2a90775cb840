# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""uvloop's clock (see _clock.py) and the accelerator: what tkuv reads and
calls inside uvloop's Cython Loop object and its libuv uv_loop_t.

Everything here rests on layouts that uvloop and libuv do not promise to
Python, so each is found or checked against the live loop when the guest
starts, and each has a way back:

* the ready deque and the live-timer set (UvloopClock): invisible as
  attributes, but the loop reports them to the garbage collector; found
  once with gc.get_referents(), the timer set recognised by a probe timer.
  Not found: the loop is refused (RuntimeError), as tkuv could not tell
  when it has work.
* the transport write queues (UvloopClock._stream_sets): the two sets that
  follow the ready deque. Not there: a warning, and a transport write from
  a plain Tk callback may wait for the next event.
* one iteration without run_forever() (UvRunner): libuv's uv_run(NOWAIT)
  on the loop's uv_loop_t, with the loop marked running in its C fields.
  Layout not the expected one, or no uv_run to be had: a warning, and every
  tick goes through run_forever(), several times slower.
* libuv's pending and watcher queues (LibuvQueues): work that libuv keeps
  for its next iteration without its fd showing it. Not readable: a
  warning, and with that uvloop a partial write may wait for the next
  event.

The earliest timer deadline comes from the clock's own heap of
TimerHandles, fed by a call_later wrapper on the instance (uvloop's call_at
goes through call_later), pruned by membership in the loop's live-timer
set, and rebuilt from that set if they ever disagree.
"""

from __future__ import annotations

import collections
import ctypes
import gc
import heapq
import importlib.machinery
import itertools
import os
import sys
import threading
from typing import Any, Deque

from ._clock import NOW, HeldHandle, noop, run_forever_once, run_held
from ._host import logger

__all__ = ["UvloopClock", "UvRunner", "LibuvQueues", "find_last_error",
           "extension_file"]


class UvloopClock:
    """uvloop: see the module docstring."""

    def __init__(self, loop: Any) -> None:
        self.fd = loop._get_backend_id()
        self._loop = loop
        refs = gc.get_referents(loop)
        readies = [r for r in refs if type(r) is collections.deque]
        probe = loop.call_later(3600, noop)
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
        self.ready = readies[0]
        self._timers = timer_sets[0]
        self._stream_sets = _stream_sets(refs, self.ready, self._timers)
        if not self._stream_sets:
            logger.warning("tkuv cannot see uvloop's queued writes; a "
                           "transport write from a plain Tk callback may "
                           "wait for the next event")
        self._heap: list = []
        self._seq = itertools.count()
        self._timer_type = type(probe)
        # Installed on the instance for the loop's whole run as a guest.
        self.permanent_hooks = {"call_later": self._heap_call_later(loop)}
        self._fast = _try(UvRunner, (loop, self.ready),
                          (LookupError, ValueError, OSError, AttributeError),
                          "tkuv cannot run uvloop iterations directly (%s); "
                          "every tick goes through run_forever(), which is "
                          "several times slower")
        self._libuv = _try(LibuvQueues, (loop,),
                           (LookupError, ValueError, OSError),
                           "tkuv cannot see libuv's internal queues (%s); "
                           "with this uvloop a partial write may wait for "
                           "the next event")

    def _heap_call_later(self, loop):
        """A call_later for the instance that also puts the timer on our
        heap."""
        base = loop.call_later      # the class's bound method
        heap, seq, timer_type = self._heap, self._seq, self._timer_type

        def call_later(delay, callback, *args, context=None):
            handle = base(delay, callback, *args, context=context)
            if type(handle) is timer_type:      # not a 0-delay call_soon
                heapq.heappush(heap, (handle.when(), next(seq), handle))
            return handle
        return call_later

    def run_once(self) -> None:
        """One non-blocking iteration; see UvRunner for the fast way."""
        fast = self._fast
        if fast is not None and fast.usable():
            fast.run_once()
            return
        try:
            run_forever_once(self._loop)
        finally:
            if fast is not None:
                fast.after_run_forever()

    def next_when(self) -> Any:
        if self.ready or (self._libuv is not None and self._libuv.busy()):
            return NOW
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

    def writes_queued(self) -> bool:
        """A transport write waits for the check phase of an iteration."""
        return any(self._stream_sets)

    def feed(self, held: Deque[Any], n: int) -> None:
        loop = self._loop
        call_soon = type(loop).call_soon
        for _ in range(n):
            handle = held.popleft()
            if type(handle) is HeldHandle:
                call_soon(loop, run_held, handle)
            else:
                self.ready.append(handle)
        if n:
            # uvloop runs its ready queue from an idle handler that only
            # call_soon() starts.
            call_soon(loop, noop)


def _stream_sets(refs, ready, timers):
    """uvloop's _queued_streams and _executing_streams follow the ready
    queue among the loop's referents (uvloop/loop.pxd, 0.15 to 0.22):
    transports with a write queued for the check phase. () if they are not
    there."""
    at = next(i for i, r in enumerate(refs) if r is ready)
    streams = refs[at + 1:at + 3]
    if len(streams) == 2 and all(type(r) is set and r is not timers
                                 for r in streams):
        return tuple(streams)
    return ()


def _try(cls, args, errors, warning):
    """cls(*args), or None and a warning if it raises one of errors."""
    try:
        return cls(*args)
    except errors as exc:
        logger.warning(warning, exc)
        return None


class _UvloopObject(ctypes.Structure):
    """The start of uvloop's Cython Loop object (uvloop/loop.pxd, the same
    from 0.15 to 0.22): PyObject_HEAD, the vtable pointer, then the declared
    C fields in order. Checked against the live object before use; the
    fields further on differ between versions and are found by UvRunner."""

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


_UV_RUN_NOWAIT = 2


class UvRunner:
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

    The constructor raises LookupError (AttributeError: a uvloop with its
    own libuv, hidden) unless every field it reads matches what the loop
    reports through Python. Not used in debug mode (run_forever() also sets
    up coroutine origin tracking then). uvloop listens for signals only
    inside run_forever(); the guest handles them itself (see _signals.py).
    A callback that raises KeyboardInterrupt or SystemExit makes uvloop set
    its stopping flag and keep the exception; run_once() raises it, as
    run_forever() would.
    """

    def __init__(self, loop: Any, ready: Deque[Any]) -> None:
        uv_run = ctypes.CDLL(extension_file(loop)).uv_run
        if type(loop).__basicsize__ < ctypes.sizeof(_UvloopObject):
            raise LookupError("%r is too small for a uvloop Loop" % (loop,))
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
        self._last_error_at = find_last_error(loop, ready)
        self._loop = loop       # keeps obj's memory alive
        self._obj = obj
        self._uv_run = uv_run
        self._ready = ready

    def usable(self) -> bool:
        obj = self._obj
        return not (obj.debug or obj.running or obj.closed)

    def run_once(self) -> None:
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

    def after_run_forever(self) -> None:
        """run_forever() stops the idle handler on its way out even when
        callbacks are ready; call_soon() starts it again."""
        if self._ready and not self._loop.is_closed():
            type(self._loop).call_soon(self._loop, noop)


def find_last_error(loop: Any, ready: Deque[Any]) -> int:
    """Address of uvloop's Loop._last_error: the field after its check
    handler (handler_check__exec_writes), after the ready queue. Only slots
    that hold the address of one of the loop's own referents are looked at,
    so nothing but those objects is dereferenced. LookupError if the layout
    is not that."""
    start = ctypes.sizeof(_UvloopObject)
    count = (min(type(loop).__basicsize__, start + 64 * 8) - start) // 8
    if count <= 0:
        raise LookupError("%r is too small for a uvloop Loop" % (loop,))
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


def extension_file(loop: Any) -> str:
    """The compiled module that defines uvloop's Loop (uvloop.loop)."""
    for cls in type(loop).__mro__:
        path = getattr(sys.modules.get(cls.__module__), "__file__", None)
        if path and path.endswith(tuple(importlib.machinery
                                        .EXTENSION_SUFFIXES)):
            return path
    raise LookupError("no compiled module defines %r" % (type(loop),))


class LibuvQueues:
    """Read-only view of a uvloop loop's libuv pending and watcher queues.

    uvloop's Cython Loop starts with PyObject_HEAD, its vtable pointer, then
    `uv_loop_t *uvloop`. The pointer is checked before use: the memory must
    be readable (probed with write(2), which fails with EFAULT instead of
    crashing) and its backend_fd must equal loop._get_backend_id();
    LookupError otherwise.
    """

    _OFFSET = object.__basicsize__ + ctypes.sizeof(ctypes.c_void_p)

    def __init__(self, loop: Any) -> None:
        if type(loop).__basicsize__ < self._OFFSET + ctypes.sizeof(
                ctypes.c_void_p):
            raise LookupError("%r is too small for a uvloop Loop" % (loop,))
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

    def busy(self) -> bool:
        """True when libuv has work for its next iteration that its epoll fd
        will not signal."""
        if self._loop.is_closed():
            return False
        head = self._head
        return (head.pending_queue[0] != self._pending_at
                or head.watcher_queue[0] != self._watcher_at)


def _readable(address: int, size: int) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    rfd, wfd = os.pipe()
    try:
        return libc.write(wfd, ctypes.c_void_p(address), size) == size
    finally:
        os.close(rfd)
        os.close(wfd)

