# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# tools/setup.sh -- sourced by tools/demo.sh and tools/test.sh: install
# Debian packages that are missing, and build tkuv in this checkout.
# Expects $root (the repo root) to be set and to be the current directory.

say() { printf '\n==> %s\n' "$*"; }

installed() {
    # dpkg -s also succeeds for removed packages that left config files.
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

# install_packages PKG... -- apt-get only what is missing (root or sudo).
install_packages() {
    local missing=() p sudo=()
    if ! command -v dpkg >/dev/null; then
        echo "setup: no dpkg here (not Debian?); assuming the tools are installed" >&2
        return 0
    fi
    for p in "$@"; do
        installed "$p" || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        say "packages: all present"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || {
            echo "setup: need root or sudo to install: ${missing[*]}" >&2
            return 1
        }
        sudo=(sudo)
    fi
    say "installing: ${missing[*]}"
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
}

# build_tkuv -- configure (when there is no Makefile or its inputs changed)
# and make.
build_tkuv() {
    local f needs_configure=no
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
}
