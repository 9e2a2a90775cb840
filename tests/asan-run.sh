#!/bin/sh
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# Interpreter wrapper for `all.tcl -asan`: tclsh and wish are not built with
# ASan, so its runtime is preloaded -- into Tcl interpreters only, not into
# make, sh or Xvfb, whose own leaks are not ours to report.
LD_PRELOAD="$TKUV_ASAN_PRELOAD${TKUV_PRELOAD:+ $TKUV_PRELOAD}"
export LD_PRELOAD
exec "${TKUV_INTERP:-tclsh8.6}" "$@"
