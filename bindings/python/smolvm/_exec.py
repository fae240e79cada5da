"""Turning run()/stream() arguments into low-level exec options."""

from __future__ import annotations

import math
import os
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

from ._errors import ConfigError
from ._native import any_to_bytes, check, check_ptr, ll
from ._result import CommandResult

__all__ = ["Command", "build_exec_opts", "describe", "result_from_native"]

#: A shell command line (run by the VM user's login shell, or ``/bin/sh -c``
#: with ``shell="raw"``) or an argv list (run directly).
Command = Union[str, Sequence[str]]

#: How a str command runs: ``"login"`` (the user's login shell with -l -c,
#: bash in the default image) or ``"raw"`` (POSIX ``/bin/sh -c``).
SHELLS = ("login", "raw")

_MAX_TIMEOUT_S = (2**32 - 1) / 1000.0


def describe(command: Command) -> str:
    """A short printable form of a command, for messages."""
    text = command if isinstance(command, str) else " ".join(map(str, command))
    return text if len(text) <= 80 else text[:77] + "..."


def timeout_ms(timeout: Optional[float]) -> int:
    """Seconds (None or 0: no limit) as whole milliseconds, rounded up."""
    if timeout is None:
        return 0
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or math.isnan(timeout) or not 0 <= timeout <= _MAX_TIMEOUT_S:
        raise ConfigError(f"timeout={timeout!r}: must be a number of seconds "
                          f"0..{_MAX_TIMEOUT_S:.0f} (0 or None: no limit)")
    return int(math.ceil(timeout * 1000))


def _text(value: str, name: str) -> str:
    """value, unless it holds NUL: C would end the text there and silently
    drop the rest (the library's typemap refuses it too, by C name)."""
    if "\0" in value:
        raise ValueError(f"{name}: embedded null character")
    return value


def build_exec_opts(command: Command, *, timeout: Optional[float] = None,
                    env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None,
                    stdin: Union[bytes, str, None] = None, shell: str = "login",
                    user: Optional[str] = None,
                    pty: Optional[Tuple[int, int, Optional[str]]] = None) -> Any:
    """Low-level exec options; free with smolvm_swig_exec_opts_free."""
    ms = timeout_ms(timeout)
    if shell not in SHELLS:
        raise ConfigError(f"shell={shell!r}: must be one of {', '.join(map(repr, SHELLS))}")
    opts = check_ptr(ll.smolvm_swig_exec_opts_new())
    try:
        if isinstance(command, str):
            check(ll.smolvm_swig_exec_opts_set_command(opts, _text(command, "command")))
        elif isinstance(command, (list, tuple)):
            for i, arg in enumerate(command):
                if not isinstance(arg, (str, os.PathLike)):
                    raise ConfigError(f"command[{i}]={arg!r}: argv entries must be strings")
                check(ll.smolvm_swig_exec_opts_add_arg(
                    opts, _text(os.fspath(arg), f"command[{i}]")))
        else:
            raise ConfigError(f"command={command!r}: must be a str (a shell command line) "
                              "or a list of str (argv, run directly)")
        for key, value in (env or {}).items():
            if not isinstance(key, str) or not key or "=" in key:
                raise ConfigError(f"env key {key!r}: must be a non-empty str without '='")
            if not isinstance(value, str):
                raise ConfigError(f"env[{key!r}]={value!r}: values must be strings")
            check(ll.smolvm_swig_exec_opts_add_env(
                opts, _text(f"{key}={value}", f"env[{key!r}]")))
        if cwd is not None:
            check(ll.smolvm_swig_exec_opts_set_cwd(opts, _text(os.fspath(cwd), "cwd")))
        if stdin is not None:
            check(ll.smolvm_swig_exec_opts_set_stdin(opts, any_to_bytes(stdin, "stdin")))
        check(ll.smolvm_swig_exec_opts_set_timeout_ms(opts, ms))
        check(ll.smolvm_swig_exec_opts_set_shell(opts, shell))
        if user is not None:
            if not isinstance(user, (str, int)) or isinstance(user, bool):
                raise ConfigError(f"user={user!r}: must be a user name, a uid or 'uid:gid'")
            check(ll.smolvm_swig_exec_opts_set_user(opts, _text(str(user), "user")))
        if pty is not None:
            rows, cols, term = pty
            check_terminal_size(rows, cols)
            if term is not None and not isinstance(term, str):
                raise ConfigError(f"term={term!r}: must be a str (a terminfo name) or None")
            check(ll.smolvm_swig_exec_opts_set_pty(opts, rows, cols, term))
    except BaseException:
        ll.smolvm_swig_exec_opts_free(opts)
        raise
    return opts


def check_terminal_size(rows: Any, cols: Any) -> None:
    """Refuses a terminal size outside 1..SMOLVM_TERMINAL_SIZE_MAX, naming it."""
    top = ll.SMOLVM_TERMINAL_SIZE_MAX
    for name, value in (("rows", rows), ("cols", cols)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise ConfigError(f"{name}={value!r}: must be 1..{top}")


def result_from_native(res: Any) -> CommandResult:
    """Copies a smolvm_exec_result (the caller frees it)."""
    return CommandResult(
        exit_code=res.exit_code,
        stdout_bytes=ll.smolvm_swig_result_stdout(res),
        stderr_bytes=ll.smolvm_swig_result_stderr(res),
        signal=res.signal,
        timed_out=bool(res.timed_out),
        duration=res.duration_us / 1e6)
