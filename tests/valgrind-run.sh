#!/bin/sh
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# Interpreter wrapper for `all.tcl -valgrind`: runs $TKUV_INTERP (tclsh or
# wish) under valgrind, one log per process in $TKUV_VALGRIND_LOGS.
# TCL_FINALIZE_ON_EXIT makes `exit` free Tcl's memory, so what is still
# lost at the end is real.
TCL_FINALIZE_ON_EXIT=1
export TCL_FINALIZE_ON_EXIT
exec valgrind -q --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --num-callers=30 --keep-debuginfo=yes \
    --log-file="${TKUV_VALGRIND_LOGS:-/tmp}/%p.log" \
    "${TKUV_INTERP:-tclsh8.6}" "$@"
