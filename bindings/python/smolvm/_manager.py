"""SmolVMManager: the SmolVM Python project's low-level manager, VMs by id."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, TypeVar, Union

from ._config import VMConfig
from ._errors import ConfigError, NotFoundError, VMStateError
from ._native import check, ll
from ._options import compat_runtime
from ._result import VMInfo
from ._runtime import PathArg, Runtime
from ._snapshots import SnapshotInfo, delete_snapshot, get_snapshot, list_snapshots
from ._state import VMState
from ._unavailable import no_ssh_address, refuse
from ._vm import VM, _boot_timeout_ms

__all__ = ["SmolVMManager"]

T = TypeVar("T")
# States of a VM whose processes live (gc does not repair it).
_LIVE = (VMState.STARTING, VMState.RUNNING, VMState.PAUSED, VMState.STOPPING)


class SmolVMManager:
    """Creates, starts, stops and lists VMs by id, returning :class:`VMInfo`
    records (the SmolVM Python project's low-level API). The VMs are the
    same as :class:`SmolVM`'s: ``SmolVM.from_id(id)`` attaches to one made
    here, and the manager sees every VM of its state folder.

    Args:
        data_dir: the state folder; None: ``$SMOLVM_STATE_DIR``, else
            ``~/.local/state/smolvm`` (as :class:`Runtime`).
        socket_dir: refused (SmolVM keeps sockets in the state folder).
        backend: the VMM for :meth:`create` when its config says "auto"
            ("qemu", "firecracker", "auto").
        runtime: a :class:`Runtime` instead of ``data_dir``.

    No VM is tied to the manager: :meth:`close` and garbage collection
    leave them as they are.
    """

    def __init__(self, data_dir: Optional[PathArg] = None, socket_dir: Optional[PathArg] = None,
                 backend: Optional[str] = None, *, runtime: Optional[Runtime] = None) -> None:
        self._rt = compat_runtime(runtime, data_dir=data_dir, socket_dir=socket_dir)
        self.backend = VMConfig(backend=backend).vmm
        self.socket_dir = None
        self._closed = False

    @classmethod
    def from_id(cls, vm_id: str, **kwargs: Any) -> "SmolVMManager":
        """A manager whose state folder holds ``vm_id``; raises
        :class:`NotFoundError` (``VMNotFoundError``) otherwise. ``kwargs``
        go to the constructor."""
        manager = cls(**kwargs)
        manager.get(vm_id)
        return manager

    @functools.cached_property
    def data_dir(self) -> Path:
        """The state folder in use (as ``smolvm doctor`` reports it)."""
        return Path(self._rt.doctor()["state_dir"])

    # ---- lifecycle ----

    def create(self, config: VMConfig) -> VMInfo:
        """Records a new VM (not booted) and returns its record. Raises
        :class:`VMAlreadyExistsError` if ``config.vm_id`` is taken,
        :class:`ConfigError` naming a bad field."""
        if not isinstance(config, VMConfig):
            raise ConfigError(f"config={config!r}: must be a VMConfig")
        vmm = self.backend if config.merged().vmm == "auto" else None
        vm = VM(config, vmm=vmm, runtime=self._rt)
        return self._close_after(vm, lambda: vm.info)

    def start(self, vm_id: str, boot_timeout: float = 30.0) -> VMInfo:
        """Boots a created or stopped VM and returns its record once the
        guest runs commands. Raises :class:`VMStateError` naming the state
        for any other (as the SmolVM Python project's manager does)."""
        ms = _boot_timeout_ms(boot_timeout)
        return self._with(vm_id, lambda vm: vm._call(
            lambda h: check(ll.smolvm_swig_vm_start_within(h, ms))))

    def stop(self, vm_id: str, timeout: float = 10.0) -> VMInfo:
        """Shuts a VM down (forced after ``timeout`` seconds); a VM that
        does not run is left alone. Returns its record."""
        return self._with(vm_id, lambda vm: vm.stop(timeout))

    def pause(self, vm_id: str) -> VMInfo:
        """Pauses a running VM (see :meth:`SmolVM.pause`)."""
        return self._with(vm_id, lambda vm: vm.pause())

    def resume(self, vm_id: str) -> VMInfo:
        """Resumes a paused VM (see :meth:`SmolVM.resume`)."""
        return self._with(vm_id, lambda vm: vm.resume())

    def delete(self, vm_id: str) -> None:
        """Stops the VM if needed and removes it with its disk and files."""
        self._open(vm_id).delete()

    # ---- records ----

    def get(self, vm_id: str) -> VMInfo:
        """The VM's record; :class:`NotFoundError` if there is none."""
        vm = self._open(vm_id)
        return self._close_after(vm, lambda: vm.info)

    def list_vms(self, status: Optional[Union[VMState, str]] = None) -> List[VMInfo]:
        """Every VM's record, oldest first; only those in ``status`` if given.
        A VM deleted while listing is left out."""
        wanted = _state(status)
        records = []
        for vm_id in self._rt.list():
            try:
                info = self.get(vm_id)
            except NotFoundError:
                continue
            if wanted is None or info.status == wanted:
                records.append(info)
        return records

    def refresh_status(self, vm_info: VMInfo) -> VMInfo:
        """The VM's record read again (every read is fresh here)."""
        return self.get(vm_info.vm_id)

    def reconcile(self) -> List[str]:
        """Repairs the store after a crash (``smolvm gc``: dead supervisors,
        leftover processes, sockets and network rules) and returns the ids
        of the VMs it repaired. (Reading a record already reports a VM whose
        processes died as ``VMState.ERROR``; this cleans up after it.)"""
        before = {i.vm_id: i for i in self.list_vms()}
        check(ll.smolvm_swig_runtime_gc(self._rt.handle))
        return [i.vm_id for i in self.list_vms()
                if i.vm_id in before and i != before[i.vm_id] and i.status not in _LIVE]

    def check_prerequisites(self) -> List[str]:
        """What the host lacks to run a VM, one line each with its fix
        (the required checks of ``smolvm doctor`` that fail); empty if none."""
        problems = []
        for c in self._rt.doctor().get("checks", []):
            if c.get("required") and not c.get("ok"):
                fix = c.get("fix") or ""
                problems.append(f"{c.get('name')}: {c.get('message')}" +
                                (f" ({fix})" if fix else ""))
        return problems

    def get_ssh_commands(self, vm_id: str, **kwargs: Any) -> Dict[str, str]:
        """Refused: SmolVM's VMs have no SSH endpoint for the caller; ``smolvm
        ssh ID`` opens a shell in one created with comm_channel='ssh'."""
        self._close_after(self._open(vm_id), lambda: None)
        refuse("get_ssh_commands", no_ssh_address(vm_id))

    # ---- snapshots ----

    def create_snapshot(self, vm_id: str, snapshot_id: Optional[str] = None, *,
                        snapshot_type: Any = None, resume_source: bool = False,
                        **kwargs: Any) -> SnapshotInfo:
        """Snapshots a running or paused VM (see :meth:`SmolVM.snapshot`:
        the VM is left paused unless ``resume_source=True``)."""
        vm = self._open(vm_id)
        return self._close_after(vm, lambda: vm.snapshot(
            snapshot_id, snapshot_type=snapshot_type, resume_source=resume_source, **kwargs))

    def restore_snapshot(self, snapshot_id: str, *, resume_vm: bool = False,
                         force: bool = False, vm_id: Optional[str] = None) -> VMInfo:
        """A new VM from the snapshot (see :meth:`SmolVM.from_snapshot`),
        started when ``resume_vm``; returns its record. The VM is kept: it
        is not tied to the manager."""
        vm = VM.from_snapshot(snapshot_id, resume_vm=resume_vm, force=force, vm_id=vm_id,
                              runtime=self._check_open())
        return self._close_after(vm, lambda: vm.info)

    def list_snapshots(self, vm_id: Optional[str] = None) -> List[SnapshotInfo]:
        """Every snapshot, oldest first; only those of ``vm_id`` if given."""
        return list_snapshots(vm_id, runtime=self._check_open())

    def get_snapshot(self, snapshot_id: str) -> SnapshotInfo:
        """One snapshot by id or name (:class:`SnapshotNotFoundError`)."""
        return get_snapshot(snapshot_id, runtime=self._check_open())

    def delete_snapshot(self, snapshot_id: str) -> None:
        """Removes a snapshot (refused while VMs restored from it exist)."""
        delete_snapshot(snapshot_id, runtime=self._check_open())

    # ---- async ----

    async def async_create(self, config: VMConfig) -> VMInfo:
        """:meth:`create` in a worker thread."""
        return await asyncio.to_thread(self.create, config)

    async def async_start(self, vm_id: str, boot_timeout: float = 30.0) -> VMInfo:
        """:meth:`start` in a worker thread (the event loop keeps running)."""
        return await asyncio.to_thread(self.start, vm_id, boot_timeout)

    async def async_stop(self, vm_id: str, timeout: float = 10.0) -> VMInfo:
        """:meth:`stop` in a worker thread."""
        return await asyncio.to_thread(self.stop, vm_id, timeout)

    async def async_delete(self, vm_id: str) -> None:
        """:meth:`delete` in a worker thread."""
        await asyncio.to_thread(self.delete, vm_id)

    # ---- the manager itself ----

    def close(self) -> None:
        """Marks the manager closed; its VMs are untouched. Safe twice."""
        self._closed = True

    def __enter__(self) -> "SmolVMManager":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> Runtime:
        """The manager's runtime; VMStateError once it is closed."""
        if self._closed:
            raise VMStateError("the SmolVMManager is closed: make a new one")
        return self._rt

    def _open(self, vm_id: str) -> VM:
        rt = self._check_open()
        if not isinstance(vm_id, str) or not vm_id:
            raise ConfigError(f"vm_id={vm_id!r}: must be a VM id")
        return VM.from_id(vm_id, runtime=rt)

    def _with(self, vm_id: str, action: Callable[[VM], Any]) -> VMInfo:
        """action(vm) on a handle of vm_id, then the VM's record."""
        vm = self._open(vm_id)

        def act() -> VMInfo:
            action(vm)
            return vm.info

        return self._close_after(vm, act)

    @staticmethod
    def _close_after(vm: VM, fn: Callable[[], T]) -> T:
        try:
            return fn()
        finally:
            vm.close()


def _state(status: Optional[Union[VMState, str]]) -> Optional[VMState]:
    if status is None:
        return None
    try:
        return status if isinstance(status, VMState) else VMState.from_native(status)
    except ValueError:
        raise ConfigError(f"status={status!r}: must be one of "
                          f"{', '.join(s.value for s in VMState)}") from None
