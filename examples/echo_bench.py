#!/usr/bin/env python3
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""echo_bench.py -- rough numbers for tkuv's Python guests (not a benchmark
suite; the benchmark issue measures properly).

Prints, for each loop:
  * idle: guest ticks per second while the loop has only a far timer;
  * echo: messages per second of a 20-connection ping-pong echo through the
    guest loop in a Tk window, while a Tk `after` chain keeps running;
  * the same echo under plain asyncio.run() (no Tk) for comparison.

    xvfb-run -a python3 examples/echo_bench.py [--seconds 3] [--conns 20]
"""

import argparse
import asyncio
import os
import sys
import time
import tkinter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
import tkuv  # noqa: E402

MSG = b"x" * 63 + b"\n"


async def echo_handler(reader, writer):
    try:
        while line := await reader.readline():
            writer.write(line)
    finally:
        writer.close()


async def echo_run(conns, seconds):
    """Return messages echoed per second over `conns` connections."""
    server = await asyncio.start_server(echo_handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    count = 0
    stop = time.monotonic() + seconds

    async def client():
        nonlocal count
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.monotonic() < stop:
            writer.write(MSG)
            await reader.readline()
            count += 1
        writer.close()
        await writer.wait_closed()

    async with server:
        t0 = time.monotonic()
        await asyncio.gather(*(client() for _ in range(conns)))
        elapsed = time.monotonic() - t0
    return count / elapsed


async def idle_run(host_ref, seconds):
    """Guest ticks per second while only a far timer is pending."""
    sleeper = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0.1)
    host = host_ref[0]
    before = host.guest_info()["ticks"]
    # Wait with a Tk timer, not an asyncio one, so the guest stays idle.
    done = asyncio.get_running_loop().create_future()
    host.root.after(int(seconds * 1000), lambda: done.set_result(None))
    await done
    after = host.guest_info()["ticks"]
    sleeper.cancel()
    return (after - before - 1) / seconds   # -1: the tick that saw `done`


def in_tk(coro_fn, loop_factory):
    root = tkinter.Tk()
    beats = [0]
    pending = [None]

    def beat():
        beats[0] += 1
        pending[0] = root.after(10, beat)
    beat()
    outcome = []
    ref = []
    host = tkuv.start_guest_run(coro_fn, ref, root=root,
                                loop_factory=loop_factory,
                                done_callback=lambda o: (outcome.append(o),
                                                         root.quit()))
    ref.append(host)
    root.mainloop()
    info = {"after_beats": beats[0]}
    try:
        root.after_cancel(pending[0])
        root.destroy()
    except tkinter.TclError:        # closed by the user meanwhile
        pass
    if not outcome or isinstance(outcome[0].error, asyncio.CancelledError):
        raise SystemExit("echo_bench: window closed")
    return outcome[0].unwrap(), info


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--conns", type=int, default=20)
    args = parser.parse_args()
    factories = {"asyncio": asyncio.new_event_loop}
    try:
        import uvloop
        factories["uvloop"] = uvloop.new_event_loop
    except ImportError:
        pass
    for name, factory in factories.items():
        idle, _ = in_tk(lambda ref: idle_run(ref, args.seconds), factory)
        rate, info = in_tk(lambda ref: echo_run(args.conns, args.seconds),
                           factory)
        with asyncio.Runner(loop_factory=factory) as runner:
            plain = runner.run(echo_run(args.conns, args.seconds))
        print("%-8s idle: %.2f ticks/s   echo in Tk (%d conns): %7.0f msgs/s"
              " (Tk after beats meanwhile: %d)   plain asyncio.run: %7.0f "
              "msgs/s" % (name, idle, args.conns, rate, info["after_beats"],
                          plain))


if __name__ == "__main__":
    main()
