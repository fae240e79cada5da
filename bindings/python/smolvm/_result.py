"""Results: CommandResult (run), ExecEvent (stream), VMInfo (info)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional

from ._config import VMConfig
from ._state import VMState

__all__ = ["CommandResult", "ExecEvent", "VMInfo", "NetworkConfig"]


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class CommandResult:
    """What a finished command left behind.

    Attributes:
        exit_code: the exit status, or 128+signal when a signal ended it.
        stdout_bytes, stderr_bytes: the raw output.
        signal: the signal that ended the command, or 0.
        timed_out: True if the command's ``timeout`` killed it.
        duration: wall time in seconds, measured in the guest.
    """

    exit_code: int
    stdout_bytes: bytes
    stderr_bytes: bytes
    signal: int = 0
    timed_out: bool = False
    duration: float = 0.0

    @property
    def stdout(self) -> str:
        """Standard output decoded as UTF-8 (invalid bytes replaced)."""
        return _text(self.stdout_bytes)

    @property
    def stderr(self) -> str:
        """Standard error decoded as UTF-8 (invalid bytes replaced)."""
        return _text(self.stderr_bytes)

    @property
    def output(self) -> str:
        """stdout without leading and trailing whitespace, as in the SmolVM
        Python project: ``vm.run("echo hi").output == "hi"``. stderr is in
        :attr:`stderr`; :attr:`combined` has both."""
        return self.stdout.strip()

    @property
    def combined(self) -> str:
        """stdout, then stderr, as text. A newline separates them when
        stdout does not end with one. (The two streams are collected
        separately, so their interleaving is not kept; use
        :meth:`VM.stream` for that.)"""
        out, err = self.stdout, self.stderr
        if out and err and not out.endswith("\n"):
            return out + "\n" + err
        return out + err

    @property
    def ok(self) -> bool:
        """True if the command exited 0 (and was not killed)."""
        return self.exit_code == 0 and not self.timed_out and self.signal == 0

    def __str__(self) -> str:
        return self.combined


@dataclass(frozen=True)
class ExecEvent:
    """One event of a streamed command.

    Attributes:
        kind: ``"stdout"`` or ``"stderr"`` (``data`` holds the bytes), or
            ``"exit"`` (the last event; ``exit_code`` etc. are set).
        data: output bytes (empty for ``"exit"``).
        exit_code: on ``"exit"``: the exit status (128+signal if killed);
            None otherwise.
        signal, timed_out, duration: on ``"exit"``, as in CommandResult.
    """

    kind: Literal["stdout", "stderr", "exit"]
    data: bytes = b""
    exit_code: Optional[int] = None
    signal: int = 0
    timed_out: bool = False
    duration: float = 0.0

    @property
    def text(self) -> str:
        """``data`` decoded as UTF-8 (invalid bytes replaced). A multi-byte
        character may be split across two events; decode the joined bytes
        when that matters."""
        return _text(self.data)


@dataclass(frozen=True)
class NetworkConfig:
    """A VM's network as the SmolVM Python project's ``VMInfo.network``
    shows it. SmolVM's network plugins keep the rest to themselves, so only
    ``guest_ip`` is known; the other fields are None."""

    guest_ip: str
    gateway_ip: Optional[str] = None
    netmask: Optional[str] = None
    tap_device: Optional[str] = None
    guest_mac: Optional[str] = None
    ssh_host_port: Optional[int] = None


@dataclass(frozen=True)
class VMInfo:
    """A snapshot of a VM's record, read fresh by ``vm.info``.

    ``vm.info`` is a property (as in the SmolVM Python project) whose value
    can also be called, so the older ``vm.info()`` gives the same object.
    """

    id: str
    state: str
    vcpu_count: int
    mem_size_mib: int
    disk_mode: str
    vmm: str
    executor: str
    network_backend: str  #: the network plugin ("none" without a network)
    accel: str
    kernel_path: str
    rootfs_path: str
    disk_path: str
    ip: Optional[str]
    state_dir: str
    console_log: str
    supervisor_pid: int
    vmm_pid: int
    created_at_ms: int
    started_at_ms: int
    last_error: str
    disk_size_mib: int = 0  #: the disk's size as the guest sees it
    #: The lifetime policy (see :class:`VMConfig`; 0: none) and what is left
    #: of it: ``ttl_left_ms`` is the running time left of this boot (frozen
    #: while paused, the whole ttl while not running), -1 without a ttl;
    #: ``paused_by`` is ``"idle"`` when the idle policy paused the VM,
    #: ``"snapshot"`` while a snapshot of it is written.
    ttl_s: int = 0
    on_ttl: str = "delete"
    ttl_left_ms: int = -1
    idle_timeout_s: int = 0
    on_idle: str = "pause"
    paused_by: str = ""
    #: How the guest came up at the last start: ``"snapshot"`` (restored
    #: from a template of a freshly booted guest, or from a snapshot) or
    #: ``"cold"``, and why (e.g. ``"disabled by SMOLVM_TEMPLATE=0"``).
    boot: str = ""
    boot_reason: str = ""

    @property
    def vm_id(self) -> str:
        """The VM's id (the SmolVM Python project's name for :attr:`id`)."""
        return self.id

    @property
    def status(self) -> VMState:
        """:attr:`state` as a :class:`VMState`."""
        return VMState.from_native(self.state)

    @property
    def pid(self) -> Optional[int]:
        """The VMM's process id while the VM runs, else None."""
        return self.vmm_pid or None

    @property
    def config(self) -> VMConfig:
        """The VM's options as a :class:`VMConfig` (the SmolVM Python
        project's ``info.config``), with the backends resolved (``vmm``
        "qemu", not "auto"). Its ``env_vars`` stay empty: see
        ``vm.list_env_vars()``."""
        return VMConfig(vm_id=self.id, vcpu_count=self.vcpu_count,
                        mem_size_mib=self.mem_size_mib, disk_mode=self.disk_mode,
                        kernel_path=self.kernel_path or None,
                        rootfs_path=self.rootfs_path or None, vmm=self.vmm or "auto",
                        executor=self.executor or "auto", network=self.network_backend or "none",
                        accel=self.accel or "auto", disk_size_mib=self.disk_size_mib,
                        ttl_s=self.ttl_s, on_ttl=self.on_ttl,
                        idle_timeout_s=self.idle_timeout_s, on_idle=self.on_idle)

    @property
    def network(self) -> Optional[NetworkConfig]:
        """The guest's network as a :class:`NetworkConfig`, None without one
        (the SmolVM Python project's ``info.network``; the plugin that made
        it is :attr:`network_backend`)."""
        return NetworkConfig(guest_ip=self.ip) if self.ip else None

    @property
    def socket_path(self) -> None:
        """Always None: a VM's VMM is reached through its supervisor, not
        a socket for the caller (the SmolVM Python project's Firecracker
        API socket)."""
        return None

    def __call__(self) -> "VMInfo":
        """Itself: keeps ``vm.info()`` working now that ``info`` is a property."""
        return self

    @classmethod
    def _from_native(cls, info: Any) -> "VMInfo":
        return cls(
            id=info.id, state=info.state_name, vcpu_count=info.vcpu_count,
            mem_size_mib=info.mem_size_mib, disk_mode=info.disk_mode, vmm=info.vmm,
            executor=info.executor, network_backend=info.network, accel=info.accel,
            kernel_path=info.kernel_path, rootfs_path=info.rootfs_path,
            disk_path=info.disk_path, ip=info.ip or None, state_dir=info.state_dir,
            console_log=info.console_log, supervisor_pid=info.supervisor_pid,
            vmm_pid=info.vmm_pid, created_at_ms=info.created_at_ms,
            started_at_ms=info.started_at_ms, last_error=info.last_error,
            disk_size_mib=info.disk_size_mib, ttl_s=info.ttl_s, on_ttl=info.on_ttl,
            ttl_left_ms=info.ttl_left_ms, idle_timeout_s=info.idle_timeout_s,
            on_idle=info.on_idle, paused_by=info.paused_by, boot=info.boot,
            boot_reason=info.boot_reason)
