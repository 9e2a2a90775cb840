# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""tkuv: run asyncio, uvloop or Trio inside Tkinter's mainloop, without polling.

    import tkinter, tkuv, uvloop
    root = tkinter.Tk()
    async def main(): ...
    tkuv.run(main(), root=root, loop_factory=uvloop.new_event_loop)

The loop is a *guest*: tkuv watches the loop's own backend fd (through Tcl's
notifier, or a C poll thread: tkuv::waitmode) and Tk's thread runs one loop
iteration at a time (see _host.py, _asyncio_host.py, _trio.py). Names:

run(coro, *, root=None, loop_factory=None, debug=False, flavor="asyncio")
    Like asyncio.run(), with Tk's mainloop as the host.
Runner(*, root=None, flavor="asyncio", loop_factory=None, debug=None, ...)
    Like asyncio.Runner: several run() calls on one loop.
start_guest_run(async_fn, *args, root, done_callback, loop_factory=None, ...)
    Start a guest and return its Host at once; done_callback(outcome) later.
asyncslot(async_fn)
    A Tk callback that starts async_fn eagerly as a task on the guest loop.
current_host()
    The Host active in this thread (e.g. to call .wake() or .guest_info()).
modal(fn, *args, **kwargs), event(widget, sequence), changed(var)
    Await a modal dialog (the loop keeps running), a Tk event, a write to a
    Tk variable.
Host, AsyncioHost, TrioHost
    The drivers; subclass to override wake(), next_timeout(), ...
Outcome, Value, Error
    What done_callback receives.
require(tk)
    `package require tkuv` in a Tk interpreter (done by the above).
__version__
    tkuv's version (the repository's VERSION file).
"""

from ._bridge import VERSION as __version__
from ._bridge import require
from ._asyncio_host import AsyncioHost
from ._host import Host
from ._outcome import Error, Outcome, Value
from ._run import Runner, current_host, run, start_guest_run
from ._slot import asyncslot
from ._trio import TrioHost
from ._ui import changed, event, modal

__all__ = ["run", "Runner", "start_guest_run", "asyncslot", "current_host",
           "modal", "event", "changed", "Host", "AsyncioHost", "TrioHost",
           "Outcome", "Value", "Error", "require"]
