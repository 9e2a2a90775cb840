# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""tkuv.modal, tkuv.event and tkuv.changed (tkuv/_ui.py), in a real Tk
under Xvfb: for asyncio and uvloop (one class per loop) and for Trio."""

import asyncio
import tkinter
import unittest
from tkinter import messagebox

from support import WAIT_S, TkTestCase, for_each_loop, tkuv, trio

# Ticks of the counting task that must pass while a dialog is open.
PROGRESS = 10

# A plain Tk timer that closes a dialog nobody else closed (a guest loop
# that stopped): the test then fails instead of hanging.
GUARD_MS = 5000


class Boom(Exception):
    pass


class DialogMixin:
    """A dialog (a Toplevel and wait_window, or Tk's message box), a
    counting task, and a closer that waits for the count to move on while
    the dialog is open; a Tk timer guard closes it otherwise."""

    def setup_dialog(self):
        self.count = 0
        self.log = []
        self.at_open = None
        self.guard = self.root.after(GUARD_MS, self._guard_close)

    def _guard_close(self):
        self.log.append("guard")
        for w in self.root.winfo_children():
            if isinstance(w, tkinter.Toplevel):
                w.destroy()
        if self.root.tk.call("winfo", "exists", ".__tk__messagebox"):
            self.root.tk.call("destroy", ".__tk__messagebox")

    def dialog(self, value):
        """The modal function: a Toplevel, wait_window; returns value."""
        self.top = tkinter.Toplevel(self.root)
        self.at_open = self.count
        self.root.wait_window(self.top)
        self.log.append("returned")
        return value

    def progressed(self):
        return self.at_open is not None and \
            self.count >= self.at_open + PROGRESS

    def check_progress(self):
        self.assertNotIn("guard", self.log, "the loop stopped during the "
                         "dialog; the guard closed it")
        self.assertGreaterEqual(self.count - self.at_open, PROGRESS)


class AsyncioUITests(DialogMixin):
    loop_factory = None

    def run_guest(self, coro):
        return tkuv.run(coro, root=self.root, loop_factory=self.loop_factory)

    async def counter(self):
        while True:
            self.count += 1
            await asyncio.sleep(0.005)

    async def until(self, predicate):
        while not predicate():
            await asyncio.sleep(0.005)

    @staticmethod
    async def within(awaitable, timeout=WAIT_S):
        """await with a timeout, in this task (wait_for would start a new
        one, so a binding or trace would come an iteration later)."""
        async with asyncio.timeout(timeout):
            return await awaitable

    # -- modal ----------------------------------------------------------------

    def test_modal_loop_runs_while_open(self):
        # Calling self.dialog directly instead would stop the loop: the
        # closer never runs, the guard closes the dialog, the test fails.
        self.setup_dialog()

        async def closer():
            await self.until(self.progressed)
            self.log.append("closer")
            self.top.destroy()

        async def main():
            counting = asyncio.create_task(self.counter())
            asyncio.create_task(closer())
            result = await tkuv.modal(self.dialog, "done")
            counting.cancel()
            await asyncio.sleep(0.01)       # the loop carries on
            return result
        self.assertEqual(self.run_guest(main()), "done")
        self.check_progress()
        self.assertEqual(self.log, ["closer", "returned"])

    def test_modal_from_a_button(self):
        # The usual case: a button's asyncslot handler opens a dialog.
        self.setup_dialog()
        results = []

        async def on_click():
            results.append(await tkuv.modal(self.dialog, "clicked"))

        button = tkinter.Button(self.root, command=tkuv.asyncslot(on_click))
        button.pack()

        async def main():
            counting = asyncio.create_task(self.counter())
            self.root.after(10, button.invoke)      # a plain Tk callback
            await self.until(self.progressed)
            self.top.destroy()
            await asyncio.wait_for(self.until(lambda: results), WAIT_S)
            counting.cancel()
            return results
        self.assertEqual(self.run_guest(main()), ["clicked"])
        self.check_progress()

    def test_modal_messagebox(self):
        self.setup_dialog()

        def ask():
            self.at_open = self.count
            return messagebox.askyesno("tkuv", "Proceed?", parent=self.root)

        async def closer():
            await self.until(lambda: self.progressed() and self.root.tk.call(
                "winfo", "exists", ".__tk__messagebox"))
            self.log.append("closer")
            self.root.tk.call(".__tk__messagebox.yes", "invoke")

        async def main():
            counting = asyncio.create_task(self.counter())
            asyncio.create_task(closer())
            try:
                return await tkuv.modal(ask)
            finally:
                counting.cancel()
        self.assertIs(self.run_guest(main()), True)
        self.check_progress()
        self.assertEqual(self.log, ["closer"])

    def test_modal_cancel_with_a_dialog_nested_in_it(self):
        # Dialog A (a Toplevel), then B (a message box) opened by another
        # task inside A's nested loop. Cancelling A closes A's window, not
        # B, which still answers its own caller.
        self.setup_dialog()

        def box_exists():
            return self.root.tk.call("winfo", "exists", ".__tk__messagebox")

        async def main():
            a = asyncio.create_task(tkuv.modal(self.dialog, "a"))
            await self.until(lambda: self.at_open is not None)
            b = asyncio.create_task(tkuv.modal(
                messagebox.askyesno, "tkuv", "B?", parent=self.root))
            await self.until(box_exists)
            a.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await a
            state = self.top.winfo_exists(), box_exists()
            self.root.tk.call(".__tk__messagebox.yes", "invoke")
            answer = await self.within(b)
            await self.within(self.until(lambda: "returned" in self.log))
            return state, answer
        self.assertEqual(self.run_guest(main()), ((0, 1), True))

    def test_modal_kwargs_and_exception(self):
        def fails(a, *, b):
            raise Boom(a + b)

        async def main():
            with self.assertRaises(Boom) as cm:
                await tkuv.modal(fails, 1, b=2)
            with self.assertRaisesRegex(TypeError, "async"):
                await tkuv.modal(main)
            return cm.exception.args
        self.assertEqual(self.run_guest(main()), (3,))

    def test_modal_cancelled_closes_its_dialog(self):
        self.setup_dialog()

        async def main():
            task = asyncio.create_task(tkuv.modal(self.dialog, "unused"))
            await self.until(lambda: self.at_open is not None)
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
            self.log.append("cancelled")
            # The dialog's window is destroyed: wait_window returns.
            await asyncio.wait_for(self.until(lambda: "returned" in self.log),
                                   WAIT_S)
            return self.top.winfo_exists()
        self.assertEqual(self.run_guest(main()), 0)
        # In either order: fn returns as soon as Tk gets to run.
        self.assertEqual(sorted(self.log), ["cancelled", "returned"])

    def test_modal_cancelled_before_it_starts(self):
        called = []

        async def main():
            task = asyncio.create_task(tkuv.modal(called.append, 1))

            async def cancel():
                # Runs in the same loop iteration as task's first step: Tk
                # has not run fn yet.
                task.cancel()
            asyncio.create_task(cancel())
            with self.assertRaises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.05)
            return called
        self.assertEqual(self.run_guest(main()), [])

    def test_modal_timeout_on_messagebox(self):
        self.setup_dialog()

        async def expire_when_open(timeout):
            await self.until(lambda: self.root.tk.call(
                "winfo", "exists", ".__tk__messagebox"))
            self.other = tkinter.Toplevel(self.root, name="other")
            timeout.reschedule(asyncio.get_running_loop().time())

        async def main():
            with self.assertRaises(TimeoutError):
                async with asyncio.timeout(None) as timeout:
                    asyncio.create_task(expire_when_open(timeout))
                    await tkuv.modal(messagebox.showinfo, "tkuv", "timeout",
                                     parent=self.root)
            await asyncio.sleep(0.05)
            return (self.root.tk.call("winfo", "exists", ".__tk__messagebox"),
                    self.other.winfo_exists())
        # The dialog went, not the window another task showed meanwhile.
        self.assertEqual(self.run_guest(main()), (0, 1))
        self.assertEqual(self.log, [])      # not closed by the guard

    def test_modal_needs_a_guest(self):
        async def main():
            with self.assertRaisesRegex(RuntimeError, "tkuv guest"):
                await tkuv.modal(print)
        asyncio.run(main())

    # -- event ----------------------------------------------------------------

    def test_event_keeps_other_bindings(self):
        entry = tkinter.Entry(self.root)
        entry.pack()
        app = []
        entry.bind("<<Go>>", lambda e: app.append("before"))
        original = entry.bind("<<Go>>")

        async def main():
            waiting = asyncio.create_task(tkuv.event(entry, "<<Go>>"))
            await asyncio.sleep(0.01)
            entry.bind("<<Go>>", lambda e: app.append("after"), add="+")
            with_later = entry.bind("<<Go>>")
            # From a plain Tk callback, while the loop sleeps.
            self.root.after(20, entry.event_generate, "<<Go>>")
            ev = await asyncio.wait_for(waiting, WAIT_S)
            script = entry.bind("<<Go>>")
            entry.event_generate("<<Go>>")
            return ev, with_later, script
        ev, with_later, script = self.run_guest(main())
        self.assertIs(ev.widget, entry)
        # Only our line went; the application's bindings still run.
        self.assertEqual(app, ["before", "after", "before", "after"])
        later = with_later.split("\n")[-2] + "\n"
        self.assertEqual(script, original + "\n" + later)

    def test_event_key_return(self):
        entry = tkinter.Entry(self.root)
        entry.pack()

        async def main():
            entry.focus_force()
            self.root.update()
            self.root.after(20, entry.event_generate, "<Return>")
            ev = await self.within(tkuv.event(entry, "<Return>"), WAIT_S)
            return ev.keysym
        self.assertEqual(self.run_guest(main()), "Return")

    def test_event_cancelled_removes_its_binding(self):
        button = tkinter.Button(self.root)
        button.pack()
        app = []
        button.bind("<<Go>>", lambda e: app.append(1))
        original = button.bind("<<Go>>")

        async def main():
            with self.assertRaises(asyncio.TimeoutError):
                await self.within(tkuv.event(button, "<<Go>>"), 0.05)
            button.event_generate("<<Go>>")
            return button.bind("<<Go>>"), button.bind("<Destroy>")
        script, destroy = self.run_guest(main())
        self.assertEqual(script, original)
        self.assertEqual(destroy, "")
        self.assertEqual(app, [1])

    def test_event_widget_destroyed(self):
        button = tkinter.Button(self.root)
        button.pack()

        async def main():
            self.root.after(20, button.destroy)
            with self.assertRaisesRegex(tkinter.TclError, "destroyed"):
                await self.within(tkuv.event(button, "<<Go>>"), WAIT_S)
            return "ok"
        self.assertEqual(self.run_guest(main()), "ok")

    def test_event_destroy_of_the_window_itself(self):
        top = tkinter.Toplevel(self.root)
        child = tkinter.Label(top)
        child.pack()

        async def main():
            self.root.after(10, child.destroy)      # seen by top's binding
            self.root.after(50, top.destroy)
            ev = await self.within(tkuv.event(top, "<Destroy>"))
            return ev.widget, child.winfo_exists()
        self.assertEqual(self.run_guest(main()), (top, 0))

    # -- changed --------------------------------------------------------------

    def test_changed_returns_the_new_value(self):
        var = tkinter.StringVar(self.root, "a")
        app = []
        var.trace_add("write", lambda *a: app.append(var.get()))

        async def main():
            self.root.after(20, var.set, "b")     # a plain Tk callback
            value = await self.within(tkuv.changed(var), WAIT_S)
            var.set("c")
            return value, len(var.trace_info())
        self.assertEqual(self.run_guest(main()), ("b", 1))
        self.assertEqual(app, ["b", "c"])

    def test_changed_same_value_and_from_a_task(self):
        var = tkinter.IntVar(self.root, 5)

        async def setter():
            await asyncio.sleep(0.01)
            var.set(5)

        async def main():
            asyncio.create_task(setter())
            return await self.within(tkuv.changed(var), WAIT_S)
        self.assertEqual(self.run_guest(main()), 5)

    def test_changed_bad_value_and_unset(self):
        var = tkinter.IntVar(self.root, 1)

        async def main():
            self.root.after(10, var.set, "abc")
            with self.assertRaises(tkinter.TclError):
                await self.within(tkuv.changed(var), WAIT_S)
            self.root.after(10, self.root.tk.call, "unset", var._name)
            with self.assertRaises(tkinter.TclError):
                await self.within(tkuv.changed(var), WAIT_S)
            return var.trace_info()
        self.assertEqual(self.run_guest(main()), [])

    def test_changed_cancelled_removes_its_trace(self):
        var = tkinter.StringVar(self.root)

        async def main():
            with self.assertRaises(asyncio.TimeoutError):
                await self.within(tkuv.changed(var), 0.05)
            return var.trace_info()
        self.assertEqual(self.run_guest(main()), [])


globals().update(for_each_loop(AsyncioUITests))
del AsyncioUITests


@unittest.skipIf(trio is None, "trio is not installed")
class TrioUITests(DialogMixin, TkTestCase):

    def run_trio(self, main, **options):
        return tkuv.run(main, root=self.root, flavor="trio", **options)

    async def counter(self):
        while True:
            self.count += 1
            await trio.sleep(0.005)

    async def until(self, predicate):
        while not predicate():
            await trio.sleep(0.005)

    def test_modal(self):
        self.setup_dialog()

        async def closer():
            await self.until(self.progressed)
            self.log.append("closer")
            self.top.destroy()

        async def main():
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self.counter)
                nursery.start_soon(closer)
                result = await tkuv.modal(self.dialog, "done")
                nursery.cancel_scope.cancel()
            return result
        self.assertEqual(self.run_trio(main()), "done")
        self.check_progress()
        self.assertEqual(self.log, ["closer", "returned"])

    def test_modal_cancelled(self):
        self.setup_dialog()

        async def cancel_when_open(scope):
            await self.until(lambda: self.at_open is not None)
            scope.cancel()

        async def main():
            async with trio.open_nursery() as nursery:
                with trio.CancelScope() as scope:
                    nursery.start_soon(cancel_when_open, scope)
                    await tkuv.modal(self.dialog, "unused")
            self.log.append("cancelled")
            with trio.fail_after(WAIT_S):
                await self.until(lambda: "returned" in self.log)
            return scope.cancelled_caught, self.top.winfo_exists()
        self.assertEqual(self.run_trio(main()), (True, 0))
        # In either order: fn returns as soon as Tk gets to run.
        self.assertEqual(sorted(self.log), ["cancelled", "returned"])

    def test_event_and_changed(self):
        button = tkinter.Button(self.root)
        button.pack()
        var = tkinter.StringVar(self.root)

        async def main():
            self.root.after(20, button.event_generate, "<<Go>>")
            with trio.fail_after(WAIT_S):
                ev = await tkuv.event(button, "<<Go>>")
            self.root.after(20, var.set, "new")
            with trio.fail_after(WAIT_S):
                value = await tkuv.changed(var)
            with trio.move_on_after(0.05):
                await tkuv.changed(var)
            return ev.widget, value, button.bind("<<Go>>"), var.trace_info()
        self.assertEqual(self.run_trio(main()), (button, "new", "", []))

if __name__ == "__main__":
    unittest.main()
