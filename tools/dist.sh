#!/bin/sh
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# tools/dist.sh -- the source tarball, for `make dist`:
#
#   sh tools/dist.sh SRCDIR OUTDIR      writes OUTDIR/tkuv-VERSION.tar.gz
#
# What goes in: every file git tracks, as it is in the work tree, except
# what only the repository needs (CI, benchmark and fuzzing results). Then
# configure is generated in the staged copy and replaces the generator
# wrapper, next to aclocal.m4 and build-aux/, so the tarball builds with a C
# compiler, make and the Tcl/Tk/libuv development packages only: autoconf
# and automake are needed only to change configure.ac (`aclocal -I m4 &&
# autoconf`). Every file gets the time of the last commit, so the tarball
# is the same for the same tree and no file looks newer than configure.
set -eu

src=$(cd "$1" && pwd)
out=$(cd "$2" && pwd)
version=$(cat "$src/VERSION")
name=tkuv-$version

git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || {
    echo "dist: $src is not a git checkout (the file list comes from git)" >&2
    exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/$name
mkdir -p "$stage"

# Tracked files that exist (a deletion not yet committed is left out).
git -C "$src" ls-files -z | (cd "$src" && xargs -0 sh -c '
    for f; do
        case "$f" in
            .ci/*|.gitignore|bench/RESULTS.md|bench/results.*|tests/fuzz/RESULTS-ROWS.md) continue ;;
        esac
        [ -f "$f" ] && printf "%s\0" "$f"
    done' sh) | (cd "$src" && xargs -0 cp --parents -t "$stage")

# The generator wrapper makes configure.gen (aclocal, autoconf, build-aux);
# --help only exercises it. The result becomes the real configure.
(cd "$stage" && ./configure --help >/dev/null)
mv "$stage/configure.gen" "$stage/configure"
rm -rf "$stage/autom4te.cache" "$stage"/configure.gen~
chmod 755 "$stage/configure"

stamp=$(git -C "$src" log -1 --format=%ct)
tar -C "$tmp" --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime="@$stamp" -cf - "$name" | gzip -n9 > "$out/$name.tar.gz"
echo "dist: $out/$name.tar.gz"
