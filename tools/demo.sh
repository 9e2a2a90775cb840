#!/usr/bin/env bash
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

say() { printf '\n==> %s\n' "$*"; }

# --- 1. packages -----------------------------------------------------------
packages=(build-essential autoconf automake pkg-config tcl-dev tk-dev
          libuv1-dev xvfb xauth imagemagick x11-apps)

installed() {
    # dpkg -s also succeeds for removed packages that left config files.
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

missing=()
if command -v dpkg >/dev/null; then
    for p in "${packages[@]}"; do
        installed "$p" || missing+=("$p")
    done
else
    echo "demo.sh: no dpkg here (not Debian?); assuming the tools are installed" >&2
fi

if ((${#missing[@]})); then
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || {
            echo "demo.sh: need root or sudo to install: ${missing[*]}" >&2
            exit 1
        }
        sudo=(sudo)
    fi
    say "installing: ${missing[*]}"
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
else
    say "packages: all present"
fi

# --- 2. build --------------------------------------------------------------
# configure only when there is no Makefile or its inputs changed; make itself
# knows whether the library is up to date.
needs_configure=no
[ -f Makefile ] || needs_configure=yes
for f in configure configure.ac Makefile.in pkgIndex.tcl.in m4/*.m4; do
    if [ -e "$f" ] && [ -f Makefile ] && [ "$f" -nt Makefile ]; then
        needs_configure=yes
    fi
done
if [ $needs_configure = yes ]; then
    say "configuring"
    ./configure
fi
say "building"
make

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
