# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""Trio as a guest of a real Tk mainloop (trio.lowlevel.start_guest_run)."""

import threading
import time
import unittest

from support import WAIT_S, TkTestCase, tkuv, trio


class Boom(Exception):
    pass


@unittest.skipIf(trio is None, "trio is not installed")
class TrioGuestTests(TkTestCase):

    def run_trio(self, main):
        return tkuv.run(main, root=self.root, flavor="trio")

    def test_sleep_and_result(self):
        async def main():
            t0 = trio.current_time()
            await trio.sleep(0.1)
            return "done", trio.current_time() - t0
        value, elapsed = self.run_trio(main())
        self.assertEqual(value, "done")
        self.assertGreaterEqual(elapsed, 0.099)
        self.assertLess(elapsed, 0.15)

    def test_async_function_and_args(self):
        async def main(a, b):
            await trio.sleep(0)
            return a + b
        outcomes = []
        host = tkuv.start_guest_run(main, 2, 3, root=self.root,
                                    flavor="trio",
                                    done_callback=outcomes.append)
        self.assertFalse(host.done())
        self.pump_until(lambda: outcomes)
        self.assertEqual(outcomes[0].unwrap(), 5)

    def test_exception(self):
        async def main():
            await trio.sleep(0.01)
            raise Boom("trio")
        with self.assertRaises(Boom):
            self.run_trio(main())

    def test_nursery_threads_and_tk(self):
        ticks = [0]

        def chain():
            ticks[0] += 1
            self.root.after(5, chain)
        self.root.after(5, chain)

        async def main():
            results = []
            async with trio.open_nursery() as nursery:
                for i in range(3):
                    async def work(i=i):
                        # A worker thread reports back through
                        # run_sync_soon_threadsafe.
                        results.append(await trio.to_thread.run_sync(
                            lambda: (time.sleep(0.05), i * i)[1]))
                    nursery.start_soon(work)
                with trio.fail_after(WAIT_S):
                    await trio.sleep(0.2)
            return sorted(results)
        self.assertEqual(self.run_trio(main()), [0, 1, 4])
        self.assertGreater(ticks[0], 5)

    def test_threadsafe_from_foreign_thread(self):
        async def main():
            token = trio.lowlevel.current_trio_token()
            event = trio.Event()

            def worker():
                time.sleep(0.05)
                token.run_sync_soon(event.set)
            threading.Thread(target=worker).start()
            t0 = time.monotonic()
            with trio.fail_after(WAIT_S):
                await event.wait()
            return time.monotonic() - t0
        self.assertLess(self.run_trio(main()), 0.2)

    def test_window_destroyed_cancels(self):
        log = []

        async def main():
            self.root.after(50, self.root.destroy)
            try:
                await trio.sleep(30)
            finally:
                log.append("finally")
            return "unreachable"
        self.assertIsNone(self.run_trio(main()))
        self.assertEqual(log, ["finally"])

    def test_close_button(self):
        log = []

        async def main():
            self.root.after(50, lambda: self.root.tk.call(
                self.root.protocol("WM_DELETE_WINDOW")))
            try:
                await trio.sleep(30)
            finally:
                log.append(self.root.winfo_exists())
        self.assertIsNone(self.run_trio(main()))
        self.assertEqual(log, [1])      # finally ran with the window alive

    def test_runtime_error_inside_trio(self):
        async def other():
            return 1

        async def main():
            with self.assertRaises(RuntimeError):
                tkuv.run(other(), root=self.root, flavor="trio")
            return "ok"
        self.assertEqual(trio.run(main), "ok")

    def test_runtime_error_inside_tkuv_trio(self):
        async def other():
            return 1

        async def main():
            with self.assertRaisesRegex(RuntimeError, "already"):
                tkuv.run(other(), root=self.root)
            return "ok"
        self.assertEqual(self.run_trio(main()), "ok")

    def test_cancel_from_tk_callback(self):
        log = []

        async def main():
            try:
                await trio.sleep(30)
            finally:
                log.append("finally")
        outcomes = []
        host = tkuv.start_guest_run(main, root=self.root, flavor="trio",
                                    done_callback=outcomes.append)
        self.root.after(50, host.cancel)
        self.pump_until(lambda: outcomes)
        self.assertIsNone(outcomes[0].unwrap())
        self.assertEqual(log, ["finally"])


if __name__ == "__main__":
    unittest.main()
