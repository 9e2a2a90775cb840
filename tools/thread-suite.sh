#!/usr/bin/env bash
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# tools/thread-suite.sh -- run the Thread package's own test suite twice in
# a tclsh with tkuv loaded: with Tcl's stock notifier and with tkuv's epoll
# notifier (`tkuv::notifier epoll` before the first test), and compare.
#
#   bash tools/thread-suite.sh THREAD_TESTS_DIR
#
# THREAD_TESTS_DIR is the tests/ directory of the Thread package's sources
# (`apt-get source tcl-thread`, or a checkout of the thread repository);
# nothing of it is committed. Assumes the C build exists in the repository
# root. Prints both counts and the line tools/test.sh counts.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tests=$(cd "${1:?usage: tools/thread-suite.sh THREAD_TESTS_DIR}" && pwd)
tclsh=${TCLSH:-tclsh8.6}
work="$root/tests-tmp/thread-suite"
mkdir -p "$work"
cat > "$work/boot.tcl" <<'TCL'
set notifier [lindex $argv 0]
set argv [lrange $argv 1 end]
set auto_path [linsert $auto_path 0 $env(TKUV_BUILD_DIR)]
package require tkuv
tkuv::notifier $notifier
set argv0 [file join $env(THREAD_TESTS) all.tcl]
source $argv0
TCL
declare -A count
for notifier in stock epoll; do
    log="$work/$notifier.log"
    (cd "$tests" && env -u TKUV_NOTIFIER TKUV_BUILD_DIR="$root" THREAD_TESTS="$tests" \
        timeout 900 "$tclsh" "$work/boot.tcl" $notifier > "$log" 2>&1)
    line=$(grep -E "^all.tcl:[[:space:]]+Total" "$log" | tail -1)
    echo "$notifier: ${line:-no total}"
    count[$notifier]=$(sed -E 's/.*Passed[[:space:]]+([0-9]+).*Failed[[:space:]]+([0-9]+).*/\1 \2/' <<<"$line")
done
if [ -n "${count[stock]}" ] && [ "${count[stock]}" = "${count[epoll]}" ]; then
    echo "all.tcl: Total 1 Passed 1 Skipped 0 Failed 0"
else
    echo "==== Thread's tests: epoll {${count[epoll]}} passed/failed, stock {${count[stock]}} FAILED"
    echo "all.tcl: Total 1 Passed 0 Skipped 0 Failed 1"
    exit 1
fi
