#!/usr/bin/env bash
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# tools/test-deb.sh -- the Debian packages, built, installed and used:
#
#   bash tools/test-deb.sh      (as root, or with sudo: dpkg -i, dpkg --purge)
#
# 1. The source tree as `make dist` ships it (tools/dist.sh) is unpacked in
#    tests-tmp/deb and built with `dpkg-buildpackage -us -uc -b` (its
#    dh_auto_test runs timer.test): tcl-tkuv and python3-tkuv.
# 2. Their contents: the Tcl package in /usr/lib/tcltk/TRIPLET/tkuvVERSION,
#    the man page as tkuv(3tcl), CHANGELOG.md as changelog.gz, the Python
#    package in /usr/lib/python3/dist-packages/tkuv; lintian finds no error
#    or warning in them or in the source package.
# 3. A clean state: neither package installed, and no other tkuv that tclsh
#    or python3 would find (a `make install` copy under /usr/local is moved
#    aside for the test and put back after).
# 4. dpkg -i both; then tkuv loads from the packages' files, with no
#    environment variable, in tclsh and wish (Xvfb when there is no
#    display) and runs a timer, and Debian's /usr/bin/python3 imports tkuv
#    and runs a tiny asyncio guest in Tk.
# 5. dpkg --purge both: nothing is left that loads.
# Logs go to tests-tmp/deb/*.log. Ends with one line
#   all.tcl: Total N Passed N Skipped 0 Failed N
# (one per check) and exits non-zero when a check failed.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$root/tests-tmp/deb
version=$(cat "$root/VERSION")
dname=tkuv-$version
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
arch=$(dpkg --print-architecture)
pkgdir=/usr/lib/tcltk/$triplet/tkuv$version
pydir=/usr/lib/python3/dist-packages/tkuv
# shellcheck source=tools/checks.sh
. "$root/tools/checks.sh"

# Copies moved aside in step 3, put back on any exit.
aside=()
restore() {
    local pair
    for pair in "${aside[@]}"; do
        as_root mv "${pair#*=}" "${pair%%=*}" && echo "     put back ${pair%%=*}"
    done
    aside=()
}
purge() {
    as_root dpkg --purge python3-tkuv tcl-tkuv
}
finish() {
    installed_any && purge >/dev/null 2>&1
    restore
    report_totals
    exit
}
trap restore EXIT

installed_any() {
    dpkg -s tcl-tkuv >/dev/null 2>&1 || dpkg -s python3-tkuv >/dev/null 2>&1
}

