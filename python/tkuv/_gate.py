# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""The gate: bounded loop iterations, callbacks still in order.

An asyncio iteration runs every callback that is ready when it starts
(uvloop's too, in C). To bound an iteration without reordering callbacks,
the excess waits outside the loop's ready queue, in the gate's `held`
queue, and enters the ready queue at the start of each iteration, a chunk
at a time. Once anything is held, every new callback must queue behind it:
call_soon() (replaced on the loop instance while the gate is closed) and
call_soon_threadsafe() (replaced for the whole run; other threads then
never touch the ready queue) append to `held` too. When `held` runs empty
the gate opens again and both go straight to the ready queue. The chunk
adapts so that an iteration takes about the host's tick_budget: a flood
from other threads costs Tk a bounded wait per tick, not one proportional
to the queue.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Deque, Optional

from ._clock import HeldHandle

__all__ = ["Gate"]


class Gate:
    """The gate of one guest loop; `clock` is its clock (_clock.py),
    `hooks` the LoopHooks that put call_soon() in place while it is
    closed. Tk thread, except call_soon_threadsafe()."""

    def __init__(self, loop: Any, clock: Any, hooks: Any) -> None:
        self._loop, self._clock, self._hooks = loop, clock, hooks
        self.held: Deque[Any] = collections.deque()
        self._gated = False
        self._lock = threading.RLock()
        self._chunk = 0
        # The class's method: the gate's own replaces it on the instance.
        self._base_threadsafe = loop.call_soon_threadsafe

    def refill(self, limit: Optional[int]) -> int:
        """Start of an iteration: close the gate if more than `limit`
        callbacks are ready (None: never), feed the ready queue from
        `held`. Returns how many were moved."""
        if limit is None:
            return 0
        ready, held = self._clock.ready, self.held
        with self._lock:
            if not self._gated:
                if len(ready) <= limit:
                    return 0
                # Other threads append through our call_soon_threadsafe,
                # under this lock: the tail is ours to move.
                held.extendleft([ready.pop()
                                 for _ in range(len(ready) - limit)])
                self._gated = True
                self._chunk = max(self._chunk, limit)
                self._hooks.replace("call_soon", self.call_soon)
            n = min(len(held), self._chunk)
            self._clock.feed(held, n)
            if not held:
                self._open()
            return n

    def adapt(self, moved: int, elapsed: float, budget: float,
              limit: Optional[int]) -> None:
        """An iteration that ran `moved` held callbacks took `elapsed`
        seconds: grow or shrink the chunk towards `budget`."""
        if elapsed < budget and moved >= self._chunk:
            self._chunk = min(self._chunk * 2, 1 << 16)
        elif elapsed > 2 * budget:
            self._chunk = max(self._chunk // 2, limit or 1)

    def flush(self) -> None:
        """Everything held into the ready queue, gate open: for running the
        loop natively, or for its next run."""
        if self._loop.is_closed():
            return
        with self._lock:
            self._clock.feed(self.held, len(self.held))
            self._open()

    def _open(self):
        """Back to the loop's own call_soon (caller holds the lock)."""
        self._gated = False
        self._hooks.restore("call_soon", self.call_soon)

    def call_soon(self, callback: Any, *args: Any,
                  context: Any = None) -> Any:
        """loop.call_soon() while the gate is closed."""
        loop = self._loop
        handle = type(loop).call_soon(loop, callback, *args, context=context)
        ready = self._clock.ready
        if ready and ready[-1] is handle:
            ready.pop()
            self.held.append(handle)
        return handle

    def call_soon_threadsafe(self, callback: Any, *args: Any,
                             context: Any = None) -> Any:
        """loop.call_soon_threadsafe() for the whole run; any thread."""
        with self._lock:
            if not self._gated:
                return self._base_threadsafe(callback, *args,
                                             context=context)
            if self._loop.is_closed():
                raise RuntimeError("Event loop is closed")
            handle = HeldHandle(callback, args, self._loop, context)
            self.held.append(handle)
            return handle
