"""Callbacks around run(): a veto before a command reaches the guest, and
observers after it ran or failed (the SmolVM Python project's hooks)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence

from ._errors import ConfigError

if TYPE_CHECKING:
    from ._exec import Command
    from ._result import CommandResult

__all__ = ["Callback", "RunContext", "check_callbacks", "around_run"]

_log = logging.getLogger("smolvm.callbacks")


@dataclass
class RunContext:
    """One run() call, as every hook sees it.

    Attributes:
        vm_id: the VM the command targets.
        command: the command as given to run() (a str, or an argv list).
        shell: ``"login"`` or ``"raw"``.
        timeout: the command's timeout in seconds, or None for none.
        result: the :class:`CommandResult`; set for ``on_post_run``.
        error: the exception run() raised; set for ``on_run_error``.
    """

    vm_id: str
    command: "Command"
    shell: str
    timeout: Optional[float]
    result: Optional["CommandResult"] = None
    error: Optional[BaseException] = None


class Callback:
    """Hooks around every :meth:`SmolVM.run`; override the ones you need.

    * ``on_pre_run(ctx)``: before the command reaches the guest. Raising
      stops it, and the exception reaches run()'s caller; raise
      :class:`CommandBlockedError` for a typed refusal.
    * ``on_post_run(ctx)``: after the command ran (``ctx.result``), whatever
      its exit code.
    * ``on_run_error(ctx)``: run() raised (``ctx.error``), e.g. a timeout
      or a stopped VM; the error still reaches the caller.

    The last two observe only: what they raise is logged (logger
    ``smolvm.callbacks``) and dropped, so a faulty observer cannot undo a
    command that already ran. Hooks run in the calling thread, in order.
    """

    def on_pre_run(self, ctx: RunContext) -> None:
        """Before the command; raise to stop it."""

    def on_post_run(self, ctx: RunContext) -> None:
        """After the command ran; ``ctx.result`` is set."""

    def on_run_error(self, ctx: RunContext) -> None:
        """run() failed; ``ctx.error`` is set."""


def check_callbacks(callbacks: Optional[Sequence[Callback]]) -> List[Callback]:
    """A list of the callbacks, each checked to be a Callback."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
        raise ConfigError(f"callbacks={callbacks!r}: must be a list of smolvm.Callback")
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, Callback):
            raise ConfigError(f"callbacks[{i}]={cb!r}: must be a smolvm.Callback")
    return list(callbacks)


def _observe(hook: Callable[[RunContext], None], ctx: RunContext) -> None:
    try:
        hook(ctx)
    except Exception:  # an observer must not break a command that ran
        _log.exception("callback %r failed; ignored", hook)


def around_run(callbacks: Sequence[Callback], ctx: RunContext,
               run: Callable[[], "CommandResult"]) -> Any:
    """run() between the hooks of callbacks."""
    for cb in callbacks:
        cb.on_pre_run(ctx)  # a veto: propagates
    try:
        result = run()
    except BaseException as e:
        ctx.error = e
        for cb in callbacks:
            _observe(cb.on_run_error, ctx)
        raise
    ctx.result = result
    for cb in callbacks:
        _observe(cb.on_post_run, ctx)
    return result
