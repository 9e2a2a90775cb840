# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""The result of a guest run: a value or an exception, like Trio's `outcome`.

Kept tiny and local so asyncio users need nothing beyond the standard library.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

__all__ = ["Outcome", "Value", "Error", "capture_task"]


class Outcome:
    """Base class: `.unwrap()` returns the value or raises the exception."""

    __slots__ = ()
    value: Any = None
    error: Optional[BaseException] = None

    def unwrap(self) -> Any:
        raise NotImplementedError


class Value(Outcome):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def unwrap(self) -> Any:
        return self.value

    def __repr__(self) -> str:
        return "Value(%r)" % (self.value,)


class Error(Outcome):
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        if not isinstance(error, BaseException):
            raise TypeError("Error() needs an exception, got %r" % (error,))
        self.error = error

    def unwrap(self) -> Any:
        # Raise the original object so its traceback and chaining survive,
        # without leaving a frame -> self -> error -> traceback -> frame cycle.
        error = self.error
        try:
            raise error
        finally:
            del error, self

    def __repr__(self) -> str:
        return "Error(%r)" % (self.error,)


def capture_task(task: asyncio.Future) -> Outcome:
    """The outcome of a finished asyncio task (cancellation included)."""
    try:
        return Value(task.result())
    except BaseException as exc:  # CancelledError is a BaseException
        return Error(exc)


def from_foreign(outcome: Any) -> Outcome:
    """Convert Trio's outcome.Value/Error (duck-typed) to ours."""
    if isinstance(outcome, Outcome):
        return outcome
    if hasattr(outcome, "error"):
        return Error(outcome.error)
    return Value(outcome.value)
