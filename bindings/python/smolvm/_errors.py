"""The exception hierarchy of SmolVM.

Every failure of the C library becomes a :class:`SmolVMError` (or a
subclass chosen by its status code) carrying the library's message, which
names the field, the value and what is allowed::

    SmolVMError                 any failure; .status (int < 0), .code ("EIO")
    ├── ConfigError             EINVAL: a bad option or argument (also ValueError)
    ├── NotFoundError           ENOTFOUND: no such VM, file or image (also LookupError)
    ├── VMStateError            ESTATE: not allowed in the VM's state
    ├── TimeoutError            ETIMEOUT, or a command killed by its timeout
    │                           (also the builtin TimeoutError)
    ├── VMAlreadyExistsError    EEXISTS: the id or resource is taken
    ├── UnsupportedError        EUNSUPPORTED: the host or backend cannot do it
    ├── CommandError            run(..., check=True) and the command failed
    └── CommandBlockedError     a callback's on_pre_run vetoed the command

The SmolVM Python project's names work too (``smolvm.exceptions``):
``VMNotFoundError`` is :class:`NotFoundError`, ``ValidationError`` is
:class:`ConfigError`, ``OperationTimeoutError`` is :class:`TimeoutError`,
``CommandExecutionUnavailableError`` is :class:`VMStateError`; every error
has ``.message`` and ``.details`` (a dict, empty unless said otherwise).
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, Dict, Optional

if TYPE_CHECKING:
    from ._result import CommandResult

__all__ = [
    "SmolVMError",
    "ConfigError",
    "NotFoundError",
    "VMStateError",
    "TimeoutError",
    "UnsupportedError",
    "CommandError",
    "VMAlreadyExistsError",
    "CommandBlockedError",
    "VMNotFoundError",
    "ValidationError",
    "OperationTimeoutError",
    "CommandExecutionUnavailableError",
    "SnapshotNotFoundError",
    "SnapshotAlreadyExistsError",
    "NetworkError",
    "HostError",
    "ImageError",
    "error_for_status",
]


class SmolVMError(Exception):
    """Base class of every SmolVM error.

    Attributes:
        message: the library's message (names the field, value and range).
        details: extra facts as a dict (e.g. ``{"vm_id": ...}``); empty
            unless the raiser says otherwise.
        status: the negative C status code (``lowlevel.SMOLVM_EIO``...), or
            -1 for an unclassified failure.
        code: the short name of ``status``, e.g. ``"EINVAL"``.
    """

    default_status = -1
    default_code = "ERROR"

    def __init__(self, message: str, details: Optional[Dict[str, Any]] = None, *,
                 status: Optional[int] = None, code: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: Dict[str, Any] = dict(details or {})
        self.status = self.default_status if status is None else status
        self.code = self.default_code if code is None else code

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> Any:  # keep status and code through pickling
        return (_rebuild, (type(self), self.message, self.status, self.code, self.__dict__))


def _rebuild(cls: type, message: str, status: int, code: str, state: dict) -> SmolVMError:
    err = cls.__new__(cls, message)
    SmolVMError.__init__(err, message, status=status, code=code)
    err.__dict__.update(state)
    return err


class ConfigError(SmolVMError, ValueError):
    """A configuration value or argument is invalid (EINVAL)."""

    default_status = -2
    default_code = "EINVAL"


class NotFoundError(SmolVMError, LookupError):
    """No such VM, guest file, plugin or image (ENOTFOUND)."""

    default_status = -3
    default_code = "ENOTFOUND"


class VMStateError(SmolVMError):
    """The operation is not allowed in the VM's current state (ESTATE),
    e.g. running a command on a stopped VM, or using a closed VM object."""

    default_status = -4
    default_code = "ESTATE"

    @property
    def remediation(self) -> str:
        """What to do about it (``details["remediation"]`` if the raiser
        gave one): the SmolVM Python project's
        ``CommandExecutionUnavailableError.remediation``, which is this
        class."""
        return str(self.details.get("remediation") or
                   "start the VM (vm.start()) and wait until it runs commands "
                   "(vm.wait_for_ready()); a closed object: attach again with "
                   "SmolVM.from_id(vm_id)")


class TimeoutError(SmolVMError, builtins.TimeoutError):
    """A deadline passed (ETIMEOUT): the VM did not boot in time, or a
    command was killed by its ``timeout``. For the latter, ``result`` holds
    the :class:`CommandResult` with the output produced until then."""

    default_status = -5
    default_code = "ETIMEOUT"

    def __init__(self, message: str, details: Optional[Dict[str, Any]] = None, *,
                 status: Optional[int] = None, code: Optional[str] = None,
                 result: Optional["CommandResult"] = None) -> None:
        super().__init__(message, details, status=status, code=code)
        self.result = result


class UnsupportedError(SmolVMError, NotImplementedError):
    """The host or the configured backend cannot do this (EUNSUPPORTED)."""

    default_status = -10
    default_code = "EUNSUPPORTED"


class CommandError(SmolVMError):
    """``run(..., check=True)``: the command exited non-zero. ``result``
    holds its :class:`CommandResult`."""

    def __init__(self, message: str, *, result: "CommandResult") -> None:
        super().__init__(message, {"exit_code": result.exit_code})
        self.result = result


class VMAlreadyExistsError(SmolVMError):
    """The id or resource is taken (EEXISTS): a VM id in use, a host port
    already forwarded."""

    default_status = -6
    default_code = "EEXISTS"


class CommandBlockedError(SmolVMError):
    """A callback's ``on_pre_run`` refused the command (see
    :class:`smolvm.Callback`); nothing ran in the guest. ``vm_id`` and
    ``command`` are also in ``details``."""

    default_code = "EBLOCKED"

    def __init__(self, message: str, vm_id: Optional[str] = None,
                 command: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(message, {"vm_id": vm_id, "command": command}, **kwargs)
        self.vm_id = vm_id
        self.command = command


class SnapshotNotFoundError(NotFoundError):
    """No such snapshot."""


class SnapshotAlreadyExistsError(VMAlreadyExistsError):
    """A snapshot with that name exists."""


class NetworkError(SmolVMError):
    """A network backend failed (addresses, TAP devices, forwards)."""


class HostError(SmolVMError):
    """The host lacks something a VM needs (KVM, a VMM binary, privileges)."""


class ImageError(SmolVMError):
    """The guest image is missing or unusable."""


# The SmolVM Python project's names for the classes above.
VMNotFoundError = NotFoundError
ValidationError = ConfigError
OperationTimeoutError = TimeoutError
CommandExecutionUnavailableError = VMStateError

_BY_CODE = {
    "EINVAL": ConfigError,
    "ENOTFOUND": NotFoundError,
    "ESTATE": VMStateError,
    "ETIMEOUT": TimeoutError,
    "EEXISTS": VMAlreadyExistsError,
    "EUNSUPPORTED": UnsupportedError,
}


def error_for_status(status: int, code: str, message: str) -> SmolVMError:
    """The exception for a C status code (``code`` is its short name)."""
    cls = _BY_CODE.get(code, SmolVMError)
    return cls(message or code, status=status, code=code)
