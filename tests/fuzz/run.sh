#!/bin/sh
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# run.sh -- drives tests/fuzz/fuzz.tcl for `make fuzz` and CI.
#
#   run.sh BUILD_DIR CASES SEED [CHUNK]
#
# Runs CASES cases in chunks of CHUNK (default 2000), each chunk a fresh
# tclsh in a fresh temporary directory, with the ASan runtime preloaded
# when TKUV_FUZZ_PRELOAD names it (LeakSanitizer runs at each chunk's exit).
# Chunk i uses seed SEED*100000+i, so every chunk can be replayed alone:
#   cd $(mktemp -d) && tclsh fuzz.tcl -seed S -cases N -dir $PWD
# A chunk fails on a finding, a sanitizer report, a crash, or when it does
# not end within TKUV_FUZZ_TIMEOUT seconds (default 300: a hang).
# Prints each chunk's summary, the total, and a tcltest-style count line
# (one test per chunk) for tools/test.sh.
build=${1:?usage: run.sh BUILD_DIR CASES SEED [CHUNK]}
cases=${2:?}
seed=${3:?}
chunk=${4:-2000}
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
tclsh=${TKUV_TCLSH:-tclsh8.6}
limit=${TKUV_FUZZ_TIMEOUT:-300}

passed=0 failed=0 total=0 i=0
while [ "$total" -lt "$cases" ]; do
    n=$chunk
    if [ $((cases - total)) -lt "$n" ]; then n=$((cases - total)); fi
    s=$((seed * 100000 + i))
    dir=$(mktemp -d "${TMPDIR:-/tmp}/tkuv-fuzz.XXXXXX")
    log=$dir.log
    # The ASan options: leaks with a short malloc stack, so that the
    # libtcl suppression of tests/lsan.supp does not also hide tkuv's own
    # allocations (every longer stack passes through libtcl).
    ( cd "$dir" && exec env LD_PRELOAD="${TKUV_FUZZ_PRELOAD:-}" \
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:malloc_context_size=3 \
        LSAN_OPTIONS=suppressions=$here/../lsan.supp:print_suppressions=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        TCLLIBPATH="$build" \
        timeout -s KILL "$limit" "$tclsh" "$here/fuzz.tcl" \
            -seed "$s" -cases "$n" -dir "$dir" ) </dev/null >"$log" 2>&1
    status=$?
    summary=$(grep -a -o 'fuzz: seed .*' "$log" | tail -1)
    done_cases=$(echo "$summary" | sed -n 's/.* cases \([0-9]*\) .*/\1/p')
    bad=$(grep -a -c -E '^FINDING|ERROR: (Address|Leak)Sanitizer|runtime error:' "$log")
    if [ $status -eq 0 ] && [ -n "$summary" ] && [ "$bad" -eq 0 ]; then
        passed=$((passed + 1))
        echo "  $summary"
        rm -f "$log"
    else
        failed=$((failed + 1))
        if [ $status -eq 137 ]; then why="no end within ${limit}s (hang)"
        else why="exit status $status"; fi
        echo "  CHUNK FAILED: seed $s, $n cases, $why; log $log"
        grep -a -E -A3 '^FINDING|ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY' "$log" | head -60
        [ -n "$summary" ] && echo "  $summary"
    fi
    rm -rf "$dir"
    total=$((total + ${done_cases:-$n}))
    i=$((i + 1))
done
echo "fuzz: $total cases in $i chunks: $passed passed, $failed failed"
printf 'all.tcl:\tTotal\t%d\tPassed\t%d\tSkipped\t0\tFailed\t%d\n' $i $passed $failed
[ "$failed" -eq 0 ]
