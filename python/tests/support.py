# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""Shared helpers for the tkuv Python tests: a fresh Tk root per test with the
build tree's tkuv loaded, the two asyncio loop flavours, and a watchdog so a
bug fails a test instead of hanging the suite."""

import asyncio
import faulthandler
import gc
import os
import signal
import sys
import time
import tkinter
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD_DIR = os.environ.get("TKUV_BUILD_DIR") or REPO_ROOT

sys.path.insert(0, os.path.join(REPO_ROOT, "python"))

import tkuv  # noqa: E402

try:
    import uvloop
except ImportError:         # pragma: no cover - Debian's python3-uvloop
    uvloop = None

try:
    import trio
except ImportError:         # pragma: no cover
    trio = None

# A shell that starts the suite in the background without job control
# (`cmd &` in a script) makes it ignore SIGINT, and Python then installs no
# KeyboardInterrupt handler: the Ctrl-C tests need Python's own.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Generous bounds: they catch hangs, not slowness.
WATCHDOG_S = 20
WAIT_S = 10


def new_root():
    root = tkinter.Tk()
    root.geometry("200x100+0+0")
    # First on auto_path: with an installed tkuv of the same version, the
    # directory listed earlier wins, and the tests are for this build.
    root.tk.call("set", "auto_path",
                 root.tk.call("linsert", root.tk.call("set", "auto_path"),
                              0, BUILD_DIR))
    root.tk.call("package", "require", "tkuv")
    return root


class TkTestCase(unittest.TestCase):
    """Gives each test self.root, destroyed afterwards. If the watchdog
    fires, the root is destroyed (ending any mainloop / guest run) and the
    test fails."""

    def setUp(self):
        self.root = new_root()
        self.watchdog_fired = False
        self._watchdog = self.root.after(WATCHDOG_S * 1000, self._bark)
        # A last resort if even Tk stops processing events.
        faulthandler.dump_traceback_later(WATCHDOG_S * 3, exit=True)

    def _bark(self):
        self.watchdog_fired = True
        self.root.destroy()

    def tearDown(self):
        faulthandler.cancel_dump_traceback_later()
        try:
            # Tcl timers belong to the thread, not the window: a watchdog
            # left behind by a test that destroyed its root would fire in a
            # later test.
            self.root.tk.call("after", "cancel", self._watchdog)
        except tkinter.TclError:
            pass
        try:
            if self.root.winfo_exists():
                # Leave nothing behind that would fire (and complain about a
                # destroyed application) in the next test's event loop.
                for after_id in self.root.tk.splitlist(
                        self.root.tk.call("after", "info")):
                    self.root.after_cancel(after_id)
                self.root.update_idletasks()
                self.root.destroy()
        except tkinter.TclError:
            pass
        self.root = None
        # Free this test's reference cycles (widgets among them) on this
        # thread; see tkuv.run().
        gc.collect()
        self.assertFalse(self.watchdog_fired, "watchdog: the test hung")

    def pump_until(self, predicate, timeout=WAIT_S):
        """Process Tk events until predicate() is true (or fail)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.fail("condition not reached in %ss" % timeout)
            self.root.tk.dooneevent(0)


LOOP_FACTORIES = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop if uvloop is not None else None,
}


def for_each_loop(mixin):
    """Make one TestCase class per loop flavour from a mixin of tests that
    use self.loop_factory; returns them as a dict for the module globals."""
    classes = {}
    for name, factory in LOOP_FACTORIES.items():
        cls_name = "%s_%s" % (mixin.__name__, name)
        cls = type(cls_name, (mixin, TkTestCase), {
            "__module__": mixin.__module__,
            "loop_name": name,
            "loop_factory": staticmethod(factory),
        })
        if factory is None:
            cls = unittest.skip("%s is not installed" % name)(cls)
        classes[cls_name] = cls
    return classes
