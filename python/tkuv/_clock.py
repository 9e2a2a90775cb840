# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""What the asyncio host needs to know of a guest loop, and asyncio's answer.

A *clock* stands between AsyncioHost and one loop object. It gives

* `fd`: the loop's backend fd, which the C side watches (asyncio: its
  epoll selector; uvloop: libuv's epoll fd); I/O and
  call_soon_threadsafe() (which write the loop's self-pipe / uv_async) make
  it readable, so they wake the guest by themselves;
* `ready`: the loop's ready queue (a deque of Handles);
* `run_once()`: one non-blocking iteration;
* `next_when()`: when the loop next has work that its fd will not show --
  NOW, a loop.time() value, or None;
* `writes_queued()`: a transport write waits for the next iteration;
* `feed(held, n)`: move the first n handles of `held` (a deque of the
  host's, see _gate.py) into the ready queue, in order;
* `permanent_hooks`: loop methods to replace on the instance for the whole
  run (see _asyncio_host.LoopHooks).

_AsyncioClock below reads asyncio's BaseEventLoop; uvloop's clock, which
has to find the same things inside a Cython object, is in _uvloop.py.
"""

from __future__ import annotations

from asyncio import events
from typing import Any, Deque, Dict

__all__ = ["NOW", "AsyncioClock", "HeldHandle", "run_held", "noop"]

# next_when(): work is ready now.
NOW = "now"


def noop() -> None:
    pass


class HeldHandle(events.Handle):
    """A callback given to call_soon_threadsafe() (or to a signal handler)
    that waits in the host's queue of held callbacks rather than the loop's
    own ready queue; see _gate.py."""

    __slots__ = ()



def run_held(handle: HeldHandle) -> None:
    """Run a HeldHandle from the loop's own ready queue (uvloop runs only
    its own Handle type there: ours go in as this callback)."""
    if not handle._cancelled:
        handle._run()


class AsyncioClock:
    """asyncio's BaseEventLoop: read `_ready` and `_scheduled` directly."""

    permanent_hooks: Dict[str, Any] = {}

    def __init__(self, loop: Any) -> None:
        try:
            self.fd = loop._selector.fileno()
        except AttributeError:
            raise TypeError("tkuv needs a selector event loop whose selector "
                            "has a file descriptor (epoll, kqueue, poll "
                            "devices); %r has none" % (loop,)) from None
        self._loop = loop
        self.ready = loop._ready

    def run_once(self) -> None:
        """One non-blocking iteration."""
        run_forever_once(self._loop)

    def next_when(self) -> Any:
        loop = self._loop
        if loop._ready:
            return NOW
        if loop._scheduled:
            # A cancelled head only costs one early tick; asyncio itself
            # drops it then.
            return loop._scheduled[0]._when
        return None

    def writes_queued(self) -> bool:
        return False        # asyncio's transports write at once

    def feed(self, held: Deque[events.Handle], n: int) -> None:
        ready = self.ready
        for _ in range(n):
            ready.append(held.popleft())


def run_forever_once(loop: Any) -> None:
    """One iteration through the public API: stop(), then run_forever().
    The host keeps the loop set as the running loop between ticks (see
    _asyncio_host.py); run_forever() refuses to start unless it is cleared
    for the call."""
    events._set_running_loop(None)
    try:
        loop.stop()
        loop.run_forever()
    finally:
        events._set_running_loop(loop)
