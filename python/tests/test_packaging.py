# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""Packaging promises that the source tree can check (issue 18): the version,
the Tcl package that pip's build ships inside tkuv/_tcl/, reports through
logging, and the threading rules of python/README.md. tools/test-pip.sh
checks the wheel, pip install and make install themselves."""

import ast
import asyncio
import gc
import glob
import os
import tempfile
import threading
import tkinter
import unittest
from unittest import mock

from support import BUILD_DIR, REPO_ROOT, WAIT_S, TkTestCase, \
    for_each_loop, tkuv, trio

PACKAGE_DIR = os.path.dirname(os.path.abspath(tkuv.__file__))


def read_version():
    with open(os.path.join(REPO_ROOT, "VERSION"), encoding="ascii") as f:
        return f.read().strip()


class VersionTests(TkTestCase):

    def test_version_is_the_VERSION_file(self):
        self.assertEqual(tkuv.__version__, read_version())

    def test_tcl_package_has_the_same_version(self):
        # configure's AC_INIT and VERSION agree: the wheel's require()
        # asks Tcl for exactly tkuv.__version__.
        self.assertEqual(str(self.root.tk.call("package", "present", "tkuv")),
                         tkuv.__version__)


class BundledPackageTests(unittest.TestCase):
    """require() with a Tcl package in tkuv/_tcl/, as pip's build lays it
    out: symbolic links to the build tree's files (the same library file,
    so the process keeps one copy of it)."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.bundled = self.link_package("bundled")
        self.interp = tkinter.Tcl()
        self.addCleanup(self.delete_interp)

    def delete_interp(self):
        self.interp = None
        gc.collect()            # delete the interpreter on this thread

    def link_package(self, name):
        d = os.path.join(self.tmp.name, name)
        os.mkdir(d)
        libs = glob.glob(os.path.join(BUILD_DIR, "lib*tkuv*.so"))
        self.assertTrue(libs, "no library in " + BUILD_DIR)
        for f in libs + [os.path.join(BUILD_DIR, "pkgIndex.tcl"),
                         os.path.join(BUILD_DIR, "tkuv.tcl")]:
            os.symlink(os.path.realpath(f),
                       os.path.join(d, os.path.basename(f)))
        return d

    def auto_path(self):
        return [str(p) for p in self.interp.tk.splitlist(
            self.interp.tk.call("set", "::auto_path"))]

    def loaded_from(self):
        return [str(f) for f, pkg in map(
            self.interp.tk.splitlist,
            self.interp.tk.splitlist(self.interp.tk.call("info", "loaded", "")))
            if str(pkg) == "Tkuv"]

    def require(self):
        with mock.patch("tkuv._bridge._BUNDLED", self.bundled):
            return tkuv.require(self.interp.tk)

    def test_bundled_folder_goes_first_on_auto_path_once(self):
        self.assertEqual(self.require(), tkuv.__version__)
        self.assertEqual(self.require(), tkuv.__version__)
        paths = self.auto_path()
        self.assertEqual(paths[0], self.bundled)
        self.assertEqual(paths.count(self.bundled), 1)
        self.assertEqual(len(self.loaded_from()), 1)
        self.assertEqual(os.path.dirname(self.loaded_from()[0]),
                         self.bundled)

    def test_bundled_package_wins_over_another_of_its_version(self):
        # Another copy of the same version already on auto_path (a system
        # install, say): the Python package's own library is loaded.
        other = self.link_package("other")
        self.interp.tk.call("lappend", "::auto_path", other)
        self.require()
        self.assertEqual(os.path.dirname(self.loaded_from()[0]),
                         self.bundled)

    def test_no_bundled_folder_leaves_auto_path_alone(self):
        # A source checkout or `make install`: Tcl finds the package.
        self.interp.tk.call("lappend", "::auto_path", BUILD_DIR)
        before = self.auto_path()
        with mock.patch("tkuv._bridge._BUNDLED",
                        os.path.join(self.tmp.name, "absent")):
            self.assertEqual(tkuv.require(self.interp.tk), tkuv.__version__)
        self.assertEqual(self.auto_path(), before)


