"""The data types of SmolVM, under the module name the SmolVM Python
project uses (``from smolvm.types import VMState``). Its types for features
SmolVM lacks (``InternetSettings``, ``WorkspaceMount`` ...) raise
:class:`~smolvm.UnsupportedError` naming the issue that will bring them."""

from typing import Any

from ._config import VMConfig
from ._result import CommandResult, ExecEvent, NetworkConfig, VMInfo
from ._snapshots import (GuestFlushPolicy, SnapshotArtifacts, SnapshotCapturePolicy, SnapshotInfo,
                         SnapshotType)
from ._state import VMState
from ._unavailable import unavailable_name

__all__ = ["VMConfig", "VMInfo", "VMState", "CommandResult", "ExecEvent", "NetworkConfig",
           "SnapshotInfo", "SnapshotArtifacts", "SnapshotType", "SnapshotCapturePolicy",
           "GuestFlushPolicy"]


def __getattr__(name: str) -> Any:
    return unavailable_name(__name__, name)
