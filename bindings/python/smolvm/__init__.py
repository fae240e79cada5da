"""SmolVM: disposable Linux microVMs for AI agents.

Quick start::

    from smolvm import SmolVM

    with SmolVM() as vm:                      # create + boot; delete at the end
        r = vm.run("echo 'Hello from SmolVM'")
        print(r.output, r.exit_code, r.ok)

Code written for the SmolVM Python project runs unchanged (its names are
accepted beside ours: ``vm.vm_id``, ``memory=``, ``VMState``,
``smolvm.exceptions``, callbacks, ``async_*``); bindings/python/README.md
lists where the two differ.

The main classes:

* :class:`SmolVM` - the VM to use: its ``with`` block deletes a VM it
  created; ``close()`` releases the object and keeps the VM.
* :class:`VM` - the same VM with ``with`` only releasing the handle (the
  first API of this package); attach again with ``VM.from_id(id)``.
* :class:`VMConfig` - the options of a new VM (``vcpu_count``,
  ``mem_size_mib``, ``disk_mode`` ...).
* :class:`CommandResult` (from ``run``), :class:`ExecEvent` and
  :class:`ExecStream` (from ``stream``), :class:`VMInfo` (from ``info``),
  :class:`SnapshotInfo` (from ``snapshot`` and :func:`list_snapshots`).
* Errors: :class:`SmolVMError` and its subclasses :class:`ConfigError`,
  :class:`NotFoundError`, :class:`VMStateError`, :class:`TimeoutError`,
  :class:`UnsupportedError`, :class:`CommandError`.

State lives in ``$SMOLVM_STATE_DIR`` (default ``~/.local/state/smolvm``);
pass ``runtime=Runtime(state_dir=...)`` to use another folder. The
low-level SWIG module over the C ABI is ``smolvm.lowlevel``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from . import exceptions, types
from ._callbacks import Callback, RunContext
from ._config import VMConfig
from ._errors import (CommandBlockedError, CommandError, CommandExecutionUnavailableError,
                      ConfigError, HostError, ImageError, NetworkError, NotFoundError,
                      OperationTimeoutError, SmolVMError, SnapshotAlreadyExistsError,
                      SnapshotNotFoundError, TimeoutError, UnsupportedError, ValidationError,
                      VMAlreadyExistsError, VMNotFoundError, VMStateError)
from ._exec import Command
from ._manager import SmolVMManager
from ._native import ll as _ll
from ._result import CommandResult, ExecEvent, NetworkConfig, VMInfo
from ._runtime import Runtime, default_runtime
from ._snapshots import (GuestFlushPolicy, SnapshotArtifacts, SnapshotCapturePolicy, SnapshotInfo,
                         SnapshotType, delete_snapshot, get_snapshot, list_snapshots)
from ._state import VMState
from ._stream import ExecStream, Terminal
from ._unavailable import SSH_BOOT_ARGS, DockerRootfsBuilder, ImageBuilder, unavailable_name
from ._vm import VM, SmolVM

__version__: str = _ll.smolvm_version()

__all__ = [
    "SmolVM", "SmolVMManager", "VM", "VMConfig", "VMState", "Runtime", "CommandResult",
    "ExecEvent", "NetworkConfig", "SSH_BOOT_ARGS", "ImageBuilder", "DockerRootfsBuilder",
    "ExecStream", "Terminal", "VMInfo", "Command", "Callback", "RunContext", "SmolVMError", "ConfigError",
    "NotFoundError", "VMStateError", "TimeoutError", "UnsupportedError", "CommandError",
    "CommandBlockedError", "VMAlreadyExistsError", "VMNotFoundError", "ValidationError",
    "OperationTimeoutError", "CommandExecutionUnavailableError", "SnapshotNotFoundError",
    "SnapshotAlreadyExistsError", "NetworkError", "HostError", "ImageError", "list_vms", "gc",
    "doctor", "default_runtime", "exceptions", "types", "__version__", "SnapshotInfo",
    "SnapshotArtifacts", "SnapshotType", "SnapshotCapturePolicy", "GuestFlushPolicy",
    "list_snapshots", "get_snapshot", "delete_snapshot",
]


def list_vms(runtime: Optional[Runtime] = None) -> List[str]:
    """Ids of every VM in the store, oldest first."""
    return (runtime or default_runtime()).list()


def gc(runtime: Optional[Runtime] = None) -> int:
    """Repairs the store after a crash; returns how many things were fixed."""
    return (runtime or default_runtime()).gc()


def doctor(runtime: Optional[Runtime] = None) -> Dict[str, Any]:
    """What this host offers SmolVM, as a dict (the JSON of ``smolvm doctor``)."""
    return (runtime or default_runtime()).doctor()


def __getattr__(name: str) -> Any:
    """The SmolVM Python project's names for features SmolVM lacks
    (``InternetSettings``, ``SSHClient`` ...) raise
    :class:`UnsupportedError` naming the issue that will bring them."""
    return unavailable_name(__name__, name)
