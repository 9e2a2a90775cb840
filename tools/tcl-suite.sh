#!/usr/bin/env bash
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# tools/tcl-suite.sh -- run Tcl 8.6's own test files twice, once with Tcl's
# socket and once with `tkuv::install` in effect, and print both counts.
#
#   bash tools/tcl-suite.sh [test files ...]   (default: socket.test http.test
#                                               http11.test event.test)
#   TKUV_NOTIFIER=epoll bash tools/tcl-suite.sh   the same, both modes on
#                                               tkuv's epoll notifier
#
# The test files come from Debian's source package of the installed Tcl
# (`apt-get source tcl8.6`, fetched once into tests-tmp/tclsrc with a
# deb-src line for the running release); nothing of them is committed.
# With tkuv, the install runs in the test interpreter and in every tclsh
# the tests start (their `interpreter` is a wrapper that installs it first).
# Assumes the C build exists in the repository root.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work="$root/tests-tmp/tclsrc"
mkdir -p "$work"
tclsh=${TCLSH:-tclsh8.6}

src=$(ls -d "$work"/tcl8.6-*/ 2>/dev/null | head -1)
if [ -z "$src" ]; then
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    if ! apt-get source --print-uris tcl8.6 >/dev/null 2>&1; then
        . /etc/os-release
        echo "deb-src http://deb.debian.org/debian $VERSION_CODENAME main" \
            | "${sudo[@]}" tee /etc/apt/sources.list.d/tkuv-tcl-src.list >/dev/null
        "${sudo[@]}" apt-get update -qq
    fi
    command -v dpkg-source >/dev/null || "${sudo[@]}" env \
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev >/dev/null
    (cd "$work" && apt-get source -qq tcl8.6 >/dev/null 2>&1) || {
        echo "tcl-suite: apt-get source tcl8.6 failed" >&2; exit 1; }
    src=$(ls -d "$work"/tcl8.6-*/ | head -1)
fi

# boot.tcl MODE FILE ARGS...: MODE tkuv installs tkuv::socket first.
boot="$work/boot.tcl"
cat > "$boot" <<'TCL'
set mode [lindex $argv 0]
set argv [lrange $argv 1 end]
# tclsh's own option: -encoding name file ...
set tkuvSuiteEncoding ""
if {[lindex $argv 0] eq "-encoding"} {
    set tkuvSuiteEncoding [lindex $argv 1]
    set argv [lrange $argv 2 end]
}
set argv0 [lindex $argv 0]
set argv [lrange $argv 1 end]
set argc [llength $argv]
# TKUV_NOTIFIER=epoll: both modes run on the epoll notifier (tkuv installs
# it as it loads).
if {$mode eq "tkuv" || [info exists env(TKUV_NOTIFIER)]} {
    set auto_path [linsert $auto_path 0 $env(TKUV_BUILD_DIR)]
    package require tkuv
}
if {$mode eq "tkuv"} {
    tkuv::install
}
set ::tkuvSuiteMode $mode
if {$argv0 eq ""} {
    # Run as a filter (a script on stdin), as some tests start tclsh.
    # Commands run as they complete, as tclsh reads a piped script.
    set argv0 [info nameofexecutable]
    set tkuvSuiteBuf ""
    while {[gets stdin tkuvSuiteLine] >= 0} {
        append tkuvSuiteBuf $tkuvSuiteLine \n
        if {[info complete $tkuvSuiteBuf]} {
            # tclsh reports a failing command and goes on with the next.
            if {[catch {uplevel #0 $tkuvSuiteBuf} tkuvSuiteMsg]} {
                puts stderr $tkuvSuiteMsg
            }
            set tkuvSuiteBuf ""
        }
    }
} else {
    if {[file tail $argv0] ne "remote.tcl"} {
        package require tcltest
        namespace import -force ::tcltest::*
        tcltest::interpreter $env(TKUV_SUITE_INTERP)
    }
    if {$tkuvSuiteEncoding ne ""} {
        source -encoding $tkuvSuiteEncoding $argv0
    } else {
        source $argv0
    }
}
TCL
for mode in tcl tkuv; do
    cat > "$work/tclsh-$mode" <<SH
#!/bin/sh
exec $tclsh "$boot" $mode "\$@"
SH
    chmod +x "$work/tclsh-$mode"
done

files=("$@")
[ ${#files[@]} -gt 0 ] || files=(socket.test http.test http11.test event.test)
cd "$src/tests"
same=0 differ=0
# run_file FILE: both modes; sets count[tcl] and count[tkuv] ("passed failed").
declare -A count
run_file() {
    local f=$1 mode log status line
    for mode in tcl tkuv; do
        log="$work/$mode-${f%.test}.log"
        TKUV_BUILD_DIR=$root TKUV_SUITE_INTERP="$work/tclsh-$mode" \
            timeout 600 "$tclsh" "$boot" $mode "$f" > "$log" 2>&1
        status=$?
        line=$(grep -E "^$f:[[:space:]]+Total" "$log" | tail -1)
        printf '%-14s %-5s %s%s\n' "$f" "$mode" "${line:-no total (exit $status)}" \
            "$([ $status -ne 0 ] && echo " [exit $status]")"
        count[$mode]=$(sed -E 's/.*Passed[[:space:]]+([0-9]+).*Failed[[:space:]]+([0-9]+).*/\1 \2/' <<<"$line")
    done
}

for f in "${files[@]}"; do
    run_file "$f"
    # Tcl's own files have timing races (socket_inet-13.1 releases a
    # thread that may already have ended): a file that differs runs again.
    if [ "${count[tcl]}" != "${count[tkuv]}" ]; then
        echo "$f: counts differ; running it again"
        run_file "$f"
    fi
    # One check per file: tkuv passes what Tcl's socket passes.
    if [ -n "${count[tcl]}" ] && [ "${count[tcl]}" = "${count[tkuv]}" ]; then
        same=$((same + 1))
    else
        differ=$((differ + 1))
        echo "==== $f: with tkuv::install {${count[tkuv]}} passed/failed, with Tcl's socket {${count[tcl]}} FAILED"
    fi
done
# The line tools/test.sh counts.
echo "all.tcl: Total $((same + differ)) Passed $same Skipped 0 Failed $differ"
[ "$differ" -eq 0 ]
