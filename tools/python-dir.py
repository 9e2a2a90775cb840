# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""Print the directory under PREFIX where `make install` puts the tkuv
Python package: the one this python3 searches, if it searches one there.

    python3 tools/python-dir.py PREFIX

Of the interpreter's site directories, the first that is
PREFIX/lib/python3[.X]/(dist|site)-packages: on Debian that is
/usr/lib/python3/dist-packages for /usr and
/usr/local/lib/python3.X/dist-packages for /usr/local. Otherwise the scheme's
purelib directory with PREFIX as its base (PREFIX/lib/python3.X/
site-packages), and a note on stderr that it is not on sys.path.
"""

import os
import re
import site
import sys
import sysconfig


def python_dir(prefix):
    prefix = os.path.normpath(prefix)
    pattern = re.compile(re.escape(prefix.rstrip("/"))
                         + r"/lib/python3(\.\d+)?/(dist|site)-packages")
    for d in site.getsitepackages():
        if pattern.fullmatch(os.path.normpath(d)):
            return d, True
    d = sysconfig.get_path("purelib", "posix_prefix",
                           vars={"base": prefix, "platbase": prefix})
    return d, False


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: python-dir.py PREFIX\n")
        return 2
    d, searched = python_dir(argv[1])
    if not searched:
        sys.stderr.write("note: %s is not on %s's sys.path: set PYTHONPATH "
                         "to import tkuv from there\n" % (d, sys.executable))
    print(d)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
