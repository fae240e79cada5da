"""VMConfig: the options of a new VM."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Optional, Union

from ._errors import ConfigError
from ._native import check, check_ptr, ll

__all__ = ["VMConfig"]

_U32_MAX = 2**32 - 1
_INT_FIELDS = {
    "vcpu_count": (ll.SMOLVM_VCPU_MIN, ll.SMOLVM_VCPU_MAX),
    "mem_size_mib": (ll.SMOLVM_MEM_MIB_MIN, ll.SMOLVM_MEM_MIB_MAX),
    "boot_timeout_s": (0, _U32_MAX),
    "disk_size_mib": (0, ll.SMOLVM_DISK_MIB_MAX),
}


@dataclass
class VMConfig:
    """Options of a new VM; every field has a default.

    The library validates them when the VM is created and raises
    :class:`~smolvm.ConfigError` naming the field, the value and what is
    allowed (e.g. ``mem_size_mib=64: must be 128..16384``).

    Attributes:
        vm_id: ``[a-z0-9][a-z0-9-]{0,62}``; None: ``"vm-"`` + 8 random hex
            digits.
        vcpu_count: 1..32.
        mem_size_mib: 128..16384.
        disk_mode: ``"isolated"``: a private copy-on-write disk, kept across
            stop/start, removed on delete. ``"shared"``: every VM boots the
            same read-only base image; writes are lost when the VM stops.
        kernel_path, rootfs_path: guest kernel and root file system; None:
            the default image built by ``smolvm image build``.
        boot_args: appended to the kernel command line.
        vmm: ``"qemu"`` | ``"firecracker"`` | ``"auto"``.
        executor: ``"agent"`` | ``"ssh"`` | ``"auto"``.
        network: ``"none"`` | ``"nftables"`` | ``"iptables"`` | ``"auto"``.
        accel: ``"auto"`` (KVM where the host has hardware KVM, else TCG),
            ``"kvm"`` or ``"tcg"``.
        boot_timeout_s: seconds start() waits for the guest; 0: 120.
        disk_size_mib: size of an isolated disk; 0: the image's size, else at
            least that (the guest's ``/`` grows into it at boot).
    """

    vm_id: Optional[str] = None
    vcpu_count: int = ll.SMOLVM_VCPU_DEFAULT
    mem_size_mib: int = ll.SMOLVM_MEM_MIB_DEFAULT
    disk_mode: str = "isolated"
    kernel_path: Optional[str] = None
    rootfs_path: Optional[str] = None
    boot_args: Optional[str] = None
    vmm: str = "auto"
    executor: str = "auto"
    network: str = "none"
    accel: str = "auto"
    boot_timeout_s: int = 0
    disk_size_mib: int = 0

    def merged(self, **overrides: Any) -> "VMConfig":
        """A copy with every override that is not None applied."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(self, **changes)

    def _build(self) -> Any:
        """The low-level options builder; free with smolvm_swig_vm_opts_free."""
        opts = check_ptr(ll.smolvm_swig_vm_opts_new())
        try:
            for field in dataclasses.fields(self):
                value = getattr(self, field.name)
                if field.name in _INT_FIELDS:
                    check(ll.smolvm_swig_vm_opts_set_u32(
                        opts, field.name, _u32(field.name, value)))
                else:
                    check(ll.smolvm_swig_vm_opts_set_str(
                        opts, field.name, _text(field.name, value)))
        except BaseException:
            ll.smolvm_swig_vm_opts_free(opts)
            raise
        return opts


def _u32(name: str, value: Any) -> int:
    lo, hi = _INT_FIELDS[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name}={value!r}: must be an integer {lo}..{hi}")
    if not 0 <= value <= _U32_MAX:
        raise ConfigError(f"{name}={value}: must be {lo}..{hi}")
    return value


def _text(name: str, value: Union[str, "os.PathLike[str]", None]) -> Optional[str]:
    if value is None:
        return None
    if name in ("kernel_path", "rootfs_path") and isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ConfigError(f"{name}={value!r}: must be a string")
    if "\0" in value:  # C would end the text there
        raise ValueError(f"{name}: embedded null character")
    return value
