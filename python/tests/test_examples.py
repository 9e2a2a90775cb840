# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""The Python examples run end to end, as a user starts them: a normal run
and a run whose window is closed meanwhile both end cleanly, with nothing on
stderr but what the example means to say (issue 18: echo_bench.py's Tk
`after` chain outlived its window and printed `invalid command name
"...beat"` once per loop)."""

import os
import subprocess
import sys
import unittest

import support

EXAMPLES = os.path.join(support.REPO_ROOT, "examples")
TIMEOUT_S = 120

# Runs an example with every tkinter.Tk it creates closed by its window
# manager's close button (WM_DELETE_WINDOW) after CLOSE_MS, the CLOSE_NTH-th
# window only.
CLOSER = r"""
import os, runpy, sys, tkinter
nth, ms = int(os.environ["CLOSE_NTH"]), int(os.environ["CLOSE_MS"])
count = [0]
class Tk(tkinter.Tk):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        count[0] += 1
        if count[0] == nth:
            self.after(ms, lambda: self.tk.call(
                self.protocol("WM_DELETE_WINDOW")))
tkinter.Tk = Tk
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_example(argv, close_nth=None, close_ms=300):
    """Run python3 examples/ARGV...; return (returncode, stdout, stderr)."""
    cmd = [sys.executable]
    env = dict(os.environ)
    if close_nth is not None:
        cmd += ["-c", CLOSER]
        env.update(CLOSE_NTH=str(close_nth), CLOSE_MS=str(close_ms))
    cmd += [os.path.join(EXAMPLES, argv[0])] + argv[1:]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                          timeout=TIMEOUT_S)
    return proc.returncode, proc.stdout, proc.stderr


class EchoBenchTests(unittest.TestCase):
    ARGS = ["echo_bench.py", "--seconds", "0.3", "--conns", "2"]

    def test_runs_quietly(self):
        code, out, err = run_example(self.ARGS)
        self.assertEqual(code, 0, err)
        self.assertIn("asyncio  idle:", out)
        if support.uvloop is not None:
            self.assertIn("uvloop   idle:", out)
        self.assertEqual(err, "")

    def test_window_closed_during_each_phase(self):
        # 1: the idle measurement, 2: the echo in Tk.
        # Long phases, so that the close comes first.
        args = ["echo_bench.py", "--seconds", "2", "--conns", "2"]
        for nth in (1, 2):
            with self.subTest(window=nth):
                code, out, err = run_example(args, close_nth=nth)
                self.assertEqual(code, 1)
                self.assertEqual(err, "echo_bench: window closed\n")


if __name__ == "__main__":
    unittest.main()
