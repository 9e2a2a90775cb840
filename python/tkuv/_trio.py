# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""Trio in Tk, through trio.lowlevel.start_guest_run().

Trio's guest mode needs one thing from the host: run_sync_soon_threadsafe(fn),
callable from any thread, never blocking. tkinter's tk.call() must not be
used from Trio's I/O thread, so the host side is a deque plus a pipe: the
producer appends fn and writes a byte; the pipe's read end is the fd of a
`tkuv::guest`, so the C side sees it readable and ticks the guest, and the
tick (on the Tk thread) drains the pipe and runs what is queued. Trio
keeps its own timeouts in its I/O thread, so the guest's timeout is always -1
(or 0 when the queue was not emptied).
"""

from __future__ import annotations

import collections
import os
import select
import threading
import tkinter
from typing import Any, Callable

from ._host import Host
from ._outcome import from_foreign

__all__ = ["TrioHost"]


class TrioHost(Host):
    """Runs a Trio guest run in Tk. `cancel()` cancels the main function
    (through its cancel scope); a run cancelled this way ends with
    Value(None).
    """

    flavor = "trio"

    def __init__(self, root: tkinter.Misc) -> None:
        super().__init__(root)
        self._queue = collections.deque()
        self._lock = threading.Lock()   # guards the pipe's lifetime
        self._rfd = self._wfd = None
        self._token = None
        self._scope = None
        self._cancel_requested = False

    def start(self, async_fn: Callable[..., Any], args: Any,
              done_callback: Callable[[Any], None],
              **trio_options: Any) -> None:
        """Start async_fn(*args) with trio.lowlevel.start_guest_run;
        trio_options (clock, instruments, strict_exception_groups, ...) are
        passed on to it."""
        import trio

        rfd, wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._rfd, self._wfd = rfd, wfd
        try:
            self._start_guest(rfd, done_callback)
        except BaseException:
            self._close_pipe()
            raise
        try:
            trio.lowlevel.start_guest_run(
                self._main, async_fn, args,
                run_sync_soon_threadsafe=self.run_sync_soon_threadsafe,
                run_sync_soon_not_threadsafe=self.run_sync_soon_threadsafe,
                done_callback=self._trio_done,
                host_uses_signal_set_wakeup_fd=False, **trio_options)
        except BaseException:
            # e.g. "Attempted to call run() from inside a run()"
            self._state = "done"
            self._guest.close()
            self._forget()
            self._close_pipe()
            raise
        return self

    async def _main(self, async_fn, args):
        import trio

        self._token = trio.lowlevel.current_trio_token()
        with trio.CancelScope() as scope:
            self._scope = scope
            if self._cancel_requested:
                scope.cancel()
            return await async_fn(*args)
        return None     # cancelled by the host

    # -- what Trio calls --------------------------------------------------

    def run_sync_soon_threadsafe(self, fn: Callable[[], object]) -> None:
        """Queue fn to run on the Tk thread soon. Any thread; never blocks."""
        self._queue.append(fn)
        # Appended before the byte is written and drained after the pipe is
        # read, so a wakeup is never lost (at worst one tick finds nothing).
        with self._lock:
            if self._wfd is None:
                return
            try:
                os.write(self._wfd, b"\0")
            except BlockingIOError:
                pass        # the pipe is full, hence readable: a tick comes

    def _trio_done(self, trio_outcome):
        self._deliver(from_foreign(trio_outcome))

    def cancel(self) -> None:
        self._cancel_requested = True
        if self._token is not None and self._scope is not None:
            try:
                self._token.run_sync_soon(self._scope.cancel)
            except Exception:   # trio.RunFinishedError: nothing to cancel
                pass

    # -- ticks --------------------------------------------------------------

    def _tick(self):
        self._drain_pipe()
        self._run_queue()
        return 0 if self._queue else -1

    def _drain_pipe(self):
        try:
            while os.read(self._rfd, 4096):
                pass
        except BlockingIOError:
            pass

    def _run_queue(self):
        queue = self._queue
        # Only what is queued now; newer entries wait for the next tick so Tk
        # events get their turn in between.
        for _ in range(len(queue)):
            fn = queue.popleft()
            try:
                fn()
            except Exception as exc:
                self.report_exception(exc, "Trio host callback raised")
            if self._state == "done":
                break

    def _finish_natively(self):
        # Tk will not tick us any more: wait on the pipe ourselves until Trio
        # reports done (its I/O thread keeps calling run_sync_soon_threadsafe).
        self.cancel()
        while self._state == "finishing":
            if not self._queue:
                select.select([self._rfd], [], [])
            self._drain_pipe()
            self._run_queue()

    def _release(self):
        self._close_pipe()

    def _close_pipe(self):
        with self._lock:
            for fd in (self._rfd, self._wfd):
                if fd is not None:
                    os.close(fd)
            self._rfd = self._wfd = None
