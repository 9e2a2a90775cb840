# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""A small Tk program for tools/test-pip.sh: run from outside the source
tree, with the interpreter of an installed tkuv (a venv, or make install's
directory on PYTHONPATH).

    python pip-smoke.py VERSION PREFIX [asyncio|uvloop]

Checks that tkuv is imported from under PREFIX, that tkuv.__version__ and
the Tcl package loaded into Tk are VERSION, and that the Tcl library came
from under PREFIX too (not from a source tree); then runs an asyncio (or
uvloop) coroutine as a guest of Tk's mainloop that serves and fetches a
line over loopback TCP. Prints "pip-smoke: ok ..." and exits 0, or a
reason and exits 1. Bounded: a Tk timer destroys the window after 30 s.
"""

import asyncio
import os
import sys
import tkinter


def fail(why):
    print("pip-smoke: FAIL:", why)
    sys.exit(1)


def main(version, prefix, flavour="asyncio"):
    import tkuv

    prefix = os.path.realpath(prefix)
    where = os.path.realpath(tkuv.__file__)
    if not where.startswith(prefix + os.sep):
        fail("tkuv imported from %s, not from under %s" % (where, prefix))
    if tkuv.__version__ != version:
        fail("tkuv.__version__ is %r, not %r" % (tkuv.__version__, version))
    factory = None
    if flavour == "uvloop":
        import uvloop
        factory = uvloop.new_event_loop

    root = tkinter.Tk()
    root.after(30000, root.destroy)         # a bug fails, never hangs
    label = tkinter.Label(root, text="...")
    label.pack()

    async def serve(reader, writer):
        writer.write(b"tkuv " + (await reader.readline()))
        await writer.drain()
        writer.close()

    async def fetch():
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello\n")
        line = await reader.readline()
        writer.close()
        server.close()
        await server.wait_closed()
        label["text"] = line.decode().strip()   # widgets from a coroutine
        return line

    line = tkuv.run(fetch(), root=root, loop_factory=factory)
    if line != b"tkuv hello\n":
        fail("the guest coroutine returned %r" % (line,))
    tcl_version = str(root.tk.call("package", "present", "tkuv"))
    if tcl_version != version:
        fail("the Tcl package loaded is %s, not %s" % (tcl_version, version))
    libs = [str(f) for f, pkg in map(root.tk.splitlist,
                                     root.tk.splitlist(
                                         root.tk.call("info", "loaded", "")))
            if str(pkg) == "Tkuv"]
    if len(libs) != 1 or not os.path.realpath(libs[0]).startswith(
            prefix + os.sep):
        fail("the Tcl library loaded is %s, not under %s" % (libs, prefix))
    root.destroy()
    print("pip-smoke: ok: tkuv %s (%s) from %s, library %s"
          % (version, flavour, where, libs[0]))


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.stderr.write(__doc__)
        sys.exit(2)
    main(*sys.argv[1:])
