# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""loop.add_signal_handler() for an asyncio or uvloop guest (SignalRelay).

uvloop watches signals only inside run_forever(), which a guest loop is
never in while Tk waits. The relay, used for asyncio's loops as well (one
behaviour for both), delivers them to the guest and wakes it through its
fd; the asyncio host installs it on the loop instance (main thread only).
"""

from __future__ import annotations

import asyncio
import errno
import signal
import socket

from ._clock import HeldHandle, run_held

__all__ = ["SignalRelay"]


def _ignore_signal(signum, frame):
    """Python handler for signals with a loop handler: the C-level handler
    writes the number to the wakeup fd, which is all we need."""


class SignalRelay:
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
                self._loop.call_soon(run_held, handle)

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
        self._handlers[sig] = HeldHandle(callback, args, loop, None)
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
