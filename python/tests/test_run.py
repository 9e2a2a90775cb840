# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""tkuv.run and tkuv.Runner (tkuv/_run.py), in a real Tk under Xvfb: for
asyncio and uvloop (one class per loop) and for Trio."""

import asyncio
import contextvars
import os
import signal
import threading
import tkinter
import unittest
import warnings

from support import TkTestCase, for_each_loop, tkuv, trio, uvloop

if trio is not None:
    import trio.testing

_var = contextvars.ContextVar("tkuv_test_var", default="unset")


class Boom(Exception):
    pass


class RunTests:
    loop_factory = None

    def run_guest(self, coro):
        return tkuv.run(coro, root=self.root, loop_factory=self.loop_factory)

    async def until(self, predicate):
        while not predicate():
            await asyncio.sleep(0.005)

    # -- tkuv.run -------------------------------------------------------------

    def test_own_root(self):
        async def main():
            return str(tkinter._default_root)
        self.assertEqual(tkuv.run(main(), loop_factory=self.loop_factory),
                         ".")

    def test_debug_mode(self):
        async def main():
            loop = asyncio.get_running_loop()
            await asyncio.sleep(0.01)
            return loop.get_debug()
        self.assertTrue(tkuv.run(main(), root=self.root, debug=True,
                                 loop_factory=self.loop_factory))

    def test_runtime_error_when_loop_running(self):
        async def other():
            return 1

        async def main():
            with warnings.catch_warnings():
                warnings.simplefilter("error")      # no "never awaited"
                with self.assertRaisesRegex(RuntimeError, "already running"):
                    tkuv.run(other(), root=self.root)
                with self.assertRaisesRegex(RuntimeError, "already running"):
                    tkuv.start_guest_run(other, root=self.root,
                                         done_callback=print)
            return "ok"
        self.assertEqual(self.run_guest(main()), "ok")

    def test_runtime_error_inside_asyncio_run(self):
        async def other():
            return 1

        async def main():
            with self.assertRaises(RuntimeError):
                tkuv.run(other(), root=self.root)
        asyncio.run(main())

    # -- Runner ---------------------------------------------------------------

    def test_runner_runs_twice_on_one_loop(self):
        label = tkinter.Label(self.root, text="start")
        log = []

        async def background():
            try:
                while True:
                    log.append("bg")
                    await asyncio.sleep(0.005)
            finally:
                label["text"] = "bg done"       # the window still exists
                # close() shuts the loop down as a guest of Tk.
                log.append(("bg finally", tkuv.current_host() is not None))

        async def first():
            _var.set("first")
            asyncio.get_running_loop().bg = asyncio.create_task(background())
            await asyncio.sleep(0.02)
            return asyncio.get_running_loop()

        async def second():
            loop = asyncio.get_running_loop()
            n = log.count("bg")
            await self.until(lambda: log.count("bg") > n + 2)
            return loop, loop.bg.done(), _var.get()

        with tkuv.Runner(root=self.root,
                         loop_factory=self.loop_factory) as runner:
            loop = runner.get_loop()
            self.assertIs(runner.run(first()), loop)
            self.assertFalse(loop.is_closed())
            self.assertEqual(runner.run(second()), (loop, False, "first"))
            with self.assertRaises(Boom):
                runner.run(self._raise())
            self.assertEqual(runner.run(asyncio.sleep(0, "third")), "third")
        self.assertTrue(loop.is_closed())
        self.assertEqual(log[-1], ("bg finally", True))
        self.assertEqual(label["text"], "bg done")
        self.assertTrue(self.root.winfo_exists())   # not the Runner's root
        runner.close()                              # again: nothing
        with self.assertRaisesRegex(RuntimeError, "closed"):
            runner.run(asyncio.sleep(0))

    async def _raise(self):
        await asyncio.sleep(0)
        raise Boom()

    @unittest.skipIf(uvloop is None, "uvloop is not installed")
    def test_flavor_uvloop(self):
        async def main():
            return type(asyncio.get_running_loop()).__module__
        self.assertEqual(tkuv.run(main(), root=self.root, flavor="uvloop"),
                         "uvloop")
        with tkuv.Runner(root=self.root, flavor="uvloop") as runner:
            self.assertIsInstance(runner.get_loop(), uvloop.Loop)

    def test_runner_own_root_and_context(self):
        ctx = contextvars.copy_context()
        ctx.run(_var.set, "mine")

        async def main():
            return str(tkinter._default_root), _var.get()
        runner = tkuv.Runner(loop_factory=self.loop_factory)
        try:
            self.assertEqual(runner.run(main(), context=ctx), (".", "mine"))
            root = runner.root
        finally:
            runner.close()
        with self.assertRaises(tkinter.TclError):
            root.winfo_exists()
        self.assertIsNone(runner.root)

    def test_runner_misuse(self):
        async def other():
            return 1

        with tkuv.Runner(root=self.root,
                         loop_factory=self.loop_factory) as runner:
            async def main():
                with self.assertRaisesRegex(RuntimeError, "already running"):
                    runner.run(other())
                with self.assertRaisesRegex(RuntimeError, "already running"):
                    runner.close()
                return "ok"
            self.assertEqual(runner.run(main()), "ok")
            with self.assertRaises(TypeError):
                runner.run(other)
        with self.assertRaisesRegex(TypeError, "clock"):
            tkuv.Runner(clock=None)
        with self.assertRaisesRegex(ValueError, "flavor"):
            tkuv.Runner(flavor="curio")
        with self.assertRaisesRegex(TypeError, "loop_factory"):
            tkuv.Runner(flavor="uvloop", loop_factory=self.loop_factory)
        with self.assertRaisesRegex(TypeError, "clock"):
            tkuv.run(other(), root=self.root, clock=None)

    def test_runner_root_destroyed_between_runs(self):
        log = []

        async def background():
            try:
                await asyncio.sleep(30)
            finally:
                log.append("background")

        async def first():
            asyncio.create_task(background())
            await asyncio.sleep(0)

        runner = tkuv.Runner(root=self.root, loop_factory=self.loop_factory)
        runner.run(first())
        loop = runner.get_loop()
        self.root.destroy()
        with self.assertRaisesRegex(RuntimeError, "destroyed"):
            runner.run(first())
        runner.close()          # natively, without the window
        self.assertTrue(loop.is_closed())
        self.assertEqual(log, ["background"])

    def test_runner_close_without_window_ends_late_tasks(self):
        # close() without a window shuts the loop down natively; a task
        # started by another's finally block is cancelled too, not left
        # pending in a closed loop.
        late = []

        async def background():
            try:
                await asyncio.sleep(30)
            finally:
                late.append(asyncio.get_running_loop().create_task(
                    asyncio.sleep(30)))

        async def first():
            asyncio.create_task(background())
            await asyncio.sleep(0)

        runner = tkuv.Runner(root=self.root, loop_factory=self.loop_factory)
        runner.run(first())
        self.root.destroy()
        runner.close()
        self.assertEqual(len(late), 1)
        self.assertTrue(late[0].cancelled())

    def test_runner_ctrl_c(self):
        log = []

        async def background():
            try:
                await asyncio.sleep(30)
            finally:
                log.append("background")

        async def first():
            asyncio.create_task(background())
            threading.Timer(0.1, os.kill,
                            (os.getpid(), signal.SIGINT)).start()
            try:
                await asyncio.sleep(30)
            finally:
                log.append("first")

        with tkuv.Runner(root=self.root,
                         loop_factory=self.loop_factory) as runner:
            with self.assertRaises(KeyboardInterrupt):
                runner.run(first())
            self.assertEqual(log, ["first"])
            # As with asyncio.Runner, the loop and its tasks carry on.
            self.assertEqual(runner.run(asyncio.sleep(0.01, "again")),
                             "again")
            self.assertEqual(log, ["first"])
        self.assertEqual(log, ["first", "background"])

    def test_runner_window_closed_during_a_run(self):
        log = []

        async def worker():
            try:
                await asyncio.sleep(30)
            finally:
                log.append("worker")

        async def main():
            asyncio.create_task(worker())
            self.root.after(30, self.root.destroy)
            await asyncio.sleep(30)

        with tkuv.Runner(root=self.root,
                         loop_factory=self.loop_factory) as runner:
            self.assertIsNone(runner.run(main()))
            # The window went: the loop was shut down with the run.
            self.assertEqual(log, ["worker"])
            self.assertTrue(runner.get_loop().is_closed())
            with self.assertRaisesRegex(RuntimeError, "destroyed"):
                runner.run(main())

    def test_runner_quit_during_a_run(self):
        async def main():
            self.root.after(30, self.root.quit)
            await asyncio.sleep(30)

        with tkuv.Runner(root=self.root,
                         loop_factory=self.loop_factory) as runner:
            self.assertIsNone(runner.run(main()))
            self.assertTrue(self.root.winfo_exists())
            with self.assertRaisesRegex(RuntimeError, "loop is closed"):
                runner.run(main())


globals().update(for_each_loop(RunTests))
del RunTests


@unittest.skipIf(trio is None, "trio is not installed")
class TrioRunTests(TkTestCase):

    def run_trio(self, main, **options):
        return tkuv.run(main, root=self.root, flavor="trio", **options)

    def test_runner_and_trio_options(self):
        clock = trio.testing.MockClock(autojump_threshold=0)
        events = []

        class Recorder(trio.abc.Instrument):
            def before_run(self):
                events.append("before_run")

            def after_run(self):
                events.append("after_run")

        async def sleepy():
            t0 = trio.current_time()
            await trio.sleep(1000)      # the mock clock jumps
            return (trio.lowlevel.current_clock() is clock,
                    trio.current_time() - t0)

        async def group():
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._boom)

        with tkuv.Runner(root=self.root, flavor="trio", clock=clock,
                         instruments=[Recorder()],
                         strict_exception_groups=True) as runner:
            self.assertEqual(runner.run(sleepy()), (True, 1000))
            self.assertEqual(runner.run(sleepy), (True, 1000))
            with self.assertRaises(BaseExceptionGroup) as cm:
                runner.run(group())
            self.assertIsInstance(cm.exception.exceptions[0], Boom)
            with self.assertRaises(RuntimeError):
                runner.get_loop()
        self.assertEqual(events, ["before_run", "after_run"] * 3)
        # tkuv.run passes them on too; without strict_exception_groups the
        # error is Boom itself (Trio 0.22's default).
        self.assertEqual(self.run_trio(sleepy(), clock=clock), (True, 1000))
        with self.assertRaises(Boom):
            self.run_trio(group())
        with self.assertRaisesRegex(TypeError, "done_callback"):
            tkuv.Runner(flavor="trio", done_callback=print)
        with self.assertRaisesRegex(TypeError, "loop_factory"):
            tkuv.Runner(flavor="trio", loop_factory=asyncio.new_event_loop)

    async def _boom(self):
        await trio.sleep(0)
        raise Boom()


if __name__ == "__main__":
    unittest.main()
