#!/usr/bin/env bash
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# tools/test-python.sh -- run the tkuv Python suite (asyncio, uvloop, Trio
# guests in a real Tk) against the C build in the repository root.
#
#   tools/test-python.sh [-q] [unittest names, e.g. test_trio_guest]
#
# Assumes the C build exists (./configure && make). Uses Xvfb when there is
# no $DISPLAY. Prints unittest's output, then one line:
#   python: N passed, N failed, N skipped
# and exits non-zero on any failure or error.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
export TKUV_BUILD_DIR=${TKUV_BUILD_DIR:-$here}
python=${PYTHON:-/usr/bin/python3}
cmd=("$python" "$here/python/tests/run.py" "$@")
if [ -z "${DISPLAY:-}" ]; then
    if ! command -v xvfb-run >/dev/null 2>&1; then
        echo "tools/test-python.sh: no \$DISPLAY and no xvfb-run" >&2
        echo "python: 0 passed, 1 failed, 0 skipped"
        exit 1
    fi
    cmd=(xvfb-run -a "${cmd[@]}")
fi
# unittest reports on stderr; keep everything in order on stdout.
"${cmd[@]}" 2>&1