class LoggingTests(TkTestCase):

    def test_package_writes_no_output_of_its_own(self):
        # Host reports go through logging.getLogger("tkuv"): no print(),
        # warnings.warn() or sys.stderr/stdout writes in the package.
        found = []
        for path in sorted(glob.glob(os.path.join(PACKAGE_DIR, "*.py"))):
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = ast.unparse(node.func)
                if name in ("print", "warnings.warn", "sys.stderr.write",
                            "sys.stdout.write", "traceback.print_exc"):
                    found.append("%s:%d: %s" % (os.path.basename(path),
                                                node.lineno, name))
        self.assertEqual(found, [])

    def test_failing_done_callback_is_logged(self):
        error = ValueError("from done_callback")
        outcomes = []

        def done(outcome):
            outcomes.append(outcome)
            raise error

        async def main():
            await asyncio.sleep(0)
            return 7
        with self.assertLogs("tkuv", "ERROR") as logs:
            tkuv.start_guest_run(main, root=self.root, done_callback=done)
            self.pump_until(lambda: outcomes)
        self.assertEqual(outcomes[0].unwrap(), 7)
        self.assertIn("done_callback raised", logs.output[0])
        self.assertIs(logs.records[0].exc_info[1], error)


class TypeHintTests(unittest.TestCase):
    """The public API is annotated (python/tkuv/py.typed ships, see
    tools/test-pip.sh), and every annotation resolves: with no mypy on
    Debian 12's Python, typing.get_type_hints() is the check."""

    def public_callables(self):
        for name in tkuv.__all__:
            obj = getattr(tkuv, name)
            if not callable(obj):
                continue
            if not isinstance(obj, type):
                yield name, obj
                continue
            for attr, member in vars(obj).items():
                if attr == "__init__" or (callable(member)
                                          and not attr.startswith("_")):
                    yield "%s.%s" % (name, attr), member

    def test_public_api_is_annotated(self):
        import inspect
        import typing
        missing = []
        for name, fn in self.public_callables():
            hints = typing.get_type_hints(fn)
            params = [p for p in inspect.signature(fn).parameters
                      if p not in ("self", "cls")]
            if "return" not in hints or any(p not in hints for p in params):
                missing.append(name)
        self.assertEqual(missing, [])

    def test_py_typed_is_there(self):
        self.assertTrue(os.path.isfile(os.path.join(PACKAGE_DIR,
                                                    "py.typed")))


class ThreadingRules:
    """What python/README.md says other threads may do: hand work to the
    loop (call_soon_threadsafe, run_coroutine_threadsafe), which then may
    touch widgets; and the loop hands blocking work to threads."""

    loop_factory = None

    def test_thread_reaches_widgets_through_the_loop(self):
        label = tkinter.Label(self.root)

        async def set_text(text):
            label["text"] = text            # on the Tk thread
            await asyncio.sleep(0)
            return threading.get_ident()

        async def main():
            loop = asyncio.get_running_loop()
            result = {}

            def worker():
                fut = asyncio.run_coroutine_threadsafe(
                    set_text("from a thread"), loop)
                result["tk_thread"] = fut.result(WAIT_S)
            thread = threading.Thread(target=worker)
            thread.start()
            await asyncio.to_thread(thread.join, WAIT_S)
            return result

        result = tkuv.run(main(), root=self.root,
                          loop_factory=self.loop_factory)
        self.assertEqual(result["tk_thread"], threading.get_ident())
        self.assertEqual(label["text"], "from a thread")


globals().update(for_each_loop(ThreadingRules))


@unittest.skipIf(trio is None, "trio is not installed")
class TrioThreadingRules(TkTestCase):

    def test_thread_reaches_widgets_through_trio(self):
        label = tkinter.Label(self.root)

        def set_text(text):
            label["text"] = text
            return threading.get_ident()

        def worker():
            return trio.from_thread.run_sync(set_text, "from a thread")

        async def main():
            return await trio.to_thread.run_sync(worker)

        tk_thread = tkuv.run(main(), root=self.root, flavor="trio")
        self.assertEqual(tk_thread, threading.get_ident())
        self.assertEqual(label["text"], "from a thread")


if __name__ == "__main__":
    unittest.main()
