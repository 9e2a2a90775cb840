#!/usr/bin/env python3
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""check-meta.py -- project hygiene checks for the README's test command.

    python3 tools/check-meta.py          check, print one tcltest-style total
    python3 tools/check-meta.py --fix    add the licence line where missing

Checks:
  * every source file (C, Tcl, Python, shell, autoconf, make, man page) names
    the licence in its header, in the one-line form LICENSE_LINE;
  * the version in VERSION is the one used everywhere else: configure.ac
    reads it (and passes it to the C build and pkgIndex.tcl), the C fallback
    in tkuvInt.h, the man page's .TH line and `package require tkuv ?V?`, the
    install path in README.md, the Python package's __version__ and
    pyproject.toml (when they state one literally), debian/changelog, and the
    top entry of CHANGELOG.md.

Prints "FAIL: ..." per problem, then
    all.tcl:    Total N Passed N Skipped 0 Failed N
(one check per file and per version place), and exits non-zero on failure.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTICE = "Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE."
NOTICE_RE = re.compile(r"Copyright \(c\) [0-9]{4}(-[0-9]{4})? The tkuv authors\. "
                       r"BSD 2-Clause licence: see LICENSE\.")

# Comment style by file name: (prefix of the inserted line, separator line
# after it or None). C files get the line inside their opening /* block.
HASH = ("# ", "#")


def style(path):
    name = os.path.basename(path)
    if name.endswith((".c", ".h")):
        return "c"
    if name.endswith((".tcl", ".test", ".sh", ".in")) or path == ".ci/run":
        return HASH
    if name.endswith(".py"):
        return ("# ", None)
    if name.endswith((".ac", ".m4")):
        return ("dnl ", "dnl")
    if name.endswith(".n"):
        return ('.\\" ', '.\\"')
    return None


def source_files():
    """Tracked files (git) or, outside a checkout, every file under ROOT."""
    try:
        out = subprocess.run(["git", "-C", ROOT, "ls-files"], check=True,
                             capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = []
        for d, dirs, files in os.walk(ROOT):
            dirs[:] = [x for x in dirs if not x.startswith((".", "build"))
                       and x not in ("autom4te.cache", "tests-tmp", "debian")]
            out += [os.path.relpath(os.path.join(d, f), ROOT) for f in files]
    # configure is generated (or a generator wrapper); debian/ has DEP-5.
    return sorted(p for p in out if style(p) and p != "configure"
                  and not p.startswith("debian/") and os.path.isfile(os.path.join(ROOT, p)))


def has_notice(lines):
    return any(NOTICE_RE.search(l) for l in lines[:12])


def add_notice(path, lines):
    """The notice goes right after the first line when that line opens a C
    comment or is a #! line, else at the very top, so no other line of the
    header changes (edits elsewhere in the header merge around it)."""
    s = style(path)
    if s == "c":
        if lines[0].rstrip("\n") != "/*":
            return None
        new = [" * " + NOTICE + "\n", " *\n"]
        at = 1
    else:
        prefix, sep = s
        new = [prefix + NOTICE + "\n"] + ([sep + "\n"] if sep else [])
        at = 1 if lines and lines[0].startswith("#!") else 0
    return lines[:at] + new + lines[at:]


def read_version():
    try:
        with open(os.path.join(ROOT, "VERSION")) as f:
            return f.read().strip()
    except OSError:
        return "(no VERSION file)"


def version_places(v):
    """(name, ok, detail) for each place that states the version."""
    out = []

    def grab(rel, pattern, required=True):
        path = os.path.join(ROOT, rel)
        if not os.path.exists(path):
            if required:
                out.append((rel, False, "missing"))
            return
        with open(path, encoding="utf-8") as f:
            text = f.read()
        found = re.findall(pattern, text, re.M)
        if not found:
            if required:
                out.append((rel, False, "no version found by /%s/" % pattern))
            return
        bad = [x for x in found if x != v]
        out.append((rel, not bad, "states %s" % ", ".join(sorted(set(found)))))

    ac = os.path.join(ROOT, "configure.ac")
    with open(ac) as f:
        text = f.read()
    ok = re.search(r"AC_INIT\(\[tkuv\],\s*m4_esyscmd_s\(\[cat VERSION\]\)", text)
    out.append(("configure.ac", bool(ok), "AC_INIT must read VERSION"))
    grab("generic/tkuvInt.h", r'^#define TKUV_VERSION "([^"]+)"')
    grab("README.md", r"tcltk/tkuv([0-9][0-9.]*[0-9])", required=False)
    grab("doc/tkuv.n", r"^\.TH tkuv n (\S+)")
    grab("doc/tkuv.n", r"package require tkuv\\fR \?\\fB([0-9.]+)\\fR\?")
    # The Python package reads VERSION or states it; a literal must agree.
    grab("python/tkuv/__init__.py", r"^__version__\s*=\s*[\"']([^\"']+)[\"']",
         required=False)
    grab("pyproject.toml", r"^version\s*=\s*[\"']([^\"']+)[\"']", required=False)
    grab("debian/changelog", r"^tkuv \(([0-9][^-)]*)", required=False)
    # CHANGELOG's first entry is the current version; grab checked all of them.
    out = [o for o in out if o[0] != "CHANGELOG.md"]
    m = None
    if os.path.exists(os.path.join(ROOT, "CHANGELOG.md")):
        with open(os.path.join(ROOT, "CHANGELOG.md")) as f:
            m = re.search(r"^## \[?([0-9][0-9a-z.]*)\]?", f.read(), re.M)
    out.append(("CHANGELOG.md", bool(m) and m.group(1) == v,
                "first entry %s" % (m.group(1) if m else "missing")))
    return out


def main():
    fix = "--fix" in sys.argv[1:]
    passed = failed = 0
    for rel in source_files():
        path = os.path.join(ROOT, rel)
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.readlines()
        if has_notice(lines):
            passed += 1
            continue
        if fix:
            new = add_notice(rel, lines) if lines else None
            if new is not None:
                with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
                    f.writelines(new)
                print("added licence line:", rel)
                passed += 1
                continue
        print("FAIL: %s: no licence line (%s)" % (rel, NOTICE))
        failed += 1
    v = read_version()
    for name, ok, detail in version_places(v):
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL: %s: version does not agree with VERSION (%s): %s" % (name, v, detail))
    print("all.tcl:\tTotal\t%d\tPassed\t%d\tSkipped\t0\tFailed\t%d"
          % (passed + failed, passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
