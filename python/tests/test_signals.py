# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""Signals in a guest (tkuv/_signals.py) and Ctrl-C (AsyncioHost): the
loop's add_signal_handler(), and SIGINT as asyncio.run() treats it.

Every test runs once per loop (see support.for_each_loop), in a child
process: it needs real signals, and tools/test-python.sh may run us in the
background, where SIGINT is ignored."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import unittest

from support import HERE, for_each_loop

CHILD_TIMEOUT_S = 30


def run_child(source, loop_name, *, signal_after_ready=None, stdin=None):
    """Run `source` in a fresh Python with tkuv importable and LOOP set to
    the loop factory's name. If signal_after_ready is a list of (signal,
    pause) pairs, they are sent once the child prints "ready". Returns
    (returncode, stdout, stderr)."""
    prologue = textwrap.dedent("""\
        import asyncio, os, signal, socket, sys, threading, time, tkinter
        sys.path.insert(0, %r)
        from support import tkuv, new_root, LOOP_FACTORIES
        signal.signal(signal.SIGINT, signal.default_int_handler)
        LOOP = LOOP_FACTORIES[%r]
        """) % (HERE, loop_name)
    proc = subprocess.Popen(
        [sys.executable, "-c", prologue + textwrap.dedent(source)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True)
    out_lines = []
    try:
        if signal_after_ready is not None:
            deadline = time.monotonic() + CHILD_TIMEOUT_S
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                out_lines.append(line)
                if line.strip() == "ready":
                    break
            for sig, pause in signal_after_ready:
                time.sleep(pause)
                if proc.poll() is None:
                    os.kill(proc.pid, sig)
        out, err = proc.communicate(stdin, timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += "\n[test: child timed out and was killed]"
    return proc.returncode, "".join(out_lines) + out, err


class SignalTests:
    loop_factory = None
    loop_name = None

    # -- item 11: add_signal_handler --------------------------------------

    def test_add_signal_handler_runs(self):
        code, out, err = run_child("""
            async def main():
                loop = asyncio.get_running_loop()
                got = []
                done = loop.create_future()

                def on_usr1(tag):
                    got.append(tag)
                    if len(got) == 20:
                        done.set_result(None)
                loop.add_signal_handler(signal.SIGUSR1, on_usr1, "usr1")
                print("ready", flush=True)
                try:
                    await asyncio.wait_for(done, 20)
                finally:
                    print("handled", len(got), flush=True)
                    loop.remove_signal_handler(signal.SIGUSR1)
                return got
            root = new_root()
            print(len(tkuv.run(main(), root=root, loop_factory=LOOP)))
            """, self.loop_name,
            signal_after_ready=[(signal.SIGUSR1, 0.05)] * 20)
        self.assertEqual(code, 0, err)
        self.assertIn("handled 20", out)

    def test_add_signal_handler_for_sigint(self):
        code, out, err = run_child("""
            async def main():
                loop = asyncio.get_running_loop()
                done = loop.create_future()
                loop.add_signal_handler(signal.SIGINT, done.set_result,
                                        "sigint handled")
                print("ready", flush=True)
                return await asyncio.wait_for(done, 20)
            root = new_root()
            print(tkuv.run(main(), root=root, loop_factory=LOOP))
            # The handler is gone with the run: Ctrl-C works again.
            print("default again:",
                  signal.getsignal(signal.SIGINT) is signal.default_int_handler)
            """, self.loop_name, signal_after_ready=[(signal.SIGINT, 0.1)])
        self.assertEqual(code, 0, err)
        self.assertIn("sigint handled", out)
        self.assertIn("default again: True", out)

    # -- item 12: Ctrl-C ----------------------------------------------------

    def test_ctrl_c_in_idle_window(self):
        # Nothing else wakes Tk: the signal alone must end the run, as
        # asyncio.run() does: main cancelled, finally run, KeyboardInterrupt.
        code, out, err = run_child("""
            async def main():
                try:
                    print("ready", flush=True)
                    await asyncio.sleep(3600)
                finally:
                    print("finally", flush=True)
            root = new_root()
            try:
                tkuv.run(main(), root=root, loop_factory=LOOP)
            except KeyboardInterrupt:
                print("KeyboardInterrupt from run", flush=True)
            print("handler restored:",
                  signal.getsignal(signal.SIGINT) is signal.default_int_handler)
            """, self.loop_name, signal_after_ready=[(signal.SIGINT, 0.2)])
        self.assertEqual(code, 0, err)
        self.assertIn("finally", out)
        self.assertIn("KeyboardInterrupt from run", out)
        self.assertIn("handler restored: True", out)
        self.assertEqual(err.strip(), "")

    def test_ctrl_c_under_io(self):
        # Ping-pong in protocol callbacks: most of the time is spent inside
        # transport callbacks, where a KeyboardInterrupt raised by Python's
        # default handler would be a "Fatal error on transport".
        code, out, err = run_child("""
            class Echo(asyncio.Protocol):
                def connection_made(self, transport):
                    self.transport = transport
                def data_received(self, data):
                    sum(range(2000))        # some work per message
                    self.transport.write(data)

            async def main():
                loop = asyncio.get_running_loop()
                server = await loop.create_server(Echo, "127.0.0.1", 0)
                port = server.sockets[0].getsockname()[1]
                pairs = []
                for _ in range(8):
                    t, p = await loop.create_connection(Echo, "127.0.0.1",
                                                        port)
                    t.write(b"x" * 1000)
                    pairs.append(t)
                print("ready", flush=True)
                try:
                    await asyncio.sleep(3600)
                finally:
                    print("finally", flush=True)
                    for t in pairs:
                        t.close()
                    server.close()
            root = new_root()
            try:
                tkuv.run(main(), root=root, loop_factory=LOOP)
            except KeyboardInterrupt:
                print("KeyboardInterrupt from run", flush=True)
            """, self.loop_name, signal_after_ready=[(signal.SIGINT, 0.3)])
        self.assertEqual(code, 0, err)
        self.assertIn("finally", out)
        self.assertIn("KeyboardInterrupt from run", out)
        self.assertNotIn("Fatal error", err)
        self.assertNotIn("never retrieved", err)
        self.assertNotIn("Traceback", err)

    def test_second_ctrl_c_interrupts_a_stuck_cleanup(self):
        code, out, err = run_child("""
            async def main():
                try:
                    print("ready", flush=True)
                    await asyncio.sleep(3600)
                finally:
                    print("cleanup", flush=True)
                    await asyncio.sleep(3600)   # refuses to finish
            root = new_root()
            try:
                tkuv.run(main(), root=root, loop_factory=LOOP)
            except KeyboardInterrupt:
                print("KeyboardInterrupt from run", flush=True)
            """, self.loop_name,
            signal_after_ready=[(signal.SIGINT, 0.2), (signal.SIGINT, 0.5)])
        self.assertEqual(code, 0, err)
        self.assertIn("cleanup", out)
        self.assertIn("KeyboardInterrupt from run", out)


globals().update(for_each_loop(SignalTests))
del SignalTests

if __name__ == "__main__":
    unittest.main()