# as_root COMMAND... -- dpkg -i and friends, through sudo unless root.
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}
if [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then
    echo "tools/test-deb.sh: needs root or sudo (dpkg -i)"
    failed=1
    finish
fi
rm -rf "$work"
mkdir -p "$work"

# ---- 1. build
build() {
    sh "$root/tools/dist.sh" "$root" "$work" && \
        tar xzf "$work/$dname.tar.gz" -C "$work" && \
        cd "$work/$dname" && timeout 1200 dpkg-buildpackage -us -uc -b
}
check deb-build logged build.log build
tdeb=$work/tcl-tkuv_${version}_$arch.deb
pdeb=$work/python3-tkuv_${version}_all.deb
[ -f "$tdeb" ] && [ -f "$pdeb" ] || finish

# ---- 2. contents
contents() {
    local deb=$1 f
    shift
    dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' > "$work/contents.txt"
    for f; do
        grep -qxF "$f" "$work/contents.txt" || { echo "     $(basename "$deb") lacks $f"; return 1; }
    done
}
check deb-tcl-contents contents "$tdeb" "$pkgdir/pkgIndex.tcl" "$pkgdir/tkuv.tcl" \
    "$pkgdir/libtkuv$version.so" /usr/share/man/man3/tkuv.3tcl.gz \
    /usr/share/doc/tcl-tkuv/changelog.gz \
    /usr/share/doc/tcl-tkuv/copyright
# dh_installchangelogs ships CHANGELOG.md as the package's changelog.gz.
changelog_is_ours() {
    dpkg-deb --fsys-tarfile "$tdeb" | tar xOf - ./usr/share/doc/tcl-tkuv/changelog.gz | \
        zcat | head -1 | grep -qx '# Changelog'
}
check deb-changelog changelog_is_ours
check deb-python-contents contents "$pdeb" "$pydir/__init__.py" "$pydir/_asyncio_host.py" \
    "$pydir/_version.py" \
    /usr/share/doc/python3-tkuv/copyright

# Debian's own checks of both packages and the source: no error, no warning.
lintian_clean() {
    # The source package from a fresh copy: the build tree is not clean.
    mkdir -p "$work/src" && tar xzf "$work/$dname.tar.gz" -C "$work/src" && \
        (cd "$work/src" && dpkg-source -b "$dname" >/dev/null) && \
        timeout 600 lintian --fail-on error,warning "$work/src/tkuv_$version.dsc" "$tdeb" "$pdeb"
}
check deb-lintian logged lintian.log lintian_clean

# ---- 3. a clean state
installed_any && purge > "$work/purge-before.log" 2>&1
clean_state() {
    local d
    for d in /usr/local/lib/tcltk/tkuv* /usr/local/lib/python3*/dist-packages/tkuv; do
        [ -e "$d" ] || continue
        mkdir -p "$work/aside"
        as_root mv "$d" "$work/aside/$(echo "$d" | tr / _)" || return 1
        aside+=("$d=$work/aside/$(echo "$d" | tr / _)")
        echo "     moved aside for the test: $d"
    done
    ! installed_any || return 1
    # Nothing that tclsh or python3 (outside this checkout) would load.
    if (cd / && env -u TCLLIBPATH tclsh <<<'puts [package versions tkuv]') | grep -q .; then
        echo "     tclsh still finds a tkuv"; return 1
    fi
    if (cd / && env -u PYTHONPATH /usr/bin/python3 -c 'import tkuv' 2>/dev/null); then
        echo "     python3 still finds a tkuv"; return 1
    fi
}
check deb-clean-state clean_state

# ---- 4. install and use
check deb-install logged install.log as_root dpkg -i "$tdeb" "$pdeb"

# The scripts run from / with no TCLLIBPATH or PYTHONPATH: only what the
# packages installed can be found.
clean_env=(env -u TCLLIBPATH -u PYTHONPATH -u TKUV_BUILD_DIR)
display=()
[ -n "${DISPLAY:-}" ] || display=(xvfb-run -a -s '-screen 0 640x480x24')

cat > "$work/load.tcl" <<EOF
after 30000 {puts "timed out"; exit 3}
set v [package require tkuv]
set where [package ifneeded tkuv \$v]
tkuv::timer after 10 {apply {args {set ::fired 1}}}
vwait ::fired
puts "loaded \$v from \$where; timer fired"
if {\$v ne "$version" || ![string match *$pkgdir* \$where]} { exit 1 }
if {[info exists tk_version]} { destroy . }
exit 0
EOF
tclsh_loads() {
    (cd / && "${clean_env[@]}" timeout 60 tclsh "$work/load.tcl")
}
check deb-tclsh-loads logged tclsh.log tclsh_loads
wish_loads() {
    (cd / && "${clean_env[@]}" timeout 60 "${display[@]}" wish "$work/load.tcl")
}
check deb-wish-loads logged wish.log wish_loads

cat > "$work/guest.py" <<EOF
import asyncio, sys, tkinter
import tkuv

async def main():
    await asyncio.sleep(0.01)
    return 42, root.tk.eval("package ifneeded tkuv [package present tkuv]")

if not tkuv.__file__.startswith("$pydir/"):
    sys.exit("tkuv imported from %s" % tkuv.__file__)
root = tkinter.Tk()
root.after(30000, lambda: sys.exit("timed out"))
result, where = tkuv.run(main(), root=root)
print("guest returned", result, "with tkuv", getattr(tkuv, "__version__", "(no __version__)"),
      "from", tkuv.__file__, "and", where)
sys.exit(0 if result == 42 and "$pkgdir" in where
         and getattr(tkuv, "__version__", "$version") == "$version" else 1)
EOF
python_runs() {
    (cd / && "${clean_env[@]}" timeout 60 "${display[@]}" /usr/bin/python3 "$work/guest.py")
}
check deb-python3-runs logged python3.log python_runs
check deb-man-page test -f /usr/share/man/man3/tkuv.3tcl.gz

# ---- 5. purge
purged() {
    purge || return 1
    [ ! -e "$pkgdir" ] && [ ! -e "$pydir" ] && \
        ! (cd / && env -u TCLLIBPATH tclsh <<<'puts [package versions tkuv]') | grep -q .
}
check deb-purge logged purge.log purged
finish
