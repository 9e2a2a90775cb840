#!/usr/bin/env bash
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# tools/test-pip.sh -- check that tkuv installs with pip and with make install,
# and then works from anywhere, with no environment variable:
#
#   1. a copy of the tree (tracked and untracked, not ignored files: what a
#      clone with local changes holds) builds an sdist, and from it a wheel
#      offline with Debian's setuptools (pip wheel --no-build-isolation
#      --no-index); the wheel is tagged py3-none-<platform> and holds the
#      Tcl package (tkuv/_tcl/, with its pkgIndex.tcl), py.typed and
#      _version.py; the builds leave nothing in the tree that .gitignore
#      does not cover;
#   2. `pip install .` from that copy into a venv; a Tk program (tools/
#      pip-smoke.py) runs from an empty directory with a bare environment: it
#      imports tkuv from the venv, runs an asyncio coroutine as a guest of
#      Tk that talks over loopback TCP, and checks tkuv.__version__ and the
#      loaded Tcl package's version and path;
#   3. make install DESTDIR=D prefix=/usr puts the Python package into
#      D/usr/lib/python3/dist-packages (Debian) and nothing under /usr/local;
#      prefix=/opt/tkuv into /opt/tkuv/lib/python3.X/site-packages;
#      configure --with-python-dir=DIR into DIR, =no nowhere; the /usr
#      install then runs the same Tk program;
#   4. the copy of the tree is deleted; the wheel alone installs into a venv
#      without system site packages (a "second fresh machine": Debian's
#      tcl/tk/libuv runtime packages are all it needs), into a venv with
#      them (the program then runs uvloop), and into a venv of a Python that
#      is not Debian's (the first python3 on PATH, or $TKUV_OTHER_PYTHON,
#      when it has tkinter; skipped otherwise);
#   5. the installed package byte-compiles; mypy over python/tkuv when
#      Debian's python3-mypy is installed (skipped otherwise).
#
# Prints one line per check, then "python: N passed, N failed, N skipped"
# (the form tools/test.sh counts); exits non-zero when a check failed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-/usr/bin/python3}
version=$(tr -d '[:space:]' < "$root/VERSION")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tkuv-pip.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/elsewhere" "$tmp/home" "$tmp/wheels"
cp "$root/tools/pip-smoke.py" "$tmp/"
passed=0 failed=0 skipped=0

# check NAME COMMAND... -- one check: passed when COMMAND succeeds (run in
# a subshell: a cd stays there).
check() {
    local name=$1
    shift
    if ( "$@" ) > "$tmp/check.log" 2>&1; then
        echo "ok      $name"
        passed=$((passed + 1))
    else
        echo "FAILED  $name"
        sed 's/^/    /' "$tmp/check.log" | tail -25
        failed=$((failed + 1))
    fi
}

skip() {
    echo "skipped $1 ($2)"
    skipped=$((skipped + 1))
}

