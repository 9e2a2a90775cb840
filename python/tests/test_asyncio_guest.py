# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""AsyncioHost (tkuv/_asyncio_host.py): asyncio and uvloop as guests of a
real Tk mainloop (run under Xvfb): results, scheduling, calls made from Tk
callbacks between ticks, real I/O, the end of a run.

Every test runs twice, once per loop (see support.for_each_loop)."""

import asyncio
import gc
import logging
import os
import signal
import socket
import threading
import time
import tkinter
import unittest
import warnings

from support import WAIT_S, for_each_loop, tkuv


class Boom(Exception):
    pass


class GuestTests:
    loop_factory = None

    # -- helpers -----------------------------------------------------------

    def run_guest(self, coro):
        return tkuv.run(coro, root=self.root, loop_factory=self.loop_factory)

    def start(self, async_fn, *args):
        """start_guest_run + a done callback that records the outcome."""
        self.outcomes = []
        return tkuv.start_guest_run(
            async_fn, *args, root=self.root, loop_factory=self.loop_factory,
            done_callback=self.outcomes.append)

    def wait_done(self):
        self.pump_until(lambda: self.outcomes)
        self.assertEqual(len(self.outcomes), 1)
        return self.outcomes[0]

    # -- results ---------------------------------------------------------

    def test_returns_value(self):
        async def main():
            await asyncio.sleep(0.01)
            return 42
        self.assertEqual(self.run_guest(main()), 42)

    def test_returns_none(self):
        async def main():
            await asyncio.sleep(0)
        self.assertIsNone(self.run_guest(main()))

    def test_receives_args(self):
        async def main(a, b, *, c=None):
            await asyncio.sleep(0)
            return a, b, c
        host = self.start(main, 1, "two")
        self.assertFalse(host.done())       # returned at once
        outcome = self.wait_done()
        self.assertEqual(outcome.unwrap(), (1, "two", None))
        self.assertEqual(outcome.value, (1, "two", None))
        self.assertIsNone(outcome.error)
        self.assertTrue(host.loop.is_closed())

    def test_raises_to_caller(self):
        async def main():
            await asyncio.sleep(0.01)
            raise Boom("bad")
        with self.assertRaises(Boom):
            self.run_guest(main())

    def test_raises_into_outcome(self):
        async def main():
            await asyncio.sleep(0)
            raise Boom("bad")
        self.start(main)
        outcome = self.wait_done()
        self.assertIsInstance(outcome.error, Boom)
        with self.assertRaises(Boom):
            outcome.unwrap()

    def test_cancelled_from_tk_callback(self):
        log = []

        async def main():
            try:
                await asyncio.sleep(30)
            finally:
                log.append("finally")
        host = self.start(main)
        self.root.after(50, host.cancel)
        outcome = self.wait_done()
        self.assertIsInstance(outcome.error, asyncio.CancelledError)
        self.assertEqual(log, ["finally"])

    # -- scheduling ------------------------------------------------------

    def test_sleep_fires_on_time(self):
        async def main():
            loop = asyncio.get_running_loop()
            overshoots = []
            for delay in (0.001, 0.02, 0.1, 0.25):
                t0 = loop.time()
                await asyncio.sleep(delay)
                overshoots.append(loop.time() - t0 - delay)
            return overshoots
        for over in self.run_guest(main()):
            self.assertGreaterEqual(over, -0.002)
            self.assertLess(over, 0.05)

    def test_create_task(self):
        async def child(x):
            await asyncio.sleep(0.01)
            return x * 2

        async def main():
            task = asyncio.create_task(child(21))
            return await asyncio.wait_for(task, WAIT_S)
        self.assertEqual(self.run_guest(main()), 42)

    def test_gather(self):
        async def child(x):
            await asyncio.sleep(0.01 * x)
            return x

        async def main():
            return await asyncio.wait_for(
                asyncio.gather(*(child(i) for i in range(5))), WAIT_S)
        self.assertEqual(self.run_guest(main()), [0, 1, 2, 3, 4])

    def test_call_later(self):
        async def main():
            loop = asyncio.get_running_loop()
            fut = loop.create_future()
            t0 = loop.time()
            loop.call_later(0.05, lambda: fut.set_result(loop.time() - t0))
            return await asyncio.wait_for(fut, WAIT_S)
        elapsed = self.run_guest(main())
        self.assertGreaterEqual(elapsed, 0.049)
        self.assertLess(elapsed, 0.1)

    def test_call_soon_threadsafe_from_thread(self):
        async def main():
            loop = asyncio.get_running_loop()
            fut = loop.create_future()

            def worker():
                time.sleep(0.05)
                loop.call_soon_threadsafe(fut.set_result, time.monotonic())
            threading.Thread(target=worker).start()
            sent = await asyncio.wait_for(fut, WAIT_S)
            return time.monotonic() - sent
        self.assertLess(self.run_guest(main()), 0.2)

    def test_running_loop_inside_and_between_ticks(self):
        seen = {}

        async def main():
            loop = asyncio.get_running_loop()
            fut = loop.create_future()

            def from_tk():      # a Tk callback, between ticks
                seen["tk"] = asyncio.get_running_loop()
                seen["event_loop"] = asyncio.get_event_loop()
                # create_task works from Tk callbacks too
                seen["task"] = asyncio.create_task(asyncio.sleep(0, "ok"))
                fut.set_result(None)
            self.root.after(10, from_tk)
            await asyncio.wait_for(fut, WAIT_S)
            return loop, await seen["task"]
        loop, value = self.run_guest(main())
        self.assertIs(seen["tk"], loop)
        self.assertIs(seen["event_loop"], loop)
        self.assertEqual(value, "ok")

    # -- interleaving: Tk callbacks touching the loop between ticks -------

    def _interleaved(self, poke):
        """The guest has only a 30 s timer pending; 100 ms in, a Tk after
        callback does poke(loop, done) which must lead to done(t) being
        called promptly on the loop. Returns the delay."""
        async def main():
            loop = asyncio.get_running_loop()
            fut = loop.create_future()
            poked = []

            def done(*_):
                if not fut.done():
                    fut.set_result(time.monotonic() - poked[0])

            def from_tk():
                poked.append(time.monotonic())
                poke(loop, done)
            self.root.after(100, from_tk)
            return await asyncio.wait_for(fut, 30)
        return self.run_guest(main())

    def test_call_soon_from_tk_while_sleeping(self):
        delay = self._interleaved(lambda loop, done: loop.call_soon(done))
        self.assertLess(delay, 0.2)

    def test_call_later_from_tk_while_sleeping(self):
        delay = self._interleaved(
            lambda loop, done: loop.call_later(0.05, done))
        self.assertGreaterEqual(delay, 0.045)
        self.assertLess(delay, 0.25)

    def test_call_at_from_tk_while_sleeping(self):
        delay = self._interleaved(
            lambda loop, done: loop.call_at(loop.time() + 0.05, done))
        self.assertGreaterEqual(delay, 0.045)
        self.assertLess(delay, 0.25)

    def test_create_task_from_tk_while_sleeping(self):
        async def coro(done):
            done()

        delay = self._interleaved(
            lambda loop, done: loop.create_task(coro(done)))
        self.assertLess(delay, 0.2)

    def test_future_set_from_tk_while_sleeping(self):
        def poke(loop, done):
            fut = loop.create_future()
            fut.add_done_callback(done)
            fut.set_result(None)
        self.assertLess(self._interleaved(poke), 0.2)

    def test_add_reader_from_tk_while_sleeping(self):
        rfd, wfd = os.pipe()
        self.addCleanup(os.close, rfd)
        self.addCleanup(os.close, wfd)

        def poke(loop, done):
            def readable():
                loop.remove_reader(rfd)
                os.read(rfd, 1)
                done()
            loop.add_reader(rfd, readable)
            os.write(wfd, b"x")
        self.assertLess(self._interleaved(poke), 0.2)

    def _write_from_tk(self, how):
        """A Tk after callback writes to a stream (how: 'asyncslot' or
        'wake'); returns how long the external peer waited for the data."""
        async def main():
            loop = asyncio.get_running_loop()
            listener = socket.create_server(("127.0.0.1", 0))
            port = listener.getsockname()[1]
            got = loop.create_future()

            def peer():
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(WAIT_S)
                    t0 = time.monotonic()
                    data = conn.recv(16)
                    loop.call_soon_threadsafe(got.set_result,
                                              (data, time.monotonic() - t0))
            threading.Thread(target=peer).start()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await asyncio.sleep(0.05)

            async def slot():
                writer.write(b"hello")

            def plain():
                writer.write(b"hello")
                tkuv.current_host().wake()
            self.root.after(50, tkuv.asyncslot(slot) if how == "asyncslot"
                            else plain)
            data, waited = await asyncio.wait_for(got, WAIT_S + 5)
            writer.close()
            await writer.wait_closed()
            listener.close()
            return data, waited
        data, waited = self.run_guest(main())
        self.assertEqual(data, b"hello")
        return waited

    def test_stream_write_from_asyncslot(self):
        self.assertLess(self._write_from_tk("asyncslot"), 0.5)

    def test_stream_write_from_tk_then_wake(self):
        self.assertLess(self._write_from_tk("wake"), 0.5)

    # -- real I/O while Tk keeps going -------------------------------------

    def test_tcp_echo_with_after_chain(self):
        ticks = [0]

        def chain():
            ticks[0] += 1
            self.root.after(5, chain)
        self.root.after(5, chain)

        async def handle(reader, writer):
            while line := await reader.readline():
                writer.write(line)
                await writer.drain()
            writer.close()
            await writer.wait_closed()

        async def main():
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            async with server:
                reader, writer = await asyncio.open_connection("127.0.0.1",
                                                               port)
                t0 = time.monotonic()
                n = 0
                # Keep echoing for at least 0.3 s so the chain can advance.
                while n < 200 or time.monotonic() - t0 < 0.3:
                    writer.write(b"line %d\n" % n)
                    reply = await asyncio.wait_for(reader.readline(), WAIT_S)
                    assert reply == b"line %d\n" % n, reply
                    n += 1
                writer.close()
                await writer.wait_closed()
            return n, ticks[0]
        n, chain_ticks = self.run_guest(main())
        self.assertGreaterEqual(n, 200)
        self.assertGreater(chain_ticks, 10)     # Tk kept running

    def test_large_write_to_external_reader(self):
        # A big write from data_received is flushed after the poll phase;
        # with uvloop the rest needs POLLOUT, which libuv registers only on
        # its next iteration. The guest must see that and not stall.
        size = 8 * 1024 * 1024

        class Blob(asyncio.Protocol):
            def connection_made(self, transport):
                self.transport = transport

            def data_received(self, data):
                self.transport.write(b"y" * size)
                self.transport.close()

        def client(port, result):
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.settimeout(WAIT_S)
                s.sendall(b"go")
                got = 0
                try:
                    while data := s.recv(1 << 16):
                        got += len(data)
                        time.sleep(0.0002)      # a slow reader
                except OSError as exc:
                    result.append(exc)
                result.append(got)

        async def main():
            loop = asyncio.get_running_loop()
            server = await loop.create_server(Blob, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            done = loop.create_future()
            result = []

            def run_client():
                client(port, result)
                loop.call_soon_threadsafe(done.set_result, None)
            threading.Thread(target=run_client).start()
            await asyncio.wait_for(done, WAIT_S + 5)
            server.close()
            await server.wait_closed()
            return result
        self.assertEqual(self.run_guest(main()), [size])

    # -- ending by the window ----------------------------------------------

    def _pending_tasks_main(self, log, close):
        async def worker(i):
            try:
                await asyncio.sleep(30)
            finally:
                log.append("worker%d" % i)

        async def main():
            for i in range(3):
                asyncio.create_task(worker(i))
            self.root.after(100, close)
            try:
                await asyncio.sleep(30)
            finally:
                log.append("main")
            return "unreachable"
        return main()

    def _assert_clean_end(self, run):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with self.assertNoLogs("asyncio", level=logging.WARNING):
                result = run()
                gc.collect()
        self.assertEqual([str(w.message) for w in caught
                          if issubclass(w.category, ResourceWarning)], [])
        return result

    def test_window_destroyed_with_pending_tasks(self):
        log = []
        result = self._assert_clean_end(lambda: self.run_guest(
            self._pending_tasks_main(log, self.root.destroy)))
        self.assertIsNone(result)
        self.assertEqual(sorted(log), ["main", "worker0", "worker1",
                                       "worker2"])

    def test_wm_delete_window_with_pending_tasks(self):
        log = []
        alive_in_finally = []

        def close():
            # What the window manager's close button does.
            self.root.tk.call(self.root.protocol("WM_DELETE_WINDOW"))

        async def main():
            async def worker():
                try:
                    await asyncio.sleep(30)
                finally:
                    log.append("worker")
            asyncio.create_task(worker())
            self.root.after(100, close)
            try:
                await asyncio.sleep(30)
            finally:
                # Graceful close: widgets still usable in finally blocks.
                alive_in_finally.append(bool(self.root.winfo_exists()))
                log.append("main")
        result = self._assert_clean_end(lambda: self.run_guest(main()))
        self.assertIsNone(result)
        self.assertEqual(sorted(log), ["main", "worker"])
        self.assertEqual(alive_in_finally, [True])
        with self.assertRaises(tkinter.TclError):
            self.root.winfo_exists()        # and then it was destroyed

    def test_root_destroyed_from_coroutine(self):
        log = []

        async def main():
            async def worker():
                try:
                    await asyncio.sleep(30)
                finally:
                    log.append("worker")
            asyncio.create_task(worker())
            await asyncio.sleep(0.01)
            self.root.destroy()     # inside a tick: finished when it returns
            try:
                await asyncio.sleep(30)
            finally:
                log.append("main")
        self.assertIsNone(self._assert_clean_end(
            lambda: self.run_guest(main())))
        self.assertEqual(sorted(log), ["main", "worker"])

    def test_root_destroyed_in_eager_asyncslot(self):
        log = []

        async def handler():
            self.root.destroy()     # inside the eager first step
            try:
                await asyncio.sleep(30)
            finally:
                log.append("handler")

        async def main():
            self.root.after(20, tkuv.asyncslot(handler))
            try:
                await asyncio.sleep(30)
            finally:
                log.append("main")
        self.assertIsNone(self._assert_clean_end(
            lambda: self.run_guest(main())))
        self.assertEqual(sorted(log), ["handler", "main"])

    def test_start_guest_run_root_destroyed(self):
        log = []

        async def main():
            try:
                await asyncio.sleep(30)
            finally:
                log.append("finally")
        host = self.start(main)
        self.root.after(50, self.root.destroy)
        self.root.mainloop()                # returns: no windows left
        # done_callback already ran, inside destroy
        self.assertEqual(len(self.outcomes), 1)
        self.assertIsInstance(self.outcomes[0].error, asyncio.CancelledError)
        self.assertEqual(log, ["finally"])
        self.assertTrue(host.loop.is_closed())

    def test_shutdown_asyncgens_and_executor(self):
        log = []

        async def agen():
            try:
                yield 1
                yield 2
            finally:
                log.append("agen closed")

        async def main():
            loop = asyncio.get_running_loop()
            self.loop = loop
            gen = agen()
            await gen.__anext__()           # left suspended on purpose
            self.gen = gen
            return await loop.run_in_executor(None, sum, [1, 2, 3])
        self.assertEqual(self.run_guest(main()), 6)
        self.assertEqual(log, ["agen closed"])
        self.assertTrue(self.loop.is_closed())

    # -- idle ---------------------------------------------------------------

    def test_idle_no_ticks(self):
        counts = []

        async def main():
            loop = asyncio.get_running_loop()
            fut = loop.create_future()
            sleeper = asyncio.create_task(asyncio.sleep(30))
            await asyncio.sleep(0.05)       # settle

            def sample():
                counts.append(host.guest_info()["ticks"])
            self.root.after(0, sample)
            self.root.after(500, sample)
            self.root.after(550, lambda: fut.set_result(None))
            await asyncio.wait_for(fut, WAIT_S)
            sleeper.cancel()
        host = self.start(main)
        self.wait_done().unwrap()
        self.assertEqual(len(counts), 2)
        self.assertEqual(counts[0], counts[1],
                         "the guest ticked while idle")

    # -- robustness -----------------------------------------------------------

    def test_nested_tk_event_loop_in_coroutine(self):
        # root.update() inside a coroutine runs Tk events (even a due guest
        # tick must not re-enter the loop); the guest carries on afterwards.
        async def main():
            loop = asyncio.get_running_loop()
            fired = []
            loop.call_later(0.02, fired.append, "timer")
            t0 = time.monotonic()
            while time.monotonic() - t0 < 0.1:
                self.root.update()
            await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            return fired
        self.assertEqual(self.run_guest(main()), ["timer"])

    def test_keyboard_interrupt(self):
        log = []

        async def main():
            threading.Timer(0.1, os.kill,
                            (os.getpid(), signal.SIGINT)).start()
            try:
                while True:
                    await asyncio.sleep(0.01)
            finally:
                log.append("finally")
        with self.assertRaises(KeyboardInterrupt):
            self.run_guest(main())
        self.assertEqual(log, ["finally"])

    def test_keyboard_interrupt_from_callback(self):
        log = []

        def interrupt():
            raise KeyboardInterrupt

        async def main():
            loop = asyncio.get_running_loop()
            for _ in range(3):
                await asyncio.sleep(0)
            loop.call_soon(interrupt)
            try:
                await asyncio.sleep(30)
            finally:
                log.append("finally")
        with self.assertRaises(KeyboardInterrupt):
            self.run_guest(main())
        self.assertEqual(log, ["finally"])

    def test_system_exit_from_timer_callback(self):
        def leave():
            raise SystemExit(3)

        async def main():
            asyncio.get_running_loop().call_later(0.01, leave)
            await asyncio.sleep(30)
        with self.assertRaises(SystemExit) as cm:
            self.run_guest(main())
        self.assertEqual(cm.exception.code, 3)

    def test_loop_stop_called_by_the_program(self):
        async def main():
            loop = asyncio.get_running_loop()
            loop.stop()             # means nothing to a guest
            await asyncio.sleep(0.01)
            loop.call_soon(loop.stop)
            await asyncio.sleep(0)
            await asyncio.sleep(0.01)
            return "ok"
        self.assertEqual(self.run_guest(main()), "ok")

    def test_is_running_inside_ticks(self):
        seen = []

        async def main():
            loop = asyncio.get_running_loop()
            loop.call_soon(lambda: seen.append(loop.is_running()))
            await asyncio.sleep(0)
            await asyncio.sleep(0.01)
            seen.append(loop.is_running())
            return loop
        loop = self.run_guest(main())
        self.assertEqual(seen, [True, True])
        self.assertFalse(loop.is_running())

    def test_ready_callbacks_keep_their_order_across_iterations(self):
        # More ready callbacks than one iteration runs (tick_ready_limit):
        # the rest run in the next iterations, in the order scheduled, also
        # when those schedule more.
        log = []

        async def main():
            loop = asyncio.get_running_loop()
            done = loop.create_future()

            def cb(i):
                log.append(i)
                if i % 10 == 0 and i < 200:
                    loop.call_soon(cb, 1000 + i)
                if len(log) == 220:
                    done.set_result(None)
            for i in range(200):
                loop.call_soon(cb, i)
            await done
            return log
        self.assertEqual(self.run_guest(main()), list(range(200)) + [
            1000 + i for i in range(0, 200, 10)])

    def test_many_round_trips_over_a_socket(self):
        # Many ticks in a row, each a short data -> task -> write chain.
        async def main():
            loop = asyncio.get_running_loop()
            a, b = socket.socketpair()
            reader, writer = await asyncio.open_connection(sock=a)
            done = threading.Event()

            def echo():
                with b:
                    while True:
                        data = b.recv(100)
                        if not data:
                            break
                        b.sendall(data)
                done.set()
            threading.Thread(target=echo, daemon=True).start()
            for i in range(500):
                writer.write(b"%04d" % i)
                self.assertEqual(await reader.readexactly(4), b"%04d" % i)
            writer.close()
            await writer.wait_closed()
            return await loop.run_in_executor(None, done.wait, WAIT_S)
        self.assertTrue(self.run_guest(main()))


globals().update(for_each_loop(GuestTests))
del GuestTests

if __name__ == "__main__":
    unittest.main()
