#!/usr/bin/env python3
"""Callbacks around every command: a guard that refuses what an agent must
not run, and an audit log of what it did run. Written the way code for the
SmolVM Python project is (its Callback / CommandBlockedError names).

    PYTHONPATH=build/bindings/python python3 examples/python/guarded_agent.py
"""

from __future__ import annotations

import asyncio

from smolvm import Callback, CommandBlockedError, RunContext, SmolVM


class Guard(Callback):
    """Refuses commands that wipe the disk or fork-bomb the guest."""

    DENY = ("rm -rf /", "mkfs", ":(){ :|:& };:")

    def on_pre_run(self, ctx: RunContext) -> None:
        command = ctx.command if isinstance(ctx.command, str) else " ".join(ctx.command)
        if any(bad in command for bad in self.DENY):
            raise CommandBlockedError("refused by the guard", vm_id=ctx.vm_id, command=command)


class Audit(Callback):
    """Keeps a line per command: what ran, and how it ended."""

    def __init__(self) -> None:
        self.lines: list = []

    def on_post_run(self, ctx: RunContext) -> None:
        self.lines.append(f"ran {ctx.command!r}: exit {ctx.result.exit_code}")

    def on_run_error(self, ctx: RunContext) -> None:
        self.lines.append(f"failed {ctx.command!r}: {type(ctx.error).__name__}")


async def main() -> None:
    audit = Audit()
    async with SmolVM(memory=512, callbacks=[Guard(), audit]) as vm:
        print((await vm.async_run("uname -sr")).output)
        try:
            await vm.async_run("rm -rf / --no-preserve-root")
        except CommandBlockedError as err:
            print("blocked:", err.details["command"])
        try:
            await vm.async_run("sleep 5", timeout=1)
        except TimeoutError:
            print("timed out, as asked")
    print("\n".join(audit.lines))


if __name__ == "__main__":
    asyncio.run(main())
