# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# tools/checks.sh -- what tools/test-dist.sh and tools/test-deb.sh share:
# counted checks, commands logged under $work (set by the caller), and the
# tcltest-style total line that tools/test.sh counts. Sourced.

passed=0 failed=0

# check NAME COMMAND... -- one check, passed when COMMAND succeeds.
check() {
    local name=$1
    shift
    if "$@"; then
        echo "++++ $name PASSED"
        passed=$((passed + 1))
    else
        echo "==== $name FAILED"
        failed=$((failed + 1))
    fi
}

# logged LOG COMMAND... -- run COMMAND with its output in $work/LOG; on
# failure show the end of that log.
logged() {
    local log=$work/$1
    shift
    if "$@" > "$log" 2>&1; then
        return 0
    fi
    echo "     (failed; end of $log:)"
    tail -25 "$log" | sed 's/^/     /'
    return 1
}

# report_totals -- the total line; succeeds when no check failed.
report_totals() {
    printf 'all.tcl:\tTotal\t%d\tPassed\t%d\tSkipped\t0\tFailed\t%d\n' \
        $((passed + failed)) "$passed" "$failed"
    [ "$failed" -eq 0 ]
}
