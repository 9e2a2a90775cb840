#!/usr/bin/env bash
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# tools/test.sh -- the README's test command: on a fresh Debian 12 machine,
# installs what is missing, builds tkuv, and runs every suite:
#   1. tcltest in tclsh + the Tk tests in wish (Xvfb when no display), epoll,
#      in the wait mode auto picks, then in each wait mode (make test-thread,
#      make test-notifier)
#   2. the same, built with --with-poller=select (the macOS code path)
#   3. the same, built with ASan+UBSan
#   4. make check-win (the Windows sources compiled with mingw)
#   5. make bench-smoke (every benchmark workload, tiny: proves they run)
#   6. the Python package's unittest suite (asyncio, uvloop, Trio in Tk),
#      and pip install / the wheel / make install's Python files, each used
#      from a fresh venv or directory (tools/test-pip.sh)
#   7. valgrind over the tcltest suite (TKUV_TEST_VALGRIND=0 skips it)
#   8. a short soak run (make soak, 100,000 messages, 20,000 handles)
#   9. Tcl 8.6's own socket/http/event test files with tkuv::install
#      (tools/tcl-suite.sh; sources from Debian's tcl8.6 source package)
#  10. licence lines and one version (tools/check-meta.py), the make dist
#      tarball (tools/test-dist.sh), the Debian packages (tools/test-deb.sh)
# Ends with one line "N passed, N failed, N skipped" summing every suite, and
# exits non-zero when anything failed.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=tools/setup.sh
. "$root/tools/setup.sh"

install_packages build-essential autoconf automake pkg-config tcl-dev tk-dev \
    python3-pip python3-venv python3-setuptools python3-wheel \
    libuv1-dev tcl-thread xvfb xauth gcc-mingw-w64-x86-64 valgrind \
    python3 python3-tk python3-uvloop python3-trio gnuplot-nox imagemagick dpkg-dev \
    debhelper dh-python python3-all fakeroot lintian || exit 1
build_tkuv || { echo "0 passed, 1 failed"; exit 1; }

logs="$root/tests-tmp/logs"
mkdir -p "$logs"
passed=0 failed=0 skipped=0

# count LOG STATUS -- add a suite's tcltest totals; a suite that failed
# without reporting a failing test (a crash, a test file error) counts one.
count() {
    local log=$1 status=$2 p=0 f=0 s=0 line
    while read -r line; do
        set -- $line
        p=$((p + $5)); s=$((s + $7)); f=$((f + $9))
    done < <(grep -E '^all\.tcl:[[:space:]]+Total' "$log")
    if grep -qE '^python: [0-9]+ passed' "$log"; then
        line=$(grep -E '^python: [0-9]+ passed' "$log" | tail -1)
        p=$((p + $(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")))
        f=$((f + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
        s=$((s + $(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line")))
    fi
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    printf '    %d passed, %d failed, %d skipped\n' "$p" "$f" "$s"
}

# suite NAME COMMAND... -- run one suite, log it, count it.
suite() {
    local name=$1 status
    shift
    say "$name"
    "$@" > "$logs/$name.log" 2>&1
    status=$?
    grep -E '^(all\.tcl:|python:|==== .* FAILED|check-win:|valgrind:|soak )' "$logs/$name.log" | tail -40
    if [ $status -ne 0 ]; then
        echo "    ($name exited $status; full log: $logs/$name.log)"
        tail -30 "$logs/$name.log"
    fi
    count "$logs/$name.log" $status
}

# check-win has no test count of its own: one check, passed or failed.
check_win() {
    if make check-win; then
        echo "all.tcl: Total 1 Passed 1 Skipped 0 Failed 0"
    else
        echo "all.tcl: Total 1 Passed 0 Skipped 0 Failed 1"
        return 1
    fi
}

# bench-smoke has no test count of its own either: every benchmark workload,
# tiny, must run (no speed is asserted); one check, passed or failed.
bench_smoke() {
    if make bench-smoke; then
        echo "all.tcl: Total 1 Passed 1 Skipped 0 Failed 0"
    else
        echo "all.tcl: Total 1 Passed 0 Skipped 0 Failed 1"
        return 1
    fi
}

# Licence notice in every source file; every place agrees with VERSION.
suite meta python3 tools/check-meta.py
suite tcltest-epoll make test
suite tcltest-select make test-select
suite tcltest-epollnotifier make test-epoll-notifier
suite tcltest-waitmodes make -k test-thread test-notifier
suite tcltest-asan make test-asan
suite check-win check_win
suite check-tcl9-types bash -c 'make check-tcl9-types && echo "all.tcl: Total 1 Passed 1 Skipped 0 Failed 0"'
suite bench-smoke bench_smoke
if [ -x tools/test-python.sh ]; then
    suite python bash tools/test-python.sh
fi
suite pip bash tools/test-pip.sh
# Tcl 8.6's own socket, http and event test files, with Tcl's socket and
# with tkuv::install: one check per file, passed when the counts agree.
suite tcl-suite bash tools/tcl-suite.sh
# A short seeded run of the command-surface fuzzer (issue 9) under
# ASan+UBSan: one counted test per chunk of 2000 cases.
suite fuzz make fuzz FUZZ_CASES=6000 FUZZ_CHUNK=2000 FUZZ_SEED=${TKUV_FUZZ_SEED:-1} \
    FUZZ_PARSE_RUNS=200000
if [ "${TKUV_TEST_VALGRIND:-1}" != 0 ]; then
    suite valgrind make test-valgrind
fi
# make dist's tarball built and tested without autotools, --without-tk and
# in Debian's layout; the .debs built, installed, loaded, purged.
suite dist bash tools/test-dist.sh
suite deb bash tools/test-deb.sh
# A short soak: the full one (make soak) takes minutes.
suite soak make soak SOAK_MESSAGES=100000 SOAK_HANDLES=20000

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
