"""VMConfig: the options of a new VM."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Union

from ._errors import ConfigError
from ._native import check, check_ptr, ll

__all__ = ["VMConfig"]

_U32_MAX = 2**32 - 1
_INT_FIELDS = {
    "vcpu_count": (ll.SMOLVM_VCPU_MIN, ll.SMOLVM_VCPU_MAX),
    "mem_size_mib": (ll.SMOLVM_MEM_MIB_MIN, ll.SMOLVM_MEM_MIB_MAX),
    "boot_timeout_s": (0, _U32_MAX),
    "disk_size_mib": (0, ll.SMOLVM_DISK_MIB_MAX),
    "ttl_s": (0, ll.SMOLVM_LIFETIME_S_MAX),
    "idle_timeout_s": (0, ll.SMOLVM_LIFETIME_S_MAX),
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
        image: a named image (``smolvm image ls``); None or ``"default"``:
            the default image built by ``smolvm image build``. The VM keeps
            the image the name leads to when it is created.
        kernel_path, rootfs_path: guest kernel and root file system; None:
            the image's.
        boot_args: appended to the kernel command line.
        vmm: ``"qemu"`` | ``"firecracker"`` | ``"auto"``.
        executor: ``"agent"`` | ``"ssh"`` | ``"auto"``.
        network: ``"none"`` | ``"nftables"`` | ``"iptables"`` | ``"auto"``.
        accel: ``"auto"`` (KVM where the host has hardware KVM, else TCG),
            ``"kvm"`` or ``"tcg"``.
        boot_timeout_s: seconds start() waits for the guest; 0: 120.
        boot: ``"auto"`` (None: the default; the first start restores the
            image's template where the VM fits one, see ``info.boot`` and
            ``info.boot_reason``) or ``"cold"`` (always boot the kernel).
        disk_size_mib: size of an isolated disk; 0: the image's size, else at
            least that (the guest's ``/`` grows into it at boot).
        env_vars: environment variables every command in the VM sees
            (persisted with the VM; see ``SmolVM.set_env_vars``).
        ttl_s, on_ttl: the running time one boot may have (paused time not
            counted; 0: none), then ``"delete"`` (default) or ``"stop"``.
        idle_timeout_s, on_idle: the time with no command or file copy
            under way (0: none), then ``"pause"`` (default; the next command
            resumes the VM), ``"stop"``, ``"delete"`` or ``"hibernate"``
            (saved into its folder and stopped; the next start or command
            restores it as it stood; ``info.paused_by`` is then
            ``"hibernated"``). Both are enforced
            by the VM's supervisor, with or without a client attached.

    The SmolVM Python project's names are accepted too, and kept equal to
    the fields they stand for: ``memory`` (``mem_size_mib``),
    ``disk_size`` (``disk_size_mib``), ``backend`` (``vmm``) and
    ``comm_channel`` (``executor``: ``"vsock"`` is the guest agent, which
    SmolVM reaches over virtio-serial or vsock, ``"ssh"`` is SSH).
    """

    vm_id: Optional[str] = None
    vcpu_count: int = ll.SMOLVM_VCPU_DEFAULT
    mem_size_mib: int = ll.SMOLVM_MEM_MIB_DEFAULT
    disk_mode: str = "isolated"
    image: Optional[str] = None
    kernel_path: Optional[str] = None
    rootfs_path: Optional[str] = None
    boot_args: Optional[str] = None
    vmm: str = "auto"
    executor: str = "auto"
    network: str = "none"
    accel: str = "auto"
    boot_timeout_s: int = 0
    boot: Optional[str] = None
    disk_size_mib: int = 0
    env_vars: Dict[str, str] = field(default_factory=dict)
    ttl_s: int = 0
    on_ttl: Optional[str] = None
    idle_timeout_s: int = 0
    on_idle: Optional[str] = None
    # The SmolVM Python project's names (see above); None: not given.
    memory: Optional[int] = None
    disk_size: Optional[int] = None
    backend: Optional[str] = None
    comm_channel: Optional[str] = None

    def __post_init__(self) -> None:
        self._synced: Dict[str, Any] = {}
        self._sync_aliases()

    def _sync_aliases(self) -> None:
        """Makes each alias and its field agree. Whichever of the two was
        set since the last sync wins; both set to different values raises
        :class:`ConfigError` naming both."""
        for alias, name in _ALIASES.items():
            given, current = getattr(self, alias), getattr(self, name)
            if given is None:
                value = current
            else:
                # At construction the field counts as set unless it is its default.
                last = self._synced.get(name, VMConfig.__dataclass_fields__[name].default)
                raw = _CHANNELS.get(given, given) if alias == "comm_channel" else given
                field_set, alias_set = current != last, raw != last
                wanted = _field_value(alias, given) if alias_set else raw  # checks what was set
                if field_set and alias_set and wanted != current:
                    raise ConfigError(f"{alias}={given!r} and {name}={current!r} disagree: "
                                      f"give one of them")
                value = current if field_set else wanted
            setattr(self, name, value)
            setattr(self, alias, _alias_value(alias, value))
            self._synced[name] = value

    def merged(self, **overrides: Any) -> "VMConfig":
        """A copy with every override that is not None applied. An override
        of an alias or of its field replaces both."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        self._sync_aliases()
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for alias, name in _ALIASES.items():
            if alias in changes or name in changes:
                values[alias] = None
                values[name] = VMConfig.__dataclass_fields__[name].default
        values.update(changes)
        return type(self)(**values)

    def _build(self) -> Any:
        """The low-level options builder; free with smolvm_swig_vm_opts_free."""
        self._sync_aliases()
        opts = check_ptr(ll.smolvm_swig_vm_opts_new())
        try:
            for f in dataclasses.fields(self):
                if f.name in _ALIASES or f.name == "env_vars":
                    continue  # aliases are synced; env goes in after create
                value = getattr(self, f.name)
                if f.name in _INT_FIELDS:
                    check(ll.smolvm_swig_vm_opts_set_u32(opts, f.name, _u32(f.name, value)))
                else:
                    check(ll.smolvm_swig_vm_opts_set_str(opts, f.name, _text(f.name, value)))
        except BaseException:
            ll.smolvm_swig_vm_opts_free(opts)
            raise
        return opts


# alias -> the field it stands for.
_ALIASES = {"memory": "mem_size_mib", "disk_size": "disk_size_mib", "backend": "vmm",
            "comm_channel": "executor"}
# comm_channel -> executor.
_CHANNELS = {"vsock": "agent", "ssh": "ssh"}


def _field_value(alias: str, given: Any) -> Any:
    """The field's value for an alias's value (checked, naming the alias)."""
    if given is None:
        return given
    name = _ALIASES[alias]
    if name in _INT_FIELDS:
        lo, hi = _INT_FIELDS[name]
        if isinstance(given, bool) or not isinstance(given, int) or not lo <= given <= hi:
            raise ConfigError(f"{alias}={given!r}: must be {lo}..{hi}")
        return given
    if alias != "comm_channel":
        return given
    if given not in _CHANNELS:
        raise ConfigError(f"comm_channel={given!r}: must be one of "
                          f"{', '.join(map(repr, _CHANNELS))}")
    return _CHANNELS[given]


def _alias_value(alias: str, value: Any) -> Any:
    """The alias's value for a field's value (None where it has no name)."""
    if alias != "comm_channel":
        return value
    return {v: k for k, v in _CHANNELS.items()}.get(value)


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
