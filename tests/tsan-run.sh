#!/bin/sh
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# tsan-run.sh -- interpreter wrapper for `make test-tsan`.
#
# tclsh is not built with ThreadSanitizer, so the TSan runtime is preloaded
# into it. Reports go to one log file per process under $TKUV_TSAN_LOGS;
# `make test-tsan` fails when any is left there. This file is read twice:
# by sh, which sets up the environment and runs tclsh on this same file,
# and then by tclsh, which sees the sh lines as one comment (the backslash
# continues it), removes LD_PRELOAD from its environment and runs the real
# script. Programs the tests spawn (sh, cat, ...) must not inherit the
# runtime: dash crashes with it preloaded. \
LD_PRELOAD="$TKUV_TSAN_PRELOAD${TKUV_PRELOAD:+ $TKUV_PRELOAD}"; \
TSAN_OPTIONS="suppressions=$TKUV_TSAN_SUPP:log_path=$TKUV_TSAN_LOGS/tsan:exitcode=0:halt_on_error=0:second_deadlock_stack=1${TKUV_TSAN_OPTIONS:+:$TKUV_TSAN_OPTIONS}"; \
export LD_PRELOAD TSAN_OPTIONS; \
if [ $# -eq 0 ]; then exec "${TKUV_INTERP:-tclsh8.6}"; fi; \
exec "${TKUV_INTERP:-tclsh8.6}" "$0" "$@"

unset -nocomplain ::env(LD_PRELOAD)
set argv0 [lindex $argv 0]
set argv [lrange $argv 1 end]
incr argc -1
info script $argv0
source $argv0
