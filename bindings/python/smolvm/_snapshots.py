"""Snapshots: SnapshotInfo and its parts (the SmolVM Python project's names),
and the calls that list, read and remove snapshots.

A snapshot is a VM's memory, device state and disk at one moment, kept in
the state folder (``<state>/snapshots/<id>/``); see the README's "Snapshots
and restore". ``vm.snapshot()`` takes one and ``SmolVM.from_snapshot()``
makes a new VM from one.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

from ._config import VMConfig
from ._errors import (ConfigError, NotFoundError, SnapshotAlreadyExistsError,
                      SnapshotNotFoundError, UnsupportedError, VMAlreadyExistsError)
from ._native import check, check_ptr, ll
from ._runtime import Runtime, default_runtime

__all__ = ["SnapshotInfo", "SnapshotArtifacts", "SnapshotType", "SnapshotCapturePolicy",
           "GuestFlushPolicy", "list_snapshots", "get_snapshot", "delete_snapshot",
           "check_snapshot_options"]

T = TypeVar("T")


class SnapshotType(str, enum.Enum):
    """What a snapshot holds (the SmolVM Python project's enum). SmolVM takes
    ``FULL`` snapshots only: memory, device state and disk, the disk kept as
    a copy-on-write layer. ``DIFF`` and ``DISK`` are refused by
    ``vm.snapshot()`` with :class:`UnsupportedError`."""

    FULL = "full"
    DIFF = "diff"
    DISK = "disk"

    def __str__(self) -> str:
        return self.value


class SnapshotCapturePolicy(str, enum.Enum):
    """Whether taking a snapshot may pause the guest. SmolVM always pauses it
    while it saves (``ALLOW_PAUSE``); ``LIVE_ONLY`` is refused."""

    ALLOW_PAUSE = "allow-pause"
    LIVE_ONLY = "live-only"

    def __str__(self) -> str:
        return self.value


class GuestFlushPolicy(str, enum.Enum):
    """How the guest's file systems are flushed first. SmolVM runs ``sync``
    in a running guest and fails the snapshot if it fails (``REQUIRED``);
    ``BEST_EFFORT`` and ``SKIP`` are refused."""

    REQUIRED = "required"
    BEST_EFFORT = "best-effort"
    SKIP = "skip"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class SnapshotArtifacts:
    """The files of a snapshot. ``state_path`` holds the VMM's saved memory
    and device state in one file, so ``memory_path`` is None; ``disk_path``
    is the VM's disk then, a read-only qcow2 layer from now on."""

    disk_path: Path
    state_path: Optional[Path] = None
    memory_path: Optional[Path] = None


@dataclass(frozen=True)
class SnapshotInfo:
    """A snapshot's record, read from its manifest (``smolvm snapshot
    inspect`` shows the same).

    The SmolVM Python project's fields:
        snapshot_id: the name the snapshot was given, else its id; every
            call that takes a snapshot accepts either.
        vm_id: the VM it was taken of.
        backend: the VMM plugin ("qemu").
        artifacts: its files (:class:`SnapshotArtifacts`).
        vm_config: the machine it restores onto, as a :class:`VMConfig`
            (vCPUs, memory, image, backends).
        network_config: always None: a VM restored from the snapshot of a
            VM with a network gets a network of the same plugin with an
            address, MAC and TAP of its own (``smolvm snapshot inspect``
            shows the plugin as ``network``).
        created_at: when it was taken (UTC).
        snapshot_type: always ``SnapshotType.FULL``.
        restored: True while a VM restored from it exists.
        restored_vm_id: the id of one such VM (the last listed), else None.

    Ours beside them: ``id`` ("snap-" + 8 hex digits), ``name`` ("" if
    none), ``vcpu_count``, ``mem_size_mib``, ``kernel_path``,
    ``rootfs_path``, ``executor``, ``accel``, ``state_bytes``,
    ``disk_bytes``, ``layers`` (the disk layers a restore sits on, oldest
    first), ``dir`` (its folder), ``used_by`` (the VM and snapshot folders
    built on its disk, which keep it from being deleted) and
    ``created_at_ms``.
    """

    id: str
    name: str
    vm_id: str
    backend: str
    created_at_ms: int
    vcpu_count: int
    mem_size_mib: int
    kernel_path: str
    rootfs_path: str
    executor: str
    accel: str
    state_bytes: int
    disk_bytes: int
    layers: Tuple[str, ...]
    dir: str
    used_by: Tuple[str, ...]

    @property
    def snapshot_id(self) -> str:
        """The SmolVM Python project's identifier: the name given to
        ``vm.snapshot()``, else :attr:`id`."""
        return self.name or self.id

    @property
    def source_vm(self) -> str:
        """The VM it was taken of (the C library's name for :attr:`vm_id`)."""
        return self.vm_id

    @property
    def created_at(self) -> datetime:
        """When it was taken, in UTC."""
        return datetime.fromtimestamp(self.created_at_ms / 1000, tz=timezone.utc)

    @property
    def snapshot_type(self) -> SnapshotType:
        return SnapshotType.FULL

    @property
    def artifacts(self) -> SnapshotArtifacts:
        return SnapshotArtifacts(disk_path=Path(self.dir, "disk.qcow2"),
                                 state_path=Path(self.dir, "state"))

    @property
    def disk_path(self) -> Path:
        """:attr:`artifacts` ``.disk_path`` (the project's older field)."""
        return self.artifacts.disk_path

    @property
    def snapshot_path(self) -> Optional[Path]:
        """:attr:`artifacts` ``.state_path`` (the project's older field)."""
        return self.artifacts.state_path

    @property
    def mem_file_path(self) -> None:
        """Always None: the memory is in :attr:`snapshot_path`."""
        return None

    @property
    def vm_config(self) -> VMConfig:
        return VMConfig(vcpu_count=self.vcpu_count, mem_size_mib=self.mem_size_mib,
                        kernel_path=self.kernel_path or None,
                        rootfs_path=self.rootfs_path or None, vmm=self.backend or "auto",
                        executor=self.executor or "auto", accel=self.accel or "auto")

    @property
    def network_config(self) -> None:
        return None

    @property
    def restored_vm_ids(self) -> List[str]:
        """Ids of the VMs restored from it that still exist."""
        return [os.path.basename(f) for f in self.used_by
                if os.path.basename(os.path.dirname(f)) == "vms"]

    @property
    def restored(self) -> bool:
        return bool(self.restored_vm_ids)

    @property
    def restored_vm_id(self) -> Optional[str]:
        ids = self.restored_vm_ids
        return ids[-1] if ids else None

    @classmethod
    def _from_json(cls, j: Dict[str, Any]) -> "SnapshotInfo":
        return cls(id=j["id"], name=j.get("name") or "", vm_id=j.get("source_vm") or "",
                   backend=j.get("vmm") or "", created_at_ms=int(j.get("created_at_ms") or 0),
                   vcpu_count=int(j.get("vcpu_count") or 0),
                   mem_size_mib=int(j.get("mem_size_mib") or 0),
                   kernel_path=j.get("kernel_path") or "", rootfs_path=j.get("rootfs_path") or "",
                   executor=j.get("executor") or "", accel=j.get("accel") or "",
                   state_bytes=int(j.get("state_bytes") or 0),
                   disk_bytes=int(j.get("disk_bytes") or 0),
                   layers=tuple(j.get("layers") or ()), dir=j.get("dir") or "",
                   used_by=tuple(j.get("used_by") or ()))


@contextlib.contextmanager
def snapshot_errors(snapshot: str, missing: bool = True,
                    name_taken: bool = True) -> Iterator[None]:
    """Raises the project's snapshot errors for the library's: (missing) a
    snapshot that is not there is :class:`SnapshotNotFoundError`, and
    (name_taken) a name in use :class:`SnapshotAlreadyExistsError`
    (subclasses of NotFoundError and VMAlreadyExistsError, so either catch
    works)."""
    try:
        yield
    except (SnapshotNotFoundError, SnapshotAlreadyExistsError):
        raise
    except NotFoundError as e:
        if not missing:
            raise
        raise SnapshotNotFoundError(e.message, {"snapshot_id": snapshot}, status=e.status,
                                    code=e.code) from None
    except VMAlreadyExistsError as e:
        if not name_taken:
            raise
        raise SnapshotAlreadyExistsError(e.message, {"snapshot_id": snapshot},
                                         status=e.status, code=e.code) from None


def read_json_buf(buf: Any) -> Any:
    """The JSON in a low-level buffer, which is freed."""
    try:
        return json.loads(ll.smolvm_swig_buf_bytes(buf).decode("utf-8"))
    finally:
        ll.smolvm_swig_buf_free(buf)


def _snapshot_arg(snapshot_id: Any) -> str:
    if isinstance(snapshot_id, SnapshotInfo):
        return snapshot_id.id
    if not isinstance(snapshot_id, str) or not snapshot_id:
        raise ConfigError(f"snapshot_id={snapshot_id!r}: must be a snapshot's id or name")
    return snapshot_id


def list_snapshots(vm_id: Optional[str] = None,
                   runtime: Optional[Runtime] = None) -> List[SnapshotInfo]:
    """Every snapshot of the state folder, oldest first; only those taken of
    ``vm_id`` when given."""
    rt = runtime or default_runtime()
    records = [SnapshotInfo._from_json(j)
               for j in read_json_buf(check_ptr(ll.smolvm_swig_snapshot_list(rt.handle)))]
    return [s for s in records if vm_id is None or s.vm_id == vm_id]


def get_snapshot(snapshot_id: Any, runtime: Optional[Runtime] = None) -> SnapshotInfo:
    """One snapshot by id or name; :class:`SnapshotNotFoundError` if none
    has it."""
    name = _snapshot_arg(snapshot_id)
    rt = runtime or default_runtime()
    with snapshot_errors(name):
        buf = check_ptr(ll.smolvm_swig_snapshot_inspect(rt.handle, name))
    return SnapshotInfo._from_json(read_json_buf(buf))


def delete_snapshot(snapshot_id: Any, runtime: Optional[Runtime] = None) -> None:
    """Removes a snapshot (by id or name). Refused with
    :class:`VMStateError` naming them while VMs restored from it (or
    snapshots of those) use its disk; :class:`SnapshotNotFoundError` if
    there is none."""
    name = _snapshot_arg(snapshot_id)
    rt = runtime or default_runtime()
    with snapshot_errors(name):
        check(ll.smolvm_swig_snapshot_delete(rt.handle, name))


def _only(name: str, value: Any, enum_type: Any, allowed: Any, why: str) -> None:
    """Refuses value unless it is None or the enum member allowed."""
    if value is None:
        return
    try:
        member = enum_type(value)
    except ValueError:
        member = None
    if member is not allowed:
        raise UnsupportedError(f"{name}={value!r}: must be {allowed.value!r} (or left out); "
                               f"{why}", {name: str(value)})


def check_snapshot_options(snapshot_type: Any = None, capture_policy: Any = None,
                           flush_policy: Any = None, timeout_seconds: Any = None,
                           max_bytes_per_second: Any = None) -> None:
    """Refuses the SmolVM Python project's snapshot options that SmolVM
    cannot honour, naming the value and what is allowed."""
    _only("snapshot_type", snapshot_type, SnapshotType, SnapshotType.FULL,
          "SmolVM saves memory, device state and disk together, its disk a "
          "copy-on-write layer (a diff of the image already)")
    _only("capture_policy", capture_policy, SnapshotCapturePolicy,
          SnapshotCapturePolicy.ALLOW_PAUSE, "the guest stands still while it is saved")
    _only("flush_policy", flush_policy, GuestFlushPolicy, GuestFlushPolicy.REQUIRED,
          "the guest's sync must succeed before it is saved")
    if timeout_seconds is not None:
        raise UnsupportedError(f"timeout_seconds={timeout_seconds!r}: a snapshot has no "
                               f"deadline of its own here (the guest's sync is bounded at "
                               f"60 s); leave it out", {"timeout_seconds": timeout_seconds})
    if max_bytes_per_second is not None:
        raise UnsupportedError(f"max_bytes_per_second={max_bytes_per_second!r}: the state "
                               f"is written at full speed; leave it out",
                               {"max_bytes_per_second": max_bytes_per_second})


def snapshot_name(snapshot_id: Optional[str], name: Optional[str]) -> Optional[str]:
    """The one name of ``snapshot_id=`` (the project's) and ``name=`` (ours)."""
    for arg, value in (("snapshot_id", snapshot_id), ("name", name)):
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{arg}={value!r}: must be a string")
    if snapshot_id is not None and name is not None and snapshot_id != name:
        raise ConfigError(f"snapshot_id={snapshot_id!r} and name={name!r}: both name the "
                          f"snapshot; give one of them")
    return snapshot_id if snapshot_id is not None else name


def with_builder(new: Callable[[], Any], free: Callable[[Any], None],
                 fill: Callable[[Any], T]) -> T:
    """fill(builder) on a new low-level option builder, freed after."""
    builder = check_ptr(new())
    try:
        return fill(builder)
    finally:
        free(builder)
