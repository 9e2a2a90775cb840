# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""uvloop's clock and the accelerator (tkuv/_uvloop.py): what they find in
a live uvloop loop, and what they do when the layout is not the one they
expect (fed objects that only pretend to be a uvloop loop, or a live loop
whose Python side contradicts its C fields): refuse with LookupError, and
the guest falls back to run_forever() with a warning, still correct."""

import asyncio
import collections
import unittest
import warnings
from unittest import mock

from support import TkTestCase, for_each_loop, tkuv, uvloop

from tkuv import _uvloop
from tkuv._clock import NOW, noop
from tkuv._uvloop import (LibuvQueues, UvloopClock, UvRunner,
                          extension_file, find_last_error)


def counting_run_forever(loop, calls):
    """Count run_forever() calls on `loop` (an instance attribute)."""
    real = loop.run_forever
    loop.run_forever = lambda: (calls.append(1), real())[1]


class FakeLoop:
    """Three pointer-sized slots after PyObject_HEAD, the second where
    uvloop keeps its uv_loop_t pointer, and a backend fd no uv_loop_t
    has."""

    __slots__ = ("a", "b", "c")

    def _get_backend_id(self):
        return -2


class TinyLoop:
    __slots__ = ()

    def _get_backend_id(self):
        return -2


@unittest.skipIf(uvloop is None, "uvloop is not installed")
class UvloopClockTests(unittest.TestCase):

    def new_loop(self):
        loop = uvloop.new_event_loop()
        self.addCleanup(loop.close)
        return loop

    def new_clock(self, loop):
        clock = UvloopClock(loop)
        loop.__dict__.update(clock.permanent_hooks)
        self.addCleanup(loop.__dict__.clear)
        return clock

    def test_probes_find_the_loop_internals(self):
        loop = self.new_loop()
        with self.assertNoLogs("tkuv"):
            clock = self.new_clock(loop)
        self.assertEqual(clock.fd, loop._get_backend_id())
        self.assertIsInstance(clock._fast, UvRunner)
        self.assertIsInstance(clock._libuv, LibuvQueues)
        self.assertEqual(len(clock._stream_sets), 2)
        # A new loop's libuv has watchers to start: work its fd does not
        # show, done by the first iteration.
        self.assertIs(clock.next_when(), NOW)
        clock.run_once()
        self.assertIsNone(clock.next_when())
        self.assertFalse(clock._libuv.busy())
        self.assertFalse(clock.writes_queued())
        # The ready deque is the loop's own; the timer heap follows
        # call_later/call_at and the loop's live-timer set.
        handle = loop.call_soon(noop)
        self.assertIs(clock.ready[-1], handle)
        self.assertIs(clock.next_when(), NOW)
        clock.ready.clear()
        timer = loop.call_later(10, noop)
        self.assertEqual(clock.next_when(), timer.when())
        earlier = loop.call_at(loop.time() + 5, noop)
        self.assertEqual(clock.next_when(), earlier.when())
        earlier.cancel()
        self.assertEqual(clock.next_when(), timer.when())
        timer.cancel()
        self.assertIsNone(clock.next_when())

    def test_run_once_without_run_forever(self):
        loop = self.new_loop()
        clock = self.new_clock(loop)
        calls, ran = [], []
        counting_run_forever(loop, calls)
        loop.call_soon(ran.append, 1)
        clock.run_once()
        loop.call_soon(ran.append, 2)
        clock.run_once()
        self.assertEqual((ran, calls), ([1, 2], []))
        self.assertFalse(loop.is_running())

    def test_run_once_raises_what_stopped_the_loop(self):
        loop = self.new_loop()
        clock = self.new_clock(loop)
        ran = []

        def interrupt():
            raise KeyboardInterrupt

        loop.call_soon(interrupt)
        with self.assertRaises(KeyboardInterrupt):
            clock.run_once()
        loop.call_soon(ran.append, "after")
        clock.run_once()
        self.assertEqual(ran, ["after"])

    def test_debug_mode_runs_through_run_forever(self):
        loop = self.new_loop()
        clock = self.new_clock(loop)
        loop.set_debug(True)
        calls, ran = [], []
        counting_run_forever(loop, calls)
        loop.call_soon(ran.append, 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # debug mode's slow callbacks
            clock.run_once()
        self.assertEqual((ran, calls), ([1], [1]))

    def test_layout_contradicting_the_loop_falls_back(self):
        # The C field read as `debug` does not say what get_debug() says:
        # the accelerator is not used, with a warning; iterations still run.
        loop = self.new_loop()
        loop.get_debug = lambda: True
        with self.assertRaisesRegex(LookupError, "layout"):
            UvRunner(loop, collections.deque())
        with self.assertLogs("tkuv", "WARNING") as logs:
            clock = self.new_clock(loop)
        del loop.get_debug
        self.assertIn("cannot run uvloop iterations directly",
                      logs.output[0])
        self.assertIsNone(clock._fast)
        self.assertIsInstance(clock._libuv, LibuvQueues)
        calls, ran = [], []
        counting_run_forever(loop, calls)
        loop.call_soon(ran.append, 1)
        clock.run_once()
        self.assertEqual((ran, calls), ([1], [1]))

    def test_wrong_ready_queue_is_refused(self):
        loop = self.new_loop()
        with self.assertRaisesRegex(LookupError, "layout"):
            find_last_error(loop, collections.deque())

    def test_objects_that_are_no_uvloop_loop_are_refused(self):
        fake = FakeLoop()
        with self.assertRaisesRegex(LookupError, "no compiled module"):
            extension_file(fake)
        with self.assertRaisesRegex(LookupError, "no compiled module"):
            UvRunner(fake, collections.deque())
        with self.assertRaisesRegex(LookupError, "too small"):
            find_last_error(fake, collections.deque())
        with self.assertRaisesRegex(LookupError, "too small"):
            LibuvQueues(TinyLoop())
        # Where the uv_loop_t pointer should be: NULL, then a pointer to an
        # object that is not a uv_loop_t.
        with self.assertRaisesRegex(LookupError, "no uv_loop_t pointer"):
            LibuvQueues(fake)
        fake.b = None
        with self.assertRaisesRegex(LookupError, "backend_fd"):
            LibuvQueues(fake)

    def test_loop_without_findable_queues_is_refused(self):
        # gc.get_referents() finds no ready deque and no timer set.
        probes = []

        class Probe:
            def cancel(self):
                probes.append("cancelled")

        class Timers(FakeLoop):
            __slots__ = ()

            def call_later(self, delay, callback):
                return Probe()

        with self.assertRaisesRegex(RuntimeError, "not supported"):
            UvloopClock(Timers())
        self.assertEqual(probes, ["cancelled"])

    def test_libuv_queues_unreadable_falls_back(self):
        loop = self.new_loop()
        with mock.patch.object(_uvloop, "_readable", return_value=False), \
                self.assertLogs("tkuv", "WARNING") as logs:
            clock = self.new_clock(loop)
        self.assertIn("cannot see libuv's internal queues", logs.output[0])
        self.assertIsNone(clock._libuv)
        clock.run_once()
        self.assertIsNone(clock.next_when())


class GuestTests:
    """Guest runs use the accelerator (uvloop) or not (asyncio)."""

    def test_uvloop_ticks_without_run_forever(self):
        # uvloop's run_forever() sets signal handling up and down on every
        # call; tkuv runs its iterations directly (see _uvloop.UvRunner).
        # asyncio's guest ticks are run_forever() calls.
        calls = []

        async def main():
            loop = asyncio.get_running_loop()
            real = loop.run_forever
            loop.run_forever = lambda: (calls.append(1), real())[1]
            for _ in range(20):
                await asyncio.sleep(0)
            await asyncio.sleep(0.01)
            del loop.run_forever
            return len(calls)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            n = tkuv.run(main(), root=self.root,
                         loop_factory=self.loop_factory)
        if self.loop_name == "uvloop":
            self.assertEqual(n, 0)
        else:
            self.assertGreater(n, 0)


globals().update(for_each_loop(GuestTests))
del GuestTests


@unittest.skipIf(uvloop is None, "uvloop is not installed")
class FallbackGuestTests(TkTestCase):

    def test_guest_without_the_accelerator(self):
        # No uv_run to be had: every tick goes through run_forever(), with a
        # warning, and the run is the same.
        calls = []

        async def main():
            loop = asyncio.get_running_loop()
            counting_run_forever(loop, calls)
            results = await asyncio.gather(*(asyncio.sleep(0.001 * i, i)
                                             for i in range(5)))
            loop.call_soon(calls.append, "soon")
            await asyncio.sleep(0.01)
            del loop.run_forever
            return results
        with mock.patch.object(_uvloop, "extension_file",
                               side_effect=LookupError("hidden")), \
                self.assertLogs("tkuv", "WARNING") as logs:
            self.assertEqual(tkuv.run(main(), root=self.root,
                                      loop_factory=uvloop.new_event_loop),
                             [0, 1, 2, 3, 4])
        self.assertIn("hidden", logs.output[0])
        self.assertIn("soon", calls)
        self.assertGreater(calls.count(1), 0)

if __name__ == "__main__":
    unittest.main()
