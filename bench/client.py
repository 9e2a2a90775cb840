# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""client.py -- the Python benchmark client: one workload under one way of
running an async loop (with or without Tk).

    python3 client.py MODE conns PORT C M MAXSEC
    python3 client.py MODE tkwin PORT C M MAXSEC
    python3 client.py MODE idle  PORT

conns: C connections to the echo port, each M round trips of 64 bytes (all
connected before the clock starts, stopping early at MAXSEC). tkwin: the same
in a Tk window while a Tk `after 5` chain measures its lateness and a task
measures how late `sleep(0.01)` returns. idle: one idle connection and a
far sleep; prints READY and waits to be measured and killed.

MODE:
  asyncio, uvloop   the loop alone (no Tk)
  tk-after1         asyncio in Tk, one loop iteration from every after(1)
  tk-thread         asyncio in a second thread, progress fed to Tk through a
                    queue.Queue that Tk drains every 10 ms
  trio-after0       Trio guest mode with run_sync_soon_threadsafe = after(0)
  tkuv-asyncio, tkuv-uvloop, tkuv-trio   the guest run of python/tkuv
  tk-bare           (idle only) a Tk window and nothing else

Prints one line: RESULT {...json...}. CPU is the whole process (all threads),
from /proc/self/task/*/schedstat as in the Tcl and C clients.
"""

import asyncio
import json
import os
import queue
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))

MSG = b"x" * 64


def cpu():
    total = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/schedstat" % tid) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e9


def vcs():
    """Voluntary context switches of every thread: each is a thread going
    to sleep to wait, so per round trip they count the thread hand-offs."""
    total = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/status" % tid) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


class Stats:
    def __init__(self, report=None):
        self.msgs = 0
        self.report = report        # tk-thread: tell Tk about every message
        self.overshoot = []
        self.done = False
        self.measuring = False      # messages are flowing


# ---------------------------------------------------------------- asyncio

async def aio_conns(port, n, m, maxsec, stats, sleeper=False):
    conns = []
    for _ in range(n):
        conns.append(await asyncio.open_connection("127.0.0.1", port))
    deadline = time.monotonic() + maxsec

    async def one(reader, writer):
        for _ in range(m):
            writer.write(MSG)
            await reader.readexactly(64)
            stats.msgs += 1
            if stats.report is not None:
                stats.report(1)
            if time.monotonic() > deadline:
                break

    async def sleep_probe():
        while not stats.done:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            if stats.measuring:
                stats.overshoot.append(time.perf_counter() - t - 0.01)

    probe = asyncio.create_task(sleep_probe()) if sleeper else None
    cpu0, vcs0, t0 = cpu(), vcs(), time.perf_counter()
    stats.measuring = True
    await asyncio.gather(*(one(r, w) for r, w in conns))
    secs, used = time.perf_counter() - t0, cpu() - cpu0
    switches = vcs() - vcs0
    stats.measuring = False
    stats.done = True
    if probe is not None:
        await probe
    for _, w in conns:
        w.close()
    return {"msgs": stats.msgs, "secs": secs, "cpu": used, "conns": n,
            "vcs": switches}


async def aio_idle(port, ready):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await asyncio.sleep(0.3)
    ready()
    await asyncio.sleep(3600)


# ---------------------------------------------------------------- trio

async def trio_conns(port, n, m, maxsec, stats, sleeper=False):
    import trio

    streams = []
    for _ in range(n):
        streams.append(await trio.open_tcp_stream("127.0.0.1", port))
    deadline = time.monotonic() + maxsec

    async def one(s):
        for _ in range(m):
            await s.send_all(MSG)
            got = 0
            while got < 64:
                data = await s.receive_some(65536)
                if not data:
                    raise EOFError("echo server closed")
                got += len(data)
            stats.msgs += 1
            if time.monotonic() > deadline:
                break

    async def sleep_probe():
        while not stats.done:
            t = time.perf_counter()
            await trio.sleep(0.01)
            if stats.measuring:
                stats.overshoot.append(time.perf_counter() - t - 0.01)

    cpu0, vcs0, t0 = cpu(), vcs(), time.perf_counter()
    stats.measuring = True
    async with trio.open_nursery() as outer:
        if sleeper:
            outer.start_soon(sleep_probe)
        async with trio.open_nursery() as nursery:
            for s in streams:
                nursery.start_soon(one, s)
        secs, used = time.perf_counter() - t0, cpu() - cpu0
        switches = vcs() - vcs0
        stats.measuring = False
        stats.done = True
    for s in streams:
        await s.aclose()
    return {"msgs": stats.msgs, "secs": secs, "cpu": used, "conns": n,
            "vcs": switches}


async def trio_idle(port, ready):
    import trio

    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await trio.sleep(0.3)
    ready()
    await trio.sleep(3600)
    await stream.aclose()


# ---------------------------------------------------------------- drivers

def print_ready():
    print("READY", flush=True)


def run_bare(mode, body):
    if mode == "uvloop":
        import uvloop
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(body())
    return asyncio.run(body())


def run_in_tk(mode, make_body, workload):
    """Runs the workload in a Tk window; returns (result, lateness list)."""
    import tkinter

    root = tkinter.Tk()
    root.title("tkuv bench: %s %s" % (mode, workload))
    tkinter.Label(root, text="%s %s" % (mode, workload), width=40).pack()
    root.update()
    lateness = []
    out = {}
    state = {"expected": None, "stop": False}

    def late_tick():
        now = time.perf_counter()
        if state["expected"] is not None and stats.measuring:
            lateness.append(now - state["expected"])
        if not state["stop"]:
            state["expected"] = time.perf_counter() + 0.005
            root.after(5, late_tick)

    def finish(result):
        out["result"] = result
        state["stop"] = True
        root.quit()

    flavor = "trio" if "trio" in mode else "asyncio"
    stats = Stats()
    body = make_body(flavor, stats)
    if workload == "tkwin":
        late_tick()

    if mode == "tk-after1":
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        task = loop.create_task(body())

        def poll():
            loop.call_soon(loop.stop)
            loop.run_forever()
            if task.done():
                finish(task.result())
            else:
                root.after(1, poll)
        root.after(1, poll)
    elif mode == "tk-thread":
        q = queue.Queue()
        stats.report = q.put_nowait
        seen = [0]

        def worker():
            q.put(("done", asyncio.run(body())))

        def drain():
            while True:
                try:
                    item = q.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, tuple):
                    item[1]["tk_seen"] = seen[0]
                    finish(item[1])
                    return
                seen[0] += item
            root.after(10, drain)
        threading.Thread(target=worker, daemon=True).start()
        root.after(10, drain)
    elif mode == "trio-after0":
        import trio

        trio.lowlevel.start_guest_run(
            body,
            run_sync_soon_threadsafe=lambda fn: root.after(0, fn),
            done_callback=lambda o: finish(o.unwrap()),
            host_uses_signal_set_wakeup_fd=False)
    elif mode in ("tkuv-asyncio", "tkuv-uvloop", "tkuv-trio"):
        import tkuv

        kw = {}
        if mode == "tkuv-uvloop":
            import uvloop
            kw["loop_factory"] = uvloop.new_event_loop
        if mode == "tkuv-trio":
            kw["flavor"] = "trio"
        tkuv.start_guest_run(body, root=root,
                             done_callback=lambda o: finish(o.unwrap()), **kw)
    elif mode == "tk-bare":
        root.after(300, print_ready)
    else:
        raise SystemExit("unknown mode %r" % mode)
    root.mainloop()
    return out.get("result"), lateness, stats


def main():
    mode, workload, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rest = [float(a) for a in sys.argv[4:]]

    if workload == "idle":
        def make_body(flavor, stats):
            fn = trio_idle if flavor == "trio" else aio_idle

            async def body():
                return await fn(port, print_ready)
            return body
    else:
        n, m, maxsec = int(rest[0]), int(rest[1]), rest[2]
        sleeper = workload == "tkwin"

        def make_body(flavor, stats):
            fn = trio_conns if flavor == "trio" else aio_conns

            async def body():
                return await fn(port, n, m, maxsec, stats, sleeper)
            return body

    if mode in ("asyncio", "uvloop"):
        stats = Stats()
        result = run_bare(mode, make_body("asyncio", stats))
        lateness = []
    else:
        result, lateness, stats = run_in_tk(mode, make_body, workload)
    if result is None:
        raise SystemExit("no result")
    if workload == "tkwin":
        ms = lambda v: None if v is None else round(v * 1000, 4)
        result["late_p50"] = ms(pct(lateness, 50))
        result["late_p99"] = ms(pct(lateness, 99))
        result["sleep_p50"] = ms(pct(stats.overshoot, 50))
        result["sleep_p99"] = ms(pct(stats.overshoot, 99))
        result["late_n"] = len(lateness)
        result["sleep_n"] = len(stats.overshoot)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
