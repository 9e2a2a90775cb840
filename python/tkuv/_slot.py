# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""asyncslot(): an async function as a plain Tk callback, started eagerly."""

from __future__ import annotations

import asyncio
import functools
from asyncio import events
from typing import Any, Callable, Coroutine, Set, TypeVar

from ._asyncio_host import host_for_loop

T = TypeVar("T")

__all__ = ["asyncslot"]

# Strong references to running slot tasks (the loop keeps only weak ones).
_running: Set[asyncio.Task] = set()


def asyncslot(async_fn: Callable[..., Coroutine[Any, Any, T]]
              ) -> Callable[..., asyncio.Task[T]]:
    """Wrap `async_fn` into a plain callable for Tk `command=`, `bind`,
    `after`, ... Each call creates a task on the running tkuv asyncio guest
    and runs it at once up to its first suspension, before returning to Tk:
    a button handler can update widgets or read their state synchronously.
    (Called while a loop iteration is already running -- e.g. from inside a
    coroutine -- it starts on the next iteration instead, like
    create_task.) Returns the task. Exceptions other than cancellation go to
    the loop's exception handler.
    """

    @functools.wraps(async_fn)
    def slot(*args: Any) -> asyncio.Task[T]:
        loop = events._get_running_loop()
        if loop is None:
            raise RuntimeError(
                "tkuv.asyncslot(%s) was called with no asyncio event loop "
                "running in this thread; start one with tkuv.run() or "
                "tkuv.start_guest_run()" % getattr(async_fn, "__qualname__",
                                                  async_fn))
        coro = async_fn(*args)
        host = host_for_loop(loop)
        if host is not None:
            task = host.run_task_eagerly(coro, _slot_done)
        else:
            task = loop.create_task(coro)     # e.g. inside asyncio.run()
            task.add_done_callback(_slot_done)
        if not task.done():
            _running.add(task)
        return task

    return slot


def _slot_done(task: asyncio.Task) -> None:
    _running.discard(task)
    if task.cancelled():
        return
    exc = task.exception()      # also marks it retrieved
    if exc is not None:
        task.get_loop().call_exception_handler({
            "message": "exception in tkuv.asyncslot callback",
            "exception": exc,
            "task": task,
        })
