# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""asyncio's own guarantees, kept by the asyncio and uvloop guests under
hostile use: writes from plain Tk callbacks (the loop hooks and
_after_tk_callback in tkuv/_asyncio_host.py, uvloop's queues in
tkuv/_uvloop.py), nested Tk loops and closing the window (tkuv/_host.py).
Callback order and floods: test_gate.py; signals and Ctrl-C:
test_signals.py.

Every test runs once per loop (see support.for_each_loop)."""

import asyncio
import logging
import socket
import threading
import time
import tkinter
import unittest

from support import WAIT_S, for_each_loop, tkuv


class GuaranteeTests:
    loop_factory = None
    loop_name = None

    def run_guest(self, coro):
        return tkuv.run(coro, root=self.root, loop_factory=self.loop_factory)

    # -- item 13: a write from a plain Tk callback -------------------------

    def test_stream_write_from_plain_tk_callback(self):
        # No asyncslot, no wake(): the peer must get the data while nothing
        # else wakes the loop (only a far timer is pending).
        async def main():
            loop = asyncio.get_running_loop()
            listener = socket.create_server(("127.0.0.1", 0))
            port = listener.getsockname()[1]
            got = []
            received = threading.Event()

            def peer():
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(WAIT_S)
                    try:
                        while len(b"".join(got)) < 10:
                            data = conn.recv(16)
                            if not data:
                                break
                            got.append(data)
                    except OSError:
                        pass
                received.set()
            threading.Thread(target=peer, daemon=True).start()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await asyncio.sleep(0.05)

            def plain():
                writer.write(b"hello")

            def from_button():
                button = tkinter.Button(self.root, command=lambda:
                                        writer.write(b"world"))
                button.invoke()
            self.root.after(50, plain)
            self.root.after(100, from_button)
            # Wait without the loop: a Tk-side poll of a threading.Event.
            done = loop.create_future()

            def check():
                if received.is_set():
                    done.set_result(None)
                else:
                    self.root.after(20, check)
            self.root.after(20, check)
            await asyncio.wait_for(done, WAIT_S + 5)
            writer.close()
            listener.close()
            return b"".join(got)
        self.assertEqual(self.run_guest(main()), b"helloworld")

    def test_transport_close_from_plain_tk_callback(self):
        # uvloop schedules connection_lost internally, past call_soon.
        async def main():
            loop = asyncio.get_running_loop()
            a, b = socket.socketpair()
            lost = loop.create_future()

            class Proto(asyncio.Protocol):
                def connection_lost(self, exc):
                    lost.set_result("lost")
            transport, _ = await loop.create_connection(Proto, sock=a)
            self.root.after(50, transport.close)
            try:
                return await asyncio.wait_for(lost, WAIT_S)
            finally:
                b.close()
        self.assertEqual(self.run_guest(main()), "lost")

    # -- item 14: a nested Tk loop inside a coroutine costs nothing ---------

    def _nested_loop_under_data(self, nested_wait):
        """Feed the loop from a thread while the coroutine function
        nested_wait() runs a nested Tk loop and returns the CPU seconds it
        took; the nested loop must cost next to nothing, and the loop must
        carry on afterwards."""
        async def main():
            a, b = socket.socketpair()
            reader, writer = await asyncio.open_connection(sock=a)
            stop = threading.Event()

            def feeder():
                while not stop.is_set():
                    try:
                        b.send(b"x" * 100)
                    except OSError:
                        break
                    time.sleep(0.01)
            threading.Thread(target=feeder, daemon=True).start()
            await reader.read(100)
            cpu = await nested_wait()
            stop.set()
            await asyncio.sleep(0.05)
            data = await asyncio.wait_for(reader.read(1 << 20), WAIT_S)
            writer.close()
            b.close()
            return cpu, len(data)
        cpu, n = self.run_guest(main())
        self.assertGreater(n, 0)          # the loop carried on afterwards
        self.assertLess(cpu, 0.5, "the nested Tk loop spun")

    def _modal_wait_cpu(self):
        """A modal dialog's nested loop for 2 s; its CPU seconds."""
        top = tkinter.Toplevel(self.root)
        self.root.after(2000, top.destroy)
        cpu0 = time.process_time()
        self.root.wait_window(top)
        return time.process_time() - cpu0

    def test_nested_tk_loop_in_coroutine_does_not_spin(self):
        # Depends on the C side never re-entering a guest tick (issue 14
        # item 1): until then the nested loop spins on the ready fd.
        async def nested():
            return self._modal_wait_cpu()
        self._nested_loop_under_data(nested)

    def test_nested_tk_loop_in_eager_asyncslot_does_not_spin(self):
        # An asyncslot runs its first step eagerly, inside the Tk callback
        # and outside any guest tick: the C side cannot know that the loop
        # is busy, so the host stops watching the loop's fd (it closes its guest handle)
        # until the step is over.
        async def nested():
            result = asyncio.get_running_loop().create_future()

            async def slot():
                result.set_result(self._modal_wait_cpu())
            self.root.after(10, tkuv.asyncslot(slot))
            return await asyncio.wait_for(result, WAIT_S)
        self._nested_loop_under_data(nested)

    # -- item 15: closing the window by any route ---------------------------

    def _closing(self, close, *, from_coroutine=False):
        """Start a run with a worker whose finally updates a widget; close
        the window with close() (from a Tk callback, or from the main
        coroutine). Returns (result, log)."""
        label = tkinter.Label(self.root, text="running")
        label.pack()
        log = []

        async def worker():
            try:
                await asyncio.sleep(30)
            finally:
                label["text"] = "worker done"       # widgets still alive
                log.append("worker")

        async def main():
            asyncio.create_task(worker())
            await asyncio.sleep(0.05)
            try:
                if from_coroutine:
                    close()
                else:
                    self.root.after(50, close)
                await asyncio.sleep(30)
            finally:
                label["text"] = "main done"
                log.append("main")
            return "unreachable"
        logs = []
        handler = logging.Handler()
        handler.emit = logs.append
        logging.getLogger("asyncio").addHandler(handler)
        errors = []
        old_report = tkinter.Tk.report_callback_exception
        tkinter.Tk.report_callback_exception = (
            lambda self, *a: errors.append(a))
        try:
            result = self.run_guest(main())
        finally:
            tkinter.Tk.report_callback_exception = old_report
            logging.getLogger("asyncio").removeHandler(handler)
        self.assertEqual([r.getMessage() for r in logs], [])
        self.assertEqual(errors, [])
        self.assertEqual(sorted(log), ["main", "worker"])
        with self.assertRaises(tkinter.TclError):
            self.root.winfo_exists()        # gone at the end
        return result

    def test_close_by_root_destroy_from_callback(self):
        self.assertIsNone(self._closing(lambda: self.root.destroy()))

    def test_close_by_root_destroy_from_coroutine(self):
        self.assertIsNone(self._closing(lambda: self.root.destroy(),
                                        from_coroutine=True))

    def test_close_by_tcl_destroy(self):
        self.assertIsNone(self._closing(
            lambda: self.root.tk.eval("destroy .")))

    def test_close_by_wm_delete_window(self):
        self.assertIsNone(self._closing(lambda: self.root.tk.call(
            self.root.protocol("WM_DELETE_WINDOW"))))

    def test_close_start_guest_run_by_wm_delete_window(self):
        label = tkinter.Label(self.root, text="running")
        log = []

        async def main():
            try:
                await asyncio.sleep(30)
            finally:
                label["text"] = "done"
                log.append("main")
        outcomes = []
        tkuv.start_guest_run(main, root=self.root,
                             loop_factory=self.loop_factory,
                             done_callback=outcomes.append)
        self.root.after(50, lambda: self.root.tk.call(
            self.root.protocol("WM_DELETE_WINDOW")))
        self.root.mainloop()
        self.assertEqual(len(outcomes), 1)
        self.assertIsInstance(outcomes[0].error, asyncio.CancelledError)
        self.assertEqual(log, ["main"])


globals().update(for_each_loop(GuaranteeTests))
del GuaranteeTests

if __name__ == "__main__":
    unittest.main()
