# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""run.py -- runs every benchmark client against bench/echosrv and writes
RESULTS.md, results.json and results.png.

    python3 bench/run.py --bin BUILD_DIR [--out DIR] [--runs N] [--smoke]
        [--only WORKLOADS] [--peers PEERS] [--tclsh PROG --wish PROG]

BUILD_DIR holds libtkuv, pkgIndex.tcl, echosrv and uvclient (make bench
builds them). Without $DISPLAY the whole run goes under xvfb-run. Every
client run has a timeout; a run that fails or times out is recorded as
failed and the rest goes on. --smoke runs every workload tiny, only to show
that it still runs: its figures mean nothing. --tclsh/--wish run the Tcl
peers with another Tcl (Tcl 9, say: BUILD_DIR then holds tkuv built for it,
and --peers keeps to the peers that can load it).
"""

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"

# Peers: name -> (kind, argv prefix builder). Filled in main() once paths
# are known.
TCL_PEERS = ["tclsh native", "wish native", "tclsh tkuv::tcp",
             "wish tkuv::tcp", "tclsh tkuv::socket", "wish tkuv::socket"]
PY_BARE = ["asyncio", "uvloop"]
PY_TK = ["asyncio+after(1)", "asyncio thread+queue", "Trio guest after(0)",
         "tkuv asyncio guest", "tkuv uvloop guest", "tkuv Trio guest"]
PY_MODE = {"asyncio": "asyncio", "uvloop": "uvloop",
           "asyncio+after(1)": "tk-after1",
           "asyncio thread+queue": "tk-thread",
           "Trio guest after(0)": "trio-after0",
           "tkuv asyncio guest": "tkuv-asyncio",
           "tkuv uvloop guest": "tkuv-uvloop",
           "tkuv Trio guest": "tkuv-trio",
           "Python Tk alone": "tk-bare"}
TCL_IMPL = {"native": "native", "tkuv::tcp": "tkuvtcp",
            "tkuv::socket": "tkuvsocket", "Tk alone": "bare"}

# Wait modes (issue 16): a peer named "PEER [MODE]" runs PEER with these
# variables set; a peer without a mode runs whatever tkuv picks by itself.
# "epoll" is Tcl's notifier replaced by tkuv's (tkuv::notifier epoll), with
# the wait mode left to tkuv; for "native" peers it only moves Tcl's own
# sockets onto that notifier.
WAIT_MODES = {"thread": {"TKUV_WAIT": "thread"},
              "notifier": {"TKUV_WAIT": "notifier"},
              "epoll": {"TKUV_NOTIFIER": "epoll"}}


def moded(peers, modes=WAIT_MODES):
    return ["%s [%s]" % (p, m) for p in peers for m in modes]


def split_mode(peer):
    """("PEER", {env}) for "PEER [MODE]", ("PEER", {}) otherwise."""
    m = re.match(r"^(.*) \[(\w+)\]$", peer)
    if not m:
        return peer, {}
    return m.group(1), WAIT_MODES[m.group(2)]


class Bench:
    def __init__(self, args):
        self.args = args
        self.bin = os.path.abspath(args.bin)
        self.env = dict(os.environ, TCLLIBPATH=self.bin,
                        TKUV_BUILD_DIR=self.bin)
        self.tclsh = args.tclsh or shutil.which("tclsh8.6") or "tclsh"
        self.wish = args.wish or shutil.which("wish8.6") or "wish"
        self.results = {}       # workload -> peer -> [result dict or None]
        self.notes = {}         # workload -> peer -> failure text

    # -------------------------------------------------------- processes

    def argv(self, peer, workload, params):
        peer = split_mode(peer)[0]
        params = [str(p) for p in params]
        if peer == "C libuv":
            return [os.path.join(self.bin, "uvclient"), workload, *params]
        if peer.startswith("tclsh ") or peer.startswith("wish "):
            shell, impl = peer.split(" ", 1)
            prog = self.tclsh if shell == "tclsh" else self.wish
            script = os.path.join(HERE, "client.tcl")
            if shell == "wish":
                return [prog, script, "--", TCL_IMPL[impl], workload, *params]
            return [prog, script, TCL_IMPL[impl], workload, *params]
        return [PY, os.path.join(HERE, "client.py"), PY_MODE[peer], workload,
                *params]

    def run_one(self, workload, peer, params, timeout):
        conns = workload in ("pingpong", "multi") or \
            workload.startswith("scale")
        argv = self.argv(peer, "conns" if conns else workload, params)
        # Nothing is pinned to a CPU: a thread hand-off then costs what it
        # costs users, a wake-up on another core (pinned to one core, a
        # hand-off is nearly free and every peer runs at the echo server's
        # pace). The switches per round trip count the hand-offs either way.
        try:
            p = subprocess.run(argv, env=self.peer_env(peer),
                               capture_output=True,
                               text=True, timeout=timeout,
                               start_new_session=True)
        except subprocess.TimeoutExpired as e:
            return None, "timed out after %gs" % timeout
        m = re.search(r"^RESULT (\{.*\})$", p.stdout, re.M)
        if p.returncode != 0 or not m:
            err = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])
            return None, "exit %d: %s" % (p.returncode, err[-1][:120])
        return json.loads(m.group(1)), None

    def peer_env(self, peer):
        return dict(self.env, **split_mode(peer)[1])

    def record(self, workload, peer, result, note):
        self.results.setdefault(workload, {}).setdefault(peer, []).append(
            result)
        if note:
            self.notes.setdefault(workload, {})[peer] = note
        status = "failed: " + note if note else " ".join(
            "%s=%.4g" % (k, v) for k, v in result.items()
            if isinstance(v, (int, float)))
        print("  %-9s %-24s %s" % (workload, peer, status), flush=True)

    def wanted(self, peers):
        """peers, less those --peers leaves out."""
        only = set(filter(None, self.args.peers.split(",")))
        return [p for p in peers if not only or p in only]

    def series(self, workload, peers, params, timeout):
        """Runs every peer once per round, rounds interleaved so that
        machine noise spreads over all peers alike."""
        peers = self.wanted(peers)
        for _ in range(self.args.runs):
            for peer in peers:
                r, note = self.run_one(workload, peer, params, timeout)
                self.record(workload, peer, r, note)

    # -------------------------------------------------------- idle

    def idle(self, peers, seconds):
        """Starts every idle client at once, waits until each printed READY,
        reads CPU time and context switches of all its threads from /proc,
        waits `seconds`, reads again, kills them."""
        peers = self.wanted(peers)
        for _ in range(self.args.runs):
            procs = {}
            for peer in peers:
                procs[peer] = subprocess.Popen(
                    self.argv(peer, "idle", [self.ports["echo"]]),
                    env=self.peer_env(peer), stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL, text=True,
                    start_new_session=True)
            ready = {}
            for peer, p in procs.items():
                line = ""
                deadline = time.monotonic() + 20
                while "READY" not in line and time.monotonic() < deadline:
                    line = p.stdout.readline()
                    if not line:
                        break
                ready[peer] = "READY" in line
            time.sleep(0.2)
            before = {peer: proc_usage(p.pid) for peer, p in procs.items()}
            time.sleep(seconds)
            after = {peer: proc_usage(p.pid) for peer, p in procs.items()}
            for peer, p in procs.items():
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
                if not ready[peer] or before[peer] is None or \
                        after[peer] is None:
                    self.record("idle", peer, None, "did not get ready")
                    continue
                b, a = before[peer], after[peer]
                self.record("idle", peer, {
                    "cpu": a[0] - b[0],
                    "wakeups": (a[1] - b[1]) / seconds,
                    "ctxsw": (a[1] - b[1]) + (a[2] - b[2]),
                    "threads": a[3], "secs": seconds}, None)

    # -------------------------------------------------------- main

    def start_server(self):
        self.server = subprocess.Popen(
            [os.path.join(self.bin, "echosrv")], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True)
        line = self.server.stdout.readline().split()
        if not line or line[0] != "PORTS":
            raise SystemExit("bench: echosrv did not start")
        self.ports = {"echo": int(line[1]), "sink": int(line[2]),
                      "source": int(line[3])}

    def stop_server(self):
        self.server.stdin.close()
        try:
            self.server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.server.kill()


def proc_usage(pid):
    """(CPU seconds, voluntary switches, involuntary switches, threads) over
    every thread of pid, or None if it is gone."""
    cpu = vol = invol = threads = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for tid in tids:
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            with open(base + "schedstat") as f:
                cpu += int(f.read().split()[0]) / 1e9
            with open(base + "status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        invol += int(line.split()[1])
            threads += 1
        except OSError:
            pass
    return cpu, vol, invol, threads


# ------------------------------------------------------------ figures

def med(values):
    return statistics.median(values) if values else None


def rate(r, key="msgs"):
    return r[key] / r["secs"] if r and r["secs"] > 0 else None


class Figures:
    """Medians, ranges and ratios from Bench.results."""

    def __init__(self, bench):
        self.b = bench

    def values(self, workload, peer, fn):
        out = []
        for r in self.b.results.get(workload, {}).get(peer, []):
            if r is not None:
                v = fn(r)
                if v is not None:
                    out.append(v)
        return out

    def median(self, workload, peer, fn):
        return med(self.values(workload, peer, fn))

    def cell(self, workload, peer, fn, fmt="%.0f"):
        v = self.values(workload, peer, fn)
        runs = len(self.b.results.get(workload, {}).get(peer, []))
        if not v:
            if any(r is not None for r in
                   self.b.results.get(workload, {}).get(peer, [])):
                return "—"          # ran, but this figure does not apply
            note = self.b.notes.get(workload, {}).get(peer, "")
            return "failed (%s)" % note if note else "failed"
        text = fmt % med(v) + " (" + fmt % min(v) + "–" + fmt % max(v) + ")"
        if len(v) < runs:
            text += " %d/%d runs failed" % (runs - len(v), runs)
        return text

    def ratio(self, workload, a, b, fn):
        x, y = self.median(workload, a, fn), self.median(workload, b, fn)
        return x / y if x is not None and y else None


def fmt_ratio(r):
    return "—" if r is None else "%.2f×" % r


def machine_info(bench):
    def cmd(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True,
                                  env=bench.env, timeout=20).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    cpu_model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    tcl = cmd([bench.tclsh, os.path.join(HERE, "info.tcl")])
    py = cmd([PY, "-c", "import sys, uvloop, trio; print(sys.version.split()"
              "[0], uvloop.__version__, trio.__version__)"]).split()
    py += ["?"] * (3 - len(py))
    return [
        ("CPU", "%d cores (os.cpu_count), %s" % (os.cpu_count(), cpu_model)),
        ("Load", "shared with other jobs; 1-min load average %.2f at start"
         % os.getloadavg()[0]),
        ("Kernel", platform.release()),
        ("Tcl/Tk, libuv, poller", tcl),
        ("Python, uvloop, Trio", "%s, %s, %s" % tuple(py[:3])),
        ("Date", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--only", default="",
                    help="comma-separated workloads (default: all)")
    ap.add_argument("--peers", default="",
                    help="comma-separated peers (default: all)")
    ap.add_argument("--tclsh", default="",
                    help="the tclsh of the Tcl peers (default: tclsh8.6; "
                    "with --bin holding tkuv built for its Tcl)")
    ap.add_argument("--wish", default="",
                    help="the wish of the Tcl peers (default: wish8.6)")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite RESULTS.md and results.png from the "
                    "results.json in --out (after editing analysis.md)")
    args = ap.parse_args()
    if args.report_only:
        return report_only(args)
    if not os.environ.get("DISPLAY") and shutil.which("xvfb-run") \
            and not os.environ.get("TKUV_BENCH_XVFB"):
        os.environ["TKUV_BENCH_XVFB"] = "1"
        os.execvp("xvfb-run", ["xvfb-run", "-a", "-s",
                               "-screen 0 1024x768x24", PY, *sys.argv])
    # The scale workload needs more descriptors than the default 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    b = Bench(args)
    only = set(filter(None, args.only.split(",")))
    want = lambda w: not only or w in only
    s = args.smoke
    plan = {
        "pingpong": ([1, 20 if s else 20000, 1.5], 30),
        "multi": ([5 if s else 50, 10 if s else 1000, 4], 40),
        "tkwin": ([2 if s else 20, 10 if s else 2000, 4], 40),
        "bulk": ([1 << 20 if s else 1 << 30], 40),
    }
    scale_sizes = [10, 20, 50] if s else [100, 1000, 10000]
    idle_secs = 0.5 if s else 5
    all_peers = ["C libuv"] + TCL_PEERS + PY_BARE + PY_TK
    # One row per wait mode where the wait is what is measured.
    mode_peers = (moded(["tclsh tkuv::tcp", "wish tkuv::tcp",
                         "wish tkuv::socket", "tkuv uvloop guest"])
                  + moded(["tclsh native", "wish native"], ["epoll"]))
    b.info = machine_info(b)
    b.start_server()
    started = time.monotonic()
    try:
        if want("pingpong"):
            print("ping-pong", flush=True)
            b.series("pingpong", all_peers + mode_peers, [b.ports["echo"]]
                     + plan["pingpong"][0], plan["pingpong"][1])
        if want("multi"):
            print("50 connections", flush=True)
            b.series("multi", all_peers, [b.ports["echo"]]
                     + plan["multi"][0], plan["multi"][1])
        if want("tkwin"):
            print("Tk window", flush=True)
            # Bare asyncio and uvloop (no Tk) show the loops' own sleep
            # overshoot.
            b.series("tkwin", PY_BARE + PY_TK, [b.ports["echo"]]
                     + plan["tkwin"][0],
                     plan["tkwin"][1])
        if want("idle"):
            print("idle", flush=True)
            b.idle(["wish Tk alone", "wish native", "wish tkuv::tcp",
                    "wish tkuv::socket", "Python Tk alone"] + PY_TK
                   + moded(["wish tkuv::tcp", "tkuv uvloop guest"]),
                   idle_secs)
        if want("bulk"):
            print("bulk", flush=True)
            b.series("bulk", ["C libuv", "tclsh native", "tclsh tkuv::tcp",
                              "tclsh tkuv::socket"]
                     + moded(["tclsh tkuv::socket"]),
                     [b.ports["source"]] + plan["bulk"][0], plan["bulk"][1])
        if want("scale"):
            print("scale", flush=True)
            for n in scale_sizes:
                # The same number of messages at every size (at least 4
                # rounds, so that the first one, which warms every
                # connection up, does not dominate).
                rounds = max(2 if s else 4, (40 if s else 40000) // n)
                b.series("scale%d" % n, ["C libuv", "tclsh native",
                                         "tclsh tkuv::tcp",
                                         "tclsh tkuv::socket", "uvloop",
                                         "tkuv uvloop guest"],
                         [b.ports["echo"], n, rounds, 10], 60)
    finally:
        b.stop_server()
    b.elapsed = time.monotonic() - started
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"results": b.results, "notes": b.notes,
                   "info": b.info, "elapsed": b.elapsed, "runs": args.runs,
                   "scale_sizes": scale_sizes, "smoke": args.smoke}, f,
                  indent=1)
    import report
    report.write(b, Figures(b), scale_sizes, args.out, args.smoke)


def report_only(args):
    with open(os.path.join(args.out, "results.json")) as f:
        saved = json.load(f)
    b = Bench.__new__(Bench)
    b.args = args
    b.results, b.notes = saved["results"], saved["notes"]
    b.info = [tuple(row) for row in saved["info"]]
    b.elapsed = saved.get("elapsed", 0)
    args.runs = saved.get("runs", args.runs)
    scale_sizes = saved.get("scale_sizes", [100, 1000, 10000])
    import report
    report.write(b, Figures(b), scale_sizes, args.out,
                 saved.get("smoke", False))


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
