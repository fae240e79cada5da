"""The SmolVM Python project's module of its low-level manager
(``from smolvm.vm import SmolVMManager``)."""

from ._manager import SmolVMManager

__all__ = ["SmolVMManager"]