# bare COMMAND... -- run COMMAND in an empty directory with a bare
# environment (no PYTHONPATH, TCLLIBPATH, TKUV_BUILD_DIR), plus VAR=VALUE
# words given before it; under Xvfb when there is no display.
bare() {
    local vars=()
    while [[ $# -gt 0 && $1 == *=* ]]; do vars+=("$1"); shift; done
    [ -n "${DISPLAY:-}" ] && vars+=("DISPLAY=$DISPLAY" "XAUTHORITY=${XAUTHORITY:-}")
    local xvfb=()
    [ -n "${DISPLAY:-}" ] || xvfb=(xvfb-run -a)
    (cd "$tmp/elsewhere" && env -i PATH=/usr/bin:/bin HOME="$tmp/home" \
        "${vars[@]}" timeout 120 "${xvfb[@]}" "$@")
}

# smoke PYTHON PREFIX [asyncio|uvloop] [VAR=VALUE...] -- tools/pip-smoke.py.
smoke() {
    local py=$1 prefix=$2 flavour=${3:-asyncio}
    shift 3 2>/dev/null || shift $#
    bare "$@" "$py" "$tmp/pip-smoke.py" "$version" "$prefix" "$flavour"
}

# venv DIR [PYTHON] [--system-site-packages] -- a fresh venv with the wheel.
venv_with_wheel() {
    local dir=$1 py=$2
    shift 2
    "$py" -m venv "$@" "$dir" &&
        timeout 300 "$dir/bin/python" -m pip install --no-index "$wheel"
}

# ---------------------------------------------------------------- 1. wheel

src=$tmp/src
mkdir -p "$src"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$root" && git ls-files -z -co --exclude-standard |
        tar --null -T - -cf -) | tar -xf - -C "$src"
else
    cp -a "$root/." "$src/"
fi
# A repository of its own, to see what the builds add.
git -C "$src" init -q && git -C "$src" add -A &&
    git -C "$src" -c user.name=t -c user.email=t@t commit -qm copy

# The wheel from an sdist, as `python3 -m build` makes it: MANIFEST.in
# must bring everything ./configure && make need.
build_sdist() {
    cd "$src" && timeout 300 "$python" setup.py -q sdist -d "$tmp/sdist"
}
check "setup.py sdist" build_sdist
build_wheel() {
    timeout 600 "$python" -m pip wheel --no-build-isolation --no-index \
        -w "$tmp/wheels" "$tmp/sdist/tkuv-$version.tar.gz"
}
check "pip wheel --no-build-isolation --no-index (the sdist)" build_wheel
wheel=$(ls "$tmp"/wheels/tkuv-"$version"-*.whl 2>/dev/null | head -1)

wheel_tag() {
    echo "$wheel"
    case $(basename "$wheel") in
        *-py3-none-any.whl) return 1 ;;
        *-py3-none-*.whl) return 0 ;;
        *) return 1 ;;
    esac
}
check "the wheel is tagged py3-none-<platform>" wheel_tag

wheel_contents() {
    "$python" - "$wheel" <<'EOF'
import fnmatch, sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
print("\n".join(names))
for pattern in ["tkuv/__init__.py", "tkuv/py.typed", "tkuv/_version.py",
                "tkuv/_tcl/pkgIndex.tcl", "tkuv/_tcl/tkuv.tcl",
                "tkuv/_tcl/lib*tkuv*.so"]:
    if not fnmatch.filter(names, pattern):
        sys.exit("missing: " + pattern)
EOF
}
check "the wheel holds _tcl/ (library, pkgIndex.tcl), py.typed, _version.py" \
    wheel_contents

# ---------------------------------------------------------------- 2. pip install .

pip_install_dot() {
    "$python" -m venv --system-site-packages "$tmp/venv-src" &&
        timeout 600 "$tmp/venv-src/bin/python" -m pip install \
            --no-build-isolation --no-index "$src"
}
check "pip install . (venv)" pip_install_dot
check "pip install .: Tk + asyncio guest from an empty directory" \
    smoke "$tmp/venv-src/bin/python" "$tmp/venv-src"

tree_clean() {
    local out
    out=$(git -C "$src" status --porcelain)
    echo "$out"
    [ -z "$out" ]
}
check "the builds leave nothing that .gitignore does not cover" tree_clean

# ---------------------------------------------------------------- 3. make install

cbuild=$(ls -d "$src"/build/temp*/tkuv-c 2>/dev/null | head -1)
debian_site=/usr/lib/python3/dist-packages

