#!/usr/bin/env bash
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# tools/demo.sh -- from a fresh Debian 12 machine to the tkuv demo window.
#
#   bash tools/demo.sh
#
# Installs the build and display dependencies (apt, skipped when all are
# present), builds tkuv in this checkout, then runs examples/demo.tcl:
#   - with $DISPLAY: opens the window; close it (or press Quit) to finish;
#   - without:       runs it for DEMO_SECONDS (default 3) under Xvfb and
#                    saves a screenshot to demo.png at the repo root.
# Runs as root, or as a user with sudo.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# shellcheck source=tools/setup.sh
. "$root/tools/setup.sh"

install_packages build-essential autoconf automake pkg-config tcl-dev tk-dev \
    libuv1-dev xvfb xauth imagemagick x11-apps
build_tkuv

# --- 3. demo ---------------------------------------------------------------
demo=(wish "$root/examples/demo.tcl")
if [ -n "${DISPLAY:-}" ]; then
    say "opening the demo on $DISPLAY (close the window to finish)"
    "${demo[@]}"
else
    shot="$root/demo.png"
    seconds=${DEMO_SECONDS:-3}
    say "no DISPLAY: running the demo under Xvfb for ${seconds}s"
    rm -f "$shot"
    # timeout: a stuck demo must not hang a headless run forever.
    timeout $((${seconds%.*} + 30)) \
        xvfb-run -a -s '-screen 0 1024x768x24' \
        "${demo[@]}" -screenshot "$shot" -seconds "$seconds"
    [ -s "$shot" ] || { echo "demo.sh: no screenshot was written" >&2; exit 1; }
    echo "$shot"
fi
