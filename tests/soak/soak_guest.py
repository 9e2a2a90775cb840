# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""Soak: line messages through asyncio streams on a uvloop guest of Tk.

    soak_guest.py BUILD_DIR REPO_ROOT MESSAGES

An echo server and a client in one uvloop loop, run by tkuv.run() inside a
real Tk mainloop; each message is a write of its own, up to 50 in flight,
every echoed line checked in order. Prints (for soak-guest.test):

    soak guest    RSS KiB: <start> <20 samples>
    result: <messages> <bad> <handles while running> <handles after> <ticks>
"""

import asyncio
import sys
import tkinter

build_dir, repo_root, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, repo_root + "/python")

import tkuv  # noqa: E402
import uvloop  # noqa: E402

WINDOW = 50
SAMPLES = 20


def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def echo(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def main(root):
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    series = [rss()]
    step = max(1, total // SAMPLES)
    next_sample = step
    sent = received = bad = 0
    buf = b""
    handles_running = int(root.tk.call("dict", "get",
                                       root.tk.call("tkuv::info"), "handles"))
    while received < total:
        while sent < total and sent - received < WINDOW:
            writer.write(b"%d\n" % sent)
            sent += 1
        await writer.drain()
        data = await reader.read(65536)
        if not data:
            break
        buf += data
        end = buf.rfind(b"\n")
        if end < 0:
            continue
        for line in buf[:end].split(b"\n"):
            if int(line) != received:
                bad += 1
            received += 1
        buf = buf[end + 1:]
        while received >= next_sample:
            series.append(rss())
            next_sample += step
    ticks = int(tkuv.current_host().guest_info()["ticks"])
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    return series, received, bad, handles_running, ticks


root = tkinter.Tk()
root.withdraw()
root.tk.call("lappend", "auto_path", build_dir)
root.tk.call("package", "require", "tkuv")
series, received, bad, running, ticks = tkuv.run(
    main(root), root=root, loop_factory=uvloop.new_event_loop)
after = int(root.tk.call("dict", "get", root.tk.call("tkuv::info"),
                         "handles"))
print("soak guest    RSS KiB: " + " ".join(str(s) for s in series))
print("result: %d %d %d %d %d" % (received, bad, running, after, ticks))
sys.stdout.flush()
root.destroy()