install_usr() {
    local d=$tmp/dest-usr site
    make -C "$cbuild" install DESTDIR="$d" prefix=/usr || return 1
    find "$d" -type f | sort
    if "$python" -c "import site, sys; sys.exit('$debian_site' not in site.getsitepackages())"; then
        site=$d$debian_site
    else
        site=$(ls -d "$d"/usr/lib/python3*/*-packages | head -1)
    fi
    [ -f "$site/tkuv/__init__.py" ] && [ -f "$site/tkuv/py.typed" ] &&
        grep -qx "version = '$version'" "$site/tkuv/_version.py" &&
        ls "$d"/usr/lib/tcltk/tkuv*/pkgIndex.tcl &&
        [ ! -e "$d/usr/local" ] && echo "$site" > "$tmp/usr-site"
}
check "make install prefix=/usr: Python files in $debian_site" install_usr
check "make install prefix=/usr: Tk + asyncio guest from an empty directory" \
    smoke "$python" "$tmp/dest-usr" asyncio \
    PYTHONPATH="$(cat "$tmp/usr-site" 2>/dev/null)" \
    TCLLIBPATH="$tmp/dest-usr/usr/lib/tcltk"

install_opt() {
    local d=$tmp/dest-opt
    make -C "$cbuild" install DESTDIR="$d" prefix=/opt/tkuv || return 1
    ls "$d"/opt/tkuv/lib/python3.*/site-packages/tkuv/__init__.py &&
        [ ! -e "$d/usr" ]
}
check "make install prefix=/opt/tkuv: Python files in /opt/tkuv/lib/python3.X/site-packages" \
    install_opt

install_python_dir() {
    mkdir -p "$tmp/cfg" && cd "$tmp/cfg" &&
        "$src/configure" --prefix=/usr --with-python-dir=/srv/py >/dev/null &&
        make install-python DESTDIR="$tmp/dest-srv" &&
        [ -f "$tmp/dest-srv/srv/py/tkuv/__init__.py" ] &&
        make install-python PYTHON_DIR=no DESTDIR="$tmp/dest-no" &&
        [ ! -e "$tmp/dest-no" ]
}
check "configure --with-python-dir=DIR (and =no)" install_python_dir

# ---------------------------------------------------------------- 4. the wheel alone

rm -rf "$src" "$tmp/cfg"

check "a fresh venv (no system site packages) installs the wheel" \
    venv_with_wheel "$tmp/venv-a" "$python"
check "wheel, bare venv: Tk + asyncio guest from an empty directory" \
    smoke "$tmp/venv-a/bin/python" "$tmp/venv-a"

if "$python" -c "import uvloop" 2>/dev/null; then
    check "a venv with system site packages installs the wheel" \
        venv_with_wheel "$tmp/venv-b" "$python" --system-site-packages
    check "wheel, venv with Debian's uvloop: Tk + uvloop guest" \
        smoke "$tmp/venv-b/bin/python" "$tmp/venv-b" uvloop
else
    skip "wheel with uvloop" "no uvloop for $python"
fi

# A Python other than Debian's: $TKUV_OTHER_PYTHON, else python3 on PATH.
other=${TKUV_OTHER_PYTHON:-}
if [ -z "$other" ]; then
    other=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
fi
if [ -n "$other" ] && [ "$(readlink -f "$other")" != "$(readlink -f "$python")" ] &&
        "$other" -c "import tkinter, venv, ensurepip" 2>/dev/null; then
    check "a venv of $other installs the wheel" \
        venv_with_wheel "$tmp/venv-other" "$other"
    check "wheel, $other: Tk + asyncio guest" \
        smoke "$tmp/venv-other/bin/python" "$tmp/venv-other"
else
    skip "wheel in another Python" "no python3 other than $python with tkinter"
fi

# ---------------------------------------------------------------- 5. types, bytecode

compiles() {
    "$tmp/venv-a/bin/python" -m compileall -q \
        "$(ls -d "$tmp"/venv-a/lib/python3*/site-packages/tkuv)"
}
check "the installed package byte-compiles" compiles
if "$python" -m mypy --version >/dev/null 2>&1; then
    check "mypy python/tkuv" "$python" -m mypy "$root/python/tkuv"
else
    skip "mypy" "python3-mypy is not installed"
fi

echo "python: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
