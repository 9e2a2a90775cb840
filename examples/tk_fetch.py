#!/usr/bin/env python3
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""tk_fetch.py -- a Tkinter app doing real async I/O with tkuv.

One event loop, running as a guest of Tk's mainloop, serves a small HTTP/1.1
server on 127.0.0.1 and downloads from it: three concurrent fetches with live
progress bars, a transfer log, and a Tk `after` counter that shows the GUI
never stalls. No threads, no polling.

    python3 examples/tk_fetch.py [--loop asyncio|uvloop]
    python3 examples/tk_fetch.py --screenshot shot.png --seconds 3

With --screenshot the fetch starts at once; after --seconds the window is
saved to FILE (ImageMagick `import`, or xwd+convert) and the app closes.
Without an installed tkuv, $TKUV_BUILD_DIR or this checkout's build is used.
"""

import argparse
import asyncio
import os
import shutil
import sys
import time
import tkinter
from tkinter import ttk

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
import tkuv  # noqa: E402

CHUNK = 16 * 1024
SIZES = (3_000_000, 1_500_000, 4_500_000)


# --- the server: GET /blob/N sends N bytes, paced so progress is visible -----

async def serve_blob(reader, writer):
    try:
        request = await reader.readline()
        while (await reader.readline()).strip():
            pass                                # skip the headers
        method, path, _ = request.decode("latin-1").split(" ", 2)
        if method != "GET" or not path.startswith("/blob/"):
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        size = int(path[len("/blob/"):])
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-"
                     b"stream\r\nContent-Length: %d\r\n\r\n" % size)
        sent = 0
        block = bytes(range(256)) * (CHUNK // 256)
        while sent < size:
            n = min(CHUNK, size - sent)
            writer.write(block[:n])
            await writer.drain()
            sent += n
            await asyncio.sleep(0.002)          # a "slow" network
    except (ConnectionError, ValueError):
        pass
    finally:
        writer.close()


# --- the client ---------------------------------------------------------------

async def fetch(port, path, progress):
    """GET path; progress(received, total) after every chunk."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                     % path.encode())
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError("server said %r" % status)
        total = 0
        while line := (await reader.readline()).strip():
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                total = int(value)
        received = 0
        while received < total:
            data = await reader.read(64 * 1024)
            if not data:
                raise ConnectionError("connection closed early")
            received += len(data)
            progress(received, total)
        return received
    finally:
        writer.close()
        await writer.wait_closed()


# --- the window -----------------------------------------------------------------

class App:
    def __init__(self, root, loop_name):
        self.root = root
        self.port = None
        self.fetching = None
        root.title("tkuv fetch (%s)" % loop_name)
        frame = ttk.Frame(root, padding=10)
        frame.pack(fill="both", expand=True)

        self.bars = []
        for i, size in enumerate(SIZES):
            ttk.Label(frame, text="/blob/%d" % size).grid(row=i, column=0,
                                                          sticky="w")
            bar = ttk.Progressbar(frame, length=320, maximum=size)
            bar.grid(row=i, column=1, padx=8, pady=2, sticky="ew")
            self.bars.append(bar)

        buttons = ttk.Frame(frame)
        buttons.grid(row=3, column=0, columnspan=2, sticky="ew", pady=6)
        self.fetch_button = ttk.Button(buttons, text="Fetch",
                                       command=tkuv.asyncslot(self.fetch_all))
        self.fetch_button.pack(side="left")
        ttk.Button(buttons, text="Cancel", command=self.cancel).pack(
            side="left", padx=6)
        self.status = ttk.Label(buttons, text="starting server ...")
        self.status.pack(side="left", padx=6)
        self.clock = ttk.Label(buttons, text="")
        self.clock.pack(side="right")

        self.log = tkinter.Text(frame, width=64, height=10, font="TkFixedFont")
        self.log.grid(row=4, column=0, columnspan=2, sticky="nsew")
        frame.columnconfigure(1, weight=1)
        frame.rowconfigure(4, weight=1)

        # A Tk-only heartbeat: if the event loop ever blocked Tk, it would
        # stop counting.
        self.beats = 0
        self.heartbeat()

    def heartbeat(self):
        self.beats += 1
        self.clock["text"] = "Tk after: %d" % self.beats
        self.root.after(50, self.heartbeat)

    def say(self, text):
        self.log.insert("end", "%s  %s\n" % (time.strftime("%H:%M:%S"), text))
        self.log.see("end")

    def cancel(self):
        if self.fetching is not None:
            self.fetching.cancel()

    async def fetch_all(self):
        if self.fetching is not None or self.port is None:
            return
        self.fetching = asyncio.current_task()
        # This runs before Fetch's click handler returns (asyncslot is
        # eager), so the button is disabled at once.
        self.fetch_button.state(["disabled"])
        for bar in self.bars:
            bar["value"] = 0
        t0 = time.monotonic()

        def progress_for(bar):
            def progress(received, total):
                bar["value"] = received
            return progress
        try:
            self.say("fetching %d blobs concurrently" % len(SIZES))
            sizes = await asyncio.gather(*(
                fetch(self.port, "/blob/%d" % size, progress_for(bar))
                for size, bar in zip(SIZES, self.bars)))
            dt = time.monotonic() - t0
            total = sum(sizes)
            self.say("done: %d bytes in %.2f s (%.1f MB/s)"
                     % (total, dt, total / dt / 1e6))
            self.status["text"] = "done"
        except asyncio.CancelledError:
            self.say("cancelled")
            self.status["text"] = "cancelled"
            raise
        except Exception as exc:                # shown, not fatal
            self.say("failed: %r" % (exc,))
        finally:
            self.fetching = None
            if self.root.winfo_exists():
                self.fetch_button.state(["!disabled"])

    async def main(self, autostart):
        server = await asyncio.start_server(serve_blob, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        self.say("server on 127.0.0.1:%d, loop %s.%s" % (
            self.port, type(loop).__module__, type(loop).__name__))
        self.status["text"] = "ready"
        async with server:
            if autostart:
                self.fetch_button.invoke()
            await asyncio.Event().wait()        # until the window closes


def screenshot(root, path):
    """Save the toplevel (with its frame) to path; True on success."""
    root.update()
    window = root.wm_frame()
    if shutil.which("import"):
        cmd = "import -window %s %s" % (window, _quote(path))
    else:
        cmd = "xwd -silent -id %s | convert xwd:- %s" % (window, _quote(path))
    return os.system(cmd) == 0


def _quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loop", choices=("asyncio", "uvloop"),
                        default="asyncio")
    parser.add_argument("--screenshot", metavar="FILE")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)

    loop_factory = None
    if args.loop == "uvloop":
        import uvloop
        loop_factory = uvloop.new_event_loop

    root = tkinter.Tk()
    app = App(root, args.loop)
    ok = [True]
    if args.screenshot:
        def shoot():
            ok[0] = screenshot(root, args.screenshot)
            print("screenshot: %s" % os.path.abspath(args.screenshot)
                  if ok[0] else "screenshot failed", file=sys.stderr)
            root.destroy()      # ends the run: tasks cancelled, loop closed
        root.after(int(args.seconds * 1000), shoot)
    tkuv.run(app.main(autostart=bool(args.screenshot)), root=root,
             loop_factory=loop_factory)
    return 0 if ok[0] else 1


if __name__ == "__main__":
    sys.exit(main())
