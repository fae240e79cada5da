"""The data types of SmolVM, under the module name the SmolVM Python
project uses (``from smolvm.types import VMState``)."""

from ._config import VMConfig
from ._result import CommandResult, ExecEvent, VMInfo
from ._state import VMState

__all__ = ["VMConfig", "VMInfo", "VMState", "CommandResult", "ExecEvent"]
