"""Access to the SWIG module ``smolvm.lowlevel`` and the one error rule.

Helpers of the low-level module return a negative status (``int``) or
``None`` (a NULL handle) on failure; :func:`check` and :func:`check_ptr`
turn that into the matching :class:`~smolvm.SmolVMError`. The message is
read on the same OS thread right after the call (it is thread-local in C).
"""

from __future__ import annotations

from typing import Any, TypeVar

from ._errors import ConfigError, SmolVMError, VMStateError, error_for_status

try:
    from . import lowlevel as ll
except ImportError as exc:  # pragma: no cover - depends on the build
    raise ImportError(
        "smolvm: the compiled module smolvm.lowlevel is missing or cannot load "
        f"({exc}). Build it with `cmake --build <build> --target smolvm_python` "
        "and use PYTHONPATH=<build>/bindings/python, or install it with "
        "`cmake --install <build>` or "
        "`python3 -m pip install --no-build-isolation <build>/bindings/python`."
    ) from exc

T = TypeVar("T")

__all__ = ["ll", "check", "check_ptr", "raise_last", "status_name", "closed_error",
           "any_to_bytes"]


def status_name(status: int) -> str:
    """Short fixed name of a status code ("EINVAL"...)."""
    return ll.smolvm_status_str(int(status))


def raise_last(status: int) -> None:
    """Raises the error of the last failing helper on this thread."""
    message = ll.smolvm_swig_last_error()
    raise error_for_status(status, status_name(status), message)


def check(rc: int) -> int:
    """Returns ``rc`` if it is >= 0, else raises the matching error."""
    if rc < 0:
        raise_last(rc)
    return rc


def check_ptr(ptr: T) -> T:
    """Returns ``ptr`` if it is not NULL (None), else raises."""
    if ptr is None:
        status = ll.smolvm_swig_last_status()
        raise_last(status if status < 0 else ll.SMOLVM_ERROR)
    return ptr


def closed_error(what: str) -> SmolVMError:
    """The error for using an object after close()."""
    return VMStateError(f"{what} is closed: it can no longer be used")


def any_to_bytes(data: Any, what: str) -> bytes:
    """str (UTF-8) or any bytes-like object, as bytes."""
    if isinstance(data, str):
        return data.encode("utf-8")
    try:
        return bytes(memoryview(data))
    except TypeError:
        raise ConfigError(
            f"{what}: expected str or bytes-like, got {type(data).__name__}") from None
