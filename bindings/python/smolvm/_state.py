"""VMState: a VM's lifecycle state as a str enum."""

from __future__ import annotations

import enum

__all__ = ["VMState"]


class VMState(str, enum.Enum):
    """The state of a VM. A ``str``, so ``vm.status == "running"`` holds too.

    ``CREATED``, ``RUNNING``, ``PAUSED``, ``STOPPED`` and ``ERROR`` are the
    SmolVM Python project's five; ``STARTING`` and ``STOPPING`` are the
    moments between them that SmolVM also reports. The C library's
    ``"failed"`` (the VM or its VMM died, see ``info.last_error``) is
    ``ERROR``.
    """

    CREATED = "created"
    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"
    STOPPED = "stopped"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def from_native(cls, name: str) -> "VMState":
        """The member for a C state name (``smolvm_state_name``)."""
        return cls.ERROR if name == "failed" else cls(name)
