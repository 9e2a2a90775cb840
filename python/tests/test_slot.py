# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""tkuv.asyncslot (tkuv/_slot.py): an async function as a Tk callback,
started eagerly on the running asyncio or uvloop guest."""

import asyncio
import tkinter
import unittest

from support import WAIT_S, for_each_loop, tkuv


class Boom(Exception):
    pass


class SlotTests:
    loop_factory = None

    def run_guest(self, coro):
        return tkuv.run(coro, root=self.root, loop_factory=self.loop_factory)

    def test_asyncslot_eager_start(self):
        log = []

        async def handler(arg):
            log.append(("start", arg))
            await asyncio.sleep(0.01)
            log.append(("end", arg))
            return arg

        async def main():
            loop = asyncio.get_running_loop()
            fut = loop.create_future()
            button = tkinter.Button(self.root, text="go",
                                    command=lambda: fut.set_result(
                                        (slot_via_button(), list(log))))
            slot = tkuv.asyncslot(handler)

            def slot_via_button():
                return slot("b")
            self.root.after(20, button.invoke)  # a real Tk command
            task, log_at_return = await asyncio.wait_for(fut, WAIT_S)
            self.assertEqual(log_at_return, [("start", "b")])   # eager
            self.assertEqual(await asyncio.wait_for(task, WAIT_S), "b")
            return list(log)
        self.assertEqual(self.run_guest(main()),
                         [("start", "b"), ("end", "b")])

    def test_asyncslot_exception_goes_to_handler(self):
        async def handler():
            await asyncio.sleep(0)
            raise Boom("in slot")

        async def main():
            loop = asyncio.get_running_loop()
            got = loop.create_future()
            loop.set_exception_handler(
                lambda _loop, ctx: got.done() or got.set_result(ctx))
            self.root.after(10, tkuv.asyncslot(handler))
            ctx = await asyncio.wait_for(got, WAIT_S)
            return ctx["exception"]
        self.assertIsInstance(self.run_guest(main()), Boom)

    def test_asyncslot_without_loop(self):
        async def handler():
            pass
        with self.assertRaises(RuntimeError):
            tkuv.asyncslot(handler)()

    def test_asyncslot_inside_a_tick_is_not_nested(self):
        log = []

        async def handler():
            log.append("slot")

        async def main():
            task = tkuv.asyncslot(handler)()    # called from the loop itself
            before = list(log)
            await task
            return before, list(log)
        self.assertEqual(self.run_guest(main()), ([], ["slot"]))


globals().update(for_each_loop(SlotTests))
del SlotTests

if __name__ == "__main__":
    unittest.main()
