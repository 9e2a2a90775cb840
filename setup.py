# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""setuptools glue for pyproject.toml: build the C extension with tkuv's own
./configure && make, and ship it inside the Python package.

build_py runs ./configure and make in a directory under setuptools' build
tree (build/, never the source tree), then copies the Tcl package that
`make install-lib` lays out (the shared library, pkgIndex.tcl, tkuv.tcl)
into tkuv/_tcl/, and writes tkuv/_version.py from VERSION. tkuv.require()
puts tkuv/_tcl/ on Tk's auto_path, so `import tkuv` works in a virtual
environment with no `make install` and no environment variable.

The library talks to Tcl through its stubs and never to Python, so the
wheel is tagged py3-none-<platform>: any Python 3 on this platform, but not
another platform. Extra ./configure arguments (e.g. --with-tcl=DIR) come
from $TKUV_CONFIGURE_FLAGS.
"""

import glob
import os
import shlex
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:
    from wheel.bdist_wheel import bdist_wheel
except ImportError:             # no wheel: pip install builds one anyway
    bdist_wheel = None

SRCDIR = os.path.dirname(os.path.abspath(__file__))


def read_version():
    with open(os.path.join(SRCDIR, "VERSION"), encoding="ascii") as f:
        return f.read().strip()


class BuildWithTcl(build_py):
    """build_py, plus the C build and tkuv/_tcl/ and tkuv/_version.py."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return          # a source checkout finds its own build
        pkg = os.path.join(self.build_lib, "tkuv")
        self.build_tcl_package(os.path.join(pkg, "_tcl"))
        with open(os.path.join(pkg, "_version.py"), "w",
                  encoding="ascii") as f:
            f.write("# Written by setup.py from VERSION.\n"
                    "version = %r\n" % read_version())

    def build_tcl_package(self, dest):
        build_temp = self.get_finalized_command("build").build_temp
        cbuild = os.path.abspath(os.path.join(build_temp, "tkuv-c"))
        os.makedirs(cbuild, exist_ok=True)
        flags = shlex.split(os.environ.get("TKUV_CONFIGURE_FLAGS", ""))
        if self.needs_configure(cbuild, flags):
            self._run([os.path.join(SRCDIR, "configure")] + flags,
                      cwd=cbuild)
            with open(os.path.join(cbuild, "configure-flags"), "w") as f:
                f.write(repr(flags))
        self._run(["make", "-C", cbuild, "all"])
        # The Makefile knows which files make up the Tcl package (their
        # names depend on the Tcl version); a fresh directory drops any
        # left from an earlier build.
        shutil.rmtree(dest, ignore_errors=True)
        self._run(["make", "-C", cbuild, "install-lib", "DESTDIR=",
                    "pkgdir=" + os.path.abspath(dest)])

    @staticmethod
    def needs_configure(cbuild, flags):
        """True unless cbuild was configured with these flags and after the
        last change to configure's inputs (as tools/setup.sh decides)."""
        try:
            made = os.path.getmtime(os.path.join(cbuild, "Makefile"))
            with open(os.path.join(cbuild, "configure-flags")) as f:
                if f.read() != repr(flags):
                    return True
        except OSError:
            return True
        inputs = ["configure", "configure.ac", "Makefile.in",
                  "pkgIndex.tcl.in"] + glob.glob(os.path.join(SRCDIR, "m4",
                                                              "*.m4"))
        return any(os.path.getmtime(os.path.join(SRCDIR, f)) > made
                   for f in inputs)

    def _run(self, cmd, cwd=None):
        self.announce(" ".join(map(shlex.quote, cmd)), level=2)
        subprocess.run(cmd, cwd=cwd, check=True)


class BinaryDistribution(Distribution):
    """A platform wheel (tkuv/_tcl holds a shared library), and so an
    install into platlib."""

    def has_ext_modules(self):
        return True


cmdclass = {"build_py": BuildWithTcl}

if bdist_wheel is not None:
    class PlatformWheel(bdist_wheel):
        """Tagged py3-none-<platform>: the library loads into Tcl, not into
        Python, so any Python 3 ABI will do."""

        def get_tag(self):
            _python, _abi, plat = super().get_tag()
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = PlatformWheel

setup(cmdclass=cmdclass, distclass=BinaryDistribution)
