"""VM (persistent) and SmolVM (disposable): the objects users hold."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import posixpath
import re
import threading
import time
import weakref
from pathlib import Path
from typing import (Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Set, Type,
                    TypeVar, Union)

from ._callbacks import Callback, RunContext, around_run, check_callbacks
from ._config import VMConfig, _text, _u32
from ._errors import (CommandError, ConfigError, NotFoundError, SmolVMError, TimeoutError,
                      UnsupportedError)
from ._exec import Command, build_exec_opts, describe, result_from_native
from ._native import any_to_bytes, check, check_ptr, closed_error, ll, raise_last
from ._options import COMPAT_OPTIONS, compat_runtime
from ._result import CommandResult, VMInfo
from ._runtime import Runtime, default_runtime
from ._state import VMState
from ._stream import ExecStream, Terminal
from ._snapshots import (SnapshotInfo, check_snapshot_options, get_snapshot, snapshot_errors,
                         snapshot_name, with_builder)
from ._unavailable import DESKTOP, TEMPLATES, no_ssh_address, refuse

__all__ = ["VM", "SmolVM"]

V = TypeVar("V", bound="VM")
S = TypeVar("S", bound=ExecStream)
_DISPOSE_STOP_MS = 5000
#: run()'s default timeout in seconds (the SmolVM Python project's).
_RUN_TIMEOUT_S = 30.0
PathArg = Union[str, "os.PathLike[str]"]


class _Handle:
    """The smolvm_vm* of one VM object, and what to do when it goes."""

    __slots__ = ("ptr", "runtime", "owned", "bound", "lock", "vm_id")

    def __init__(self, ptr: Any, runtime: Runtime, owned: bool, bound: bool) -> None:
        self.ptr = ptr
        self.runtime = runtime  # outlives the handle
        self.owned = owned      # made by this object: its `with` block deletes it
        # Created bound to this process (delete_with_owner): if the process
        # dies before the object is released, the VM's supervisor deletes it.
        self.bound = bound
        self.lock = threading.RLock()
        self.vm_id: str = ll.smolvm_vm_id(ptr)


def _release(h: _Handle) -> None:
    """Frees the handle and never deletes the VM: a VM still bound to this
    process is detached first, so it outlives the process. Runs from
    close(), from the garbage collector, or at interpreter exit."""
    with h.lock:
        ptr, h.ptr = h.ptr, None
        if ptr is None:
            return
        try:
            if h.bound:
                ll.smolvm_swig_vm_detach(ptr)  # ENOTFOUND: deleted already
                h.bound = False
        finally:
            ll.smolvm_vm_free(ptr)


def _dispose(ptr: Any) -> None:
    """Stops and deletes a VM. A clean shutdown first: it is quick (~0.1 s),
    where deleting a running VM forces it off. Failures of the stop are
    left to delete, which forces."""
    ll.smolvm_swig_vm_stop(ptr, _DISPOSE_STOP_MS)
    check(ll.smolvm_swig_vm_delete(ptr))


# Keywords of the SmolVM Python project for features SmolVM does not have
# yet: given a value, they raise UnsupportedError saying what to use.
_NOT_YET = {
    "internet_settings": "an egress allow-list is not available yet (issue #20); "
                         "network='auto' gives the VM NAT to everything, network='none' "
                         "(the default) no network at all",
    "mounts": "host folder mounts are not available yet (issue #20); copy files in and "
              "out with upload_file()/download_file() (or put_file()/get_file())",
    "writable_mounts": "host folder mounts are not available yet (issue #20); copy files "
                       "in and out with upload_file()/download_file()",
}


def _refuse_not_yet(**given: Any) -> None:
    for name, value in given.items():
        if value:
            raise UnsupportedError(f"{name}={value!r}: {_NOT_YET[name]}")


# One transfer's bounds for the native call: 0 means the C library's
# default (SMOLVM_TRANSFER_MAX_BYTES_DEFAULT, SMOLVM_TRANSFER_TIMEOUT_MS_DEFAULT).
_MAX_TIMEOUT_S = 0xFFFFFFFF // 1000


def _transfer_bounds(max_bytes: Any, timeout: Any) -> tuple:
    """(max_bytes, timeout_ms) for the native call, after checking both."""
    if max_bytes is None:
        nbytes = 0
    elif isinstance(max_bytes, bool) or not isinstance(max_bytes, int) \
            or not 0 < max_bytes < 2 ** 63:
        raise ConfigError(f"max_bytes={max_bytes!r}: must be a whole number of bytes, "
                          f"1..{2 ** 63 - 1}, or None for the default (1 GiB)")
    else:
        nbytes = max_bytes
    if timeout is None:
        ms = 0
    elif isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not 0 < timeout <= _MAX_TIMEOUT_S:
        raise ConfigError(f"timeout={timeout!r}: must be 0 < seconds <= {_MAX_TIMEOUT_S}, "
                          f"or None for the default (300)")
    else:
        ms = max(1, int(timeout * 1000))
    return nbytes, ms


def _check_port(name: str, port: Any) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"{name}={port!r}: must be a port number 1..65535")
    return port


class VM:
    """A persistent microVM: it outlives this object and this process.

    ``VM(...)`` records a new VM right away (``smolvm_vm_create``): bad
    options raise :class:`ConfigError` here, and :attr:`id` is known at once;
    nothing boots until :meth:`start`. Closing the object, leaving its
    ``with`` block or dropping it only releases the handle: the VM keeps
    its state (running or not) and its disk, and any process can attach to
    it again with :meth:`from_id`. Remove it with :meth:`delete`.

    Keyword options override the matching field of ``config`` (see
    :class:`VMConfig` for their meaning and ranges)::

        vm = VM(vm_id="agent-workspace", mem_size_mib=1024)
        vm.start()
        vm.run("pip --version")
        vm.close()                            # still running
        vm = VM.from_id("agent-workspace")    # later, any process

    One object may be used from several threads; its calls are serialized.
    To run commands in parallel, open one object per thread with
    :meth:`from_id`, or use :meth:`stream`.
    """

    #: Whether objects made by the constructor delete their VM on release.
    _owns_new_vms = False

    def __init__(self, config: Optional[VMConfig] = None, *,
                 vm_id: Optional[str] = None,
                 vcpu_count: Optional[int] = None,
                 mem_size_mib: Optional[int] = None,
                 disk_mode: Optional[str] = None,
                 kernel_path: Optional[PathArg] = None,
                 rootfs_path: Optional[PathArg] = None,
                 boot_args: Optional[str] = None,
                 vmm: Optional[str] = None,
                 executor: Optional[str] = None,
                 network: Optional[str] = None,
                 accel: Optional[str] = None,
                 boot_timeout_s: Optional[int] = None,
                 disk_size_mib: Optional[int] = None,
                 runtime: Optional[Runtime] = None,
                 boot: Optional[str] = None,
                 memory: Optional[int] = None,
                 disk_size: Optional[int] = None,
                 backend: Optional[str] = None,
                 comm_channel: Optional[str] = None,
                 env_vars: Optional[Mapping[str, str]] = None,
                 callbacks: Optional[Sequence["Callback"]] = None,
                 internet_settings: Any = None,
                 mounts: Any = None,
                 writable_mounts: bool = False,
                 data_dir: Optional[PathArg] = None,
                 socket_dir: Optional[PathArg] = None,
                 image: Optional[str] = None,
                 os: Optional[str] = None,
                 qemu_machine: Optional[str] = None,
                 ssh_user: Optional[str] = None,
                 ssh_key_path: Optional[PathArg] = None,
                 ssh_password: Optional[str] = None,
                 ttl_s: Optional[int] = None,
                 on_ttl: Optional[str] = None,
                 idle_timeout_s: Optional[int] = None,
                 on_idle: Optional[str] = None) -> None:
        """Records a new VM now (not booted; see :meth:`start`).

        ``config`` gives the options, and each keyword that is not None
        overrides its field (see :class:`VMConfig`; ``memory``,
        ``disk_size``, ``backend`` and ``comm_channel`` are the SmolVM
        Python project's names of ``mem_size_mib``, ``disk_size_mib``,
        ``vmm`` and ``executor``). ``callbacks``: see :class:`Callback`.
        ``runtime``: None uses :func:`smolvm.default_runtime`. Raises
        :class:`ConfigError` naming the field, value and allowed range,
        :class:`VMAlreadyExistsError` (code ``"EEXISTS"``) if ``vm_id`` is
        taken, :class:`UnsupportedError` for ``internet_settings`` and
        ``mounts``, which SmolVM does not offer yet. ``ttl_s``, ``on_ttl``,
        ``idle_timeout_s`` and ``on_idle``: the lifetime policy (see
        :class:`VMConfig`).

        The SmolVM Python project's ``data_dir`` is the state folder (as
        ``runtime=Runtime(state_dir=data_dir)``); ``image`` names the image
        (see :class:`VMConfig`); ``os="debian"``, ``qemu_machine="auto"`` and ``ssh_user="root"`` are
        what SmolVM has, and other values, ``socket_dir``, ``ssh_key_path``
        and ``ssh_password`` raise :class:`UnsupportedError` saying why.
        """
        _refuse_not_yet(internet_settings=internet_settings, mounts=mounts,
                        writable_mounts=writable_mounts)
        rt = compat_runtime(runtime, data_dir=data_dir, socket_dir=socket_dir, os=os, qemu_machine=qemu_machine, ssh_user=ssh_user,
                            ssh_key_path=ssh_key_path, ssh_password=ssh_password)
        if config is not None and not isinstance(config, VMConfig):
            raise ConfigError(f"config={config!r}: must be a VMConfig")
        cfg = (config or VMConfig()).merged(
            vm_id=vm_id, vcpu_count=vcpu_count, mem_size_mib=mem_size_mib,
            disk_mode=disk_mode, image=None if image == "default" else image,
            kernel_path=kernel_path, rootfs_path=rootfs_path, boot_args=boot_args, vmm=vmm, executor=executor, network=network,
            accel=accel, boot_timeout_s=boot_timeout_s, boot=boot, disk_size_mib=disk_size_mib,
            memory=memory, disk_size=disk_size, backend=backend, comm_channel=comm_channel,
            env_vars=dict(env_vars) if env_vars is not None else None, ttl_s=ttl_s,
            on_ttl=on_ttl, idle_timeout_s=idle_timeout_s, on_idle=on_idle)
        self._callbacks: List[Callback] = check_callbacks(callbacks)
        self._create(cfg, rt)

    def _create(self, cfg: VMConfig, rt: Runtime) -> None:
        """Records the VM of cfg and attaches this object to it."""
        opts = cfg._build()
        try:
            if self._owns_new_vms:
                # Bound to this process: if it dies without closing the
                # object (SIGTERM, SIGKILL), the VM's supervisor deletes it.
                check(ll.smolvm_swig_vm_opts_set_u32(opts, "delete_with_owner", 1))
            ptr = check_ptr(ll.smolvm_swig_vm_create(rt.handle, opts))
        finally:
            ll.smolvm_swig_vm_opts_free(opts)
        self._attach(ptr, rt, owned=self._owns_new_vms, bound=self._owns_new_vms)
        if cfg.env_vars:
            try:
                self.set_env_vars(cfg.env_vars)
            except BaseException:
                self.delete()  # a failed create leaves nothing
                raise

    @classmethod
    def from_profile(cls: Type[V], path: PathArg, *, vm_id: Optional[str] = None,
                     runtime: Optional[Runtime] = None) -> V:
        """Records a new VM from a YAML profile (see examples/profiles/):
        its resources, backends, env, setup commands (run once after the
        first start) and port forwards. ``SMOLVM_PROFILE_*`` environment
        variables override the profile's fields. Raises :class:`ConfigError`
        naming the file, line, column and key path of a bad profile."""
        rt = runtime or default_runtime()
        ptr = check_ptr(ll.smolvm_swig_vm_create_from_profile(rt.handle, str(path), vm_id or ""))
        vm = cls.__new__(cls)
        vm._attach(ptr, rt, owned=cls._owns_new_vms)
        return vm

    @classmethod
    def from_id(cls: Type[V], vm_id: str, *, runtime: Optional[Runtime] = None,
                backend: Optional[str] = None, comm_channel: Optional[str] = None,
                **compat: Any) -> V:
        """Attaches to an existing VM by id, from any process
        (``smolvm_vm_open``). Raises :class:`NotFoundError` if there is none.
        The object does not own the VM: closing it leaves the VM alone.

        The SmolVM Python project's keywords are accepted: ``data_dir`` (the
        state folder, see :class:`VM`), the ``ssh_*`` options as for the
        constructor, and ``backend`` / ``comm_channel``, which must name
        the VM's own (a VM keeps the ones it was created with)."""
        if not isinstance(vm_id, str):
            raise ConfigError(f"vm_id={vm_id!r}: must be a string")
        rt = compat_runtime(runtime, **_compat_only(compat))
        ptr = check_ptr(ll.smolvm_swig_vm_open(rt.handle, vm_id))
        vm = cls.__new__(cls)
        vm._attach(ptr, rt, owned=False)
        try:
            _check_same_backends(vm, backend, comm_channel)
        except BaseException:
            vm.close()
            raise
        return vm

    def _attach(self, ptr: Any, runtime: Runtime, owned: bool, bound: bool = False) -> None:
        self._h = _Handle(ptr, runtime, owned, bound)
        self._finalizer = weakref.finalize(self, _release, self._h)
        if not hasattr(self, "_callbacks"):
            self._callbacks = []

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(handle, *args) under the object's lock."""
        with self._h.lock:
            if self._h.ptr is None:
                raise closed_error(f"VM object for '{self._h.vm_id}'")
            return fn(self._h.ptr, *args)

    # ---- identity and state ----

    @property
    def id(self) -> str:
        """The VM's id (also known after close)."""
        return self._h.vm_id

    @property
    def vm_id(self) -> str:
        """The VM's id (the SmolVM Python project's name for :attr:`id`)."""
        return self._h.vm_id

    @property
    def info(self) -> VMInfo:
        """The VM's record, read fresh from the store. A property (as in
        the SmolVM Python project) whose value is also callable, so
        ``vm.info()`` works too."""
        native = check_ptr(self._call(ll.smolvm_swig_vm_info))
        try:
            return VMInfo._from_native(native)
        finally:
            ll.smolvm_swig_vm_info_free(native)

    @property
    def status(self) -> VMState:
        """The VM's state, read fresh, as a :class:`VMState` (a ``str``:
        ``vm.status == "running"`` works): created, starting, running,
        paused, stopping, stopped, or error (the C library's "failed")."""
        return self.info.status

    @property
    def ip(self) -> Optional[str]:
        """The guest's address, or None when the VM has no network
        (network="none", the default; "auto", "nftables" or "iptables" give
        it one)."""
        return self.info.ip

    def get_ip(self) -> str:
        """The guest's address; raises :class:`UnsupportedError` when the VM
        has no network (create it with ``network="auto"``)."""
        ip = self.ip
        if ip is None:
            raise UnsupportedError(f"vm '{self.id}' has no network: create it with "
                                   f"network='auto' to give it an address")
        return ip

    @property
    def closed(self) -> bool:
        """True once close() or delete() released this object."""
        return self._h.ptr is None

    def refresh(self: V) -> V:
        """Returns self. Every property is read fresh from the store, so
        there is nothing to reload; kept for code written for the SmolVM
        Python project."""
        self._call(lambda _: None)  # a closed object still says so
        return self

    def can_run_commands(self) -> bool:
        """True when run() can reach the guest now (the VM runs)."""
        return not self.closed and self.status == VMState.RUNNING

    # ---- lifecycle ----

    def start(self: V, boot_timeout: Optional[float] = None) -> V:
        """Boots the VM and returns once its guest agent answers (about
        1-2 s under TCG). A running VM is left as it is, and a paused one
        resumed (the SmolVM Python project's start()). ``boot_timeout``
        (seconds): how long to wait for the guest this time; None: the VM's
        ``boot_timeout_s`` (default 120). Raises :class:`TimeoutError` if it
        did not boot in time. Returns self."""
        ms = _boot_timeout_ms(boot_timeout)
        with self._h.lock:
            status = self.status
            if status == VMState.RUNNING:
                return self
            if status == VMState.PAUSED:
                return self.resume()
            check(self._call(ll.smolvm_swig_vm_start_within, ms))
        return self

    def wait_for_ready(self: V, timeout: float = 60.0) -> V:
        """Returns once a command runs in the guest, waiting up to
        ``timeout`` seconds; :meth:`start` already waits for that, so this
        returns at once for a started VM. Raises :class:`TimeoutError`."""
        deadline = time.monotonic() + _seconds("timeout", timeout)
        while True:
            try:
                if self.can_run_commands() and self._probe(["true"], 5).ok:
                    return self
            except SmolVMError as e:
                if isinstance(e, ConfigError):
                    raise
            if time.monotonic() >= deadline:
                raise TimeoutError(f"vm '{self.id}' was not ready within {timeout} s "
                                   f"(state {self.status})")
            time.sleep(0.1)

    def wait_for_ssh(self: V, timeout: float = 60.0) -> V:
        """:meth:`wait_for_ready` under the SmolVM Python project's name:
        commands reach the guest through its agent, not SSH, so this waits
        until a command runs."""
        return self.wait_for_ready(timeout)

    def stop(self: V, timeout: float = 3.0) -> V:
        """Asks the guest to shut down, waits up to ``timeout`` seconds,
        then forces it off. Stopping a stopped VM does nothing. Returns
        self."""
        ms = max(1, int(_seconds("timeout", timeout, 3600) * 1000))
        check(self._call(ll.smolvm_swig_vm_stop, ms))
        return self

    def pause(self: V) -> V:
        """Stops the guest's vCPUs: its clock and processes stand still,
        its memory, disk and network stay (status "paused"). Commands and
        file transfers raise :class:`VMStateError` until :meth:`resume`;
        :meth:`stop` and :meth:`delete` work. Raises :class:`VMStateError`
        naming the state if the VM is not running (a paused one included).
        Returns self."""
        check(self._call(ll.smolvm_swig_vm_pause))
        return self

    def resume(self: V) -> V:
        """Lets a paused VM run again where it stood. Raises
        :class:`VMStateError` naming the state if it is not paused. Returns
        self."""
        check(self._call(ll.smolvm_swig_vm_resume))
        return self

    def snapshot(self, snapshot_id: Optional[str] = None, *, name: Optional[str] = None,
                 stop: bool = False, resume_source: bool = False, snapshot_type: Any = None,
                 capture_policy: Any = None, flush_policy: Any = None,
                 timeout_seconds: Any = None, max_bytes_per_second: Any = None) -> SnapshotInfo:
        """Saves the VM's memory, device state and disk (a running or paused
        VM) and returns the snapshot's :class:`SnapshotInfo`. A running
        guest's file systems are synced first; the VM stands still while it
        is saved.

        Afterwards the VM is, as in the SmolVM Python project, left paused
        (:meth:`resume` or :meth:`start` lets it run on); with
        ``resume_source=True`` it runs on, with ``stop=True`` it is stopped.
        ``snapshot_id`` (the project's) or ``name`` (ours) names the
        snapshot: ``[a-z0-9][a-z0-9._-]{0,62}``, unique; its id is
        generated either way. ``snapshot_type="full"``, the policies
        ``"allow-pause"``/``"required"``: what SmolVM does; other values,
        ``timeout_seconds`` and ``max_bytes_per_second`` raise
        :class:`UnsupportedError`. Raises :class:`VMStateError` naming the
        state for a VM that is neither running nor paused,
        :class:`UnsupportedError` for a shared disk or a VM with a network,
        :class:`SnapshotAlreadyExistsError` for a name in use. A failure
        leaves no snapshot and the VM as it was."""
        check_snapshot_options(snapshot_type, capture_policy, flush_policy, timeout_seconds,
                               max_bytes_per_second)
        label = snapshot_name(snapshot_id, name)
        if stop and resume_source:
            raise ConfigError("stop=True and resume_source=True: the VM cannot both stop and "
                              "run on after its snapshot; give one of them")

        def take(stop_after: bool) -> str:
            def fill(opts: Any) -> str:
                if label is not None:
                    check(ll.smolvm_swig_snapshot_opts_set_str(opts, "name", label))
                check(ll.smolvm_swig_snapshot_opts_set_u32(opts, "stop", 1 if stop_after else 0))
                with snapshot_errors(label or "", missing=False):
                    buf = check_ptr(self._call(ll.smolvm_swig_vm_snapshot, opts))
                try:
                    return ll.smolvm_swig_buf_bytes(buf).decode("utf-8")
                finally:
                    ll.smolvm_swig_buf_free(buf)

            return with_builder(ll.smolvm_swig_snapshot_opts_new,
                                ll.smolvm_swig_snapshot_opts_free, fill)

        with self._h.lock:
            if stop or resume_source or self.status != VMState.RUNNING:
                snap = take(stop)  # the library leaves a paused VM paused
            else:
                snap = self._snapshot_left_paused(take)
        return get_snapshot(snap, self._h.runtime)

    def _snapshot_left_paused(self, take: Callable[[bool], str]) -> str:
        """take() of the running VM, synced and paused first, so that it
        stays paused; a failure lets it run again."""
        synced = self._probe(["sync"], 60)
        if not synced.ok:
            raise SmolVMError(f"vm '{self.id}': sync in the guest before the snapshot exited "
                              f"with {synced.exit_code}: {synced.stderr.strip()}",
                              {"vm_id": self.id})
        self.pause()
        try:
            return take(False)
        except BaseException:
            with contextlib.suppress(SmolVMError):
                self.resume()
            raise

    @classmethod
    def from_snapshot(cls: Type[V], snapshot_id: Any, *, resume_vm: bool = False,
                      vm_id: Optional[str] = None, vcpu_count: Optional[int] = None,
                      mem_size_mib: Optional[int] = None, memory: Optional[int] = None,
                      force: bool = False, backend: Optional[str] = None,
                      comm_channel: Optional[str] = None, boot_timeout: Optional[float] = None,
                      runtime: Optional[Runtime] = None, ttl_s: Optional[int] = None,
                      on_ttl: Optional[str] = None, idle_timeout_s: Optional[int] = None,
                      on_idle: Optional[str] = None, **compat: Any) -> V:
        """Records a new VM from a snapshot (by id, name or
        :class:`SnapshotInfo`): its own id (``vm_id``, else generated),
        disk, token and cgroup, its disk a copy-on-write layer on the
        snapshot's. Its first :meth:`start` (or the ``with`` block) loads
        the snapshot instead of booting: the guest runs on from the moment
        it was saved, with its RNG reseeded and its clock set from the
        host's. ``resume_vm=True`` starts it here (within ``boot_timeout``
        seconds). As :class:`SmolVM`'s constructor, the object owns the VM
        it made.

        ``vcpu_count`` and ``mem_size_mib`` (``memory``) must equal the
        snapshot's if given (:class:`ConfigError` naming the mismatch), as
        must ``backend`` and ``comm_channel``. ``force`` is accepted: every
        restore makes a new VM, so a snapshot can be restored any number of
        times. ``data_dir`` and the other options of :meth:`from_id` are
        accepted. ``ttl_s``, ``on_ttl``, ``idle_timeout_s`` and ``on_idle``:
        the new VM's lifetime policy (see :class:`VMConfig`); the source's is
        not carried over. Raises :class:`SnapshotNotFoundError` if there is no such
        snapshot, :class:`VMAlreadyExistsError` if ``vm_id`` is taken; a
        failure leaves no VM."""
        if not isinstance(force, bool):
            raise ConfigError(f"force={force!r}: must be True or False")
        rt = compat_runtime(runtime, **_compat_only(compat))
        snap = get_snapshot(snapshot_id, rt)
        _check_backends(backend, comm_channel, snap.backend, snap.executor,
                        f"snapshot {snap.id} was taken with")
        if memory is not None and mem_size_mib is not None and memory != mem_size_mib:
            raise ConfigError(f"memory={memory!r} and mem_size_mib={mem_size_mib!r}: both set "
                              f"the memory; give one of them")
        mem = mem_size_mib if mem_size_mib is not None else memory

        def fill(opts: Any) -> Any:
            if vm_id is not None:
                check(ll.smolvm_swig_restore_opts_set_str(opts, "vm_id", vm_id))
            for field, value in (("vcpu_count", vcpu_count), ("mem_size_mib", mem),
                                 ("ttl_s", ttl_s), ("idle_timeout_s", idle_timeout_s)):
                if value is not None:
                    check(ll.smolvm_swig_restore_opts_set_u32(opts, field, _u32(field, value)))
            for field, text in (("on_ttl", on_ttl), ("on_idle", on_idle)):
                if text is not None:
                    check(ll.smolvm_swig_restore_opts_set_str(opts, field, _text(field, text)))
            if cls._owns_new_vms:  # bound to this process, as the constructor's
                check(ll.smolvm_swig_restore_opts_set_u32(opts, "delete_with_owner", 1))
            with snapshot_errors(snap.id, name_taken=False):
                return check_ptr(ll.smolvm_swig_vm_create_from_snapshot(rt.handle, snap.id, opts))

        ptr = with_builder(ll.smolvm_swig_restore_opts_new, ll.smolvm_swig_restore_opts_free,
                           fill)
        vm = cls.__new__(cls)
        vm._attach(ptr, rt, owned=cls._owns_new_vms, bound=cls._owns_new_vms)
        if resume_vm:
            try:
                vm.start(boot_timeout)
            except BaseException:
                vm.delete()  # a failed restore leaves nothing
                raise
        return vm

    @classmethod
    def from_image(cls, image: Any, **kwargs: Any) -> Any:
        """A new VM of the named image (``smolvm image ls``), as
        ``cls(image=image, **kwargs)``. The SmolVM Python project's image
        objects are not SmolVM's: anything but a name raises
        :class:`UnsupportedError`."""
        if not isinstance(image, str):
            refuse("from_image", TEMPLATES)
        return cls(image=image, **kwargs)

    @classmethod
    def browser(cls, *args: Any, **kwargs: Any) -> Any:
        """The project's browser sandbox: not available; raises
        :class:`UnsupportedError`."""
        refuse("browser", DESKTOP)

    @classmethod
    def desktop(cls, *args: Any, **kwargs: Any) -> Any:
        """The project's desktop sandbox: not available; raises
        :class:`UnsupportedError`."""
        refuse("desktop", DESKTOP)

    def ssh_commands(self, **kwargs: Any) -> Dict[str, str]:
        """Refused: the VM has no SSH address for the caller; ``smolvm ssh
        ID`` opens a shell in a VM created with ``comm_channel="ssh"``."""
        refuse("ssh_commands", no_ssh_address(self.id))

    @property
    def data_dir(self) -> Path:
        """The VM's own folder (its logs, sockets and disk), the SmolVM
        Python project's ``vm.data_dir``."""
        return Path(self.info.state_dir)

    def delete(self) -> None:
        """Stops the VM if needed and removes its disk, files and record.
        This object is closed afterwards."""
        with self._h.lock:
            check(self._call(ll.smolvm_swig_vm_delete))
            self._h.owned = self._h.bound = False
            self._finalizer()

    def close(self) -> None:
        """Releases this object's handle. The VM itself is untouched: it
        keeps running and any process can attach to it again with
        :meth:`from_id`. Safe to call twice."""
        self._finalizer()

    def __enter__(self: V) -> V:
        """Starts the VM unless it runs already."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self: V) -> V:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.__exit__, *exc)

    async def async_start(self: V, boot_timeout: Optional[float] = None) -> V:
        """:meth:`start` in a worker thread (the event loop keeps running)."""
        return await asyncio.to_thread(self.start, boot_timeout)

    async def async_stop(self: V, timeout: float = 3.0) -> V:
        """:meth:`stop` in a worker thread."""
        return await asyncio.to_thread(self.stop, timeout)

    async def async_delete(self) -> None:
        """:meth:`delete` in a worker thread."""
        await asyncio.to_thread(self.delete)

    async def async_run(self, command: Command, timeout: Optional[float] = _RUN_TIMEOUT_S,
                        shell: str = "login", **kwargs: Any) -> CommandResult:
        """:meth:`run` in a worker thread: the native call releases the GIL,
        so other coroutines and threads go on meanwhile."""
        return await asyncio.to_thread(self.run, command, timeout, shell, **kwargs)

    async def async_wait_for_ready(self: V, timeout: float = 60.0) -> V:
        """:meth:`wait_for_ready` in a worker thread."""
        return await asyncio.to_thread(self.wait_for_ready, timeout)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<{type(self).__name__} id={self.id!r} ({state})>"

    # ---- commands ----

    def run(self, command: Command, timeout: Optional[float] = _RUN_TIMEOUT_S,
            shell: str = "login", *, env: Optional[Mapping[str, str]] = None,
            cwd: Optional[str] = None, stdin: Union[bytes, str, None] = None,
            check: bool = False, raise_on_timeout: bool = True,
            user: Optional[str] = None) -> CommandResult:
        """Runs a command to completion and returns its result.

        Args:
            command: a str is a shell command line (see ``shell``); a list
                is an argv run directly (no shell quoting needed).
            timeout: seconds (default 30, as in the SmolVM Python project)
                after which the command and everything it started (its
                cgroup in the guest, also processes that left its process
                group) is killed; None or 0: no limit. The call returns at
                most a short grace (``SMOLVM_EXEC_GRACE_MS``) later whatever
                the guest does.
            env: variables added to the guest's default environment.
            cwd: working directory in the guest (default ``/``).
            stdin: bytes (or str, as UTF-8) fed to the command's stdin,
                which is empty otherwise.
            check: raise :class:`CommandError` if the exit code is not 0.
            raise_on_timeout: if the timeout killed the command, raise
                :class:`TimeoutError` (default; its ``result`` holds the
                output so far, like ``subprocess.TimeoutExpired``). False:
                return the result with ``timed_out=True`` instead.
            shell: for a str command, ``"login"`` (default: the VM user's
                login shell with -l -c, bash in the default image, so
                ``$((2**40))``, ``[[ ]]`` and ``source`` work) or ``"raw"``
                (POSIX ``/bin/sh -c``).
            user: run as this guest user: a name, a uid or ``"uid:gid"``
                (default: the VM's, root; the default image has ``"user"``,
                uid 1000, whose commands start in its home). An unknown
                user raises :class:`ConfigError` naming it.

        A non-zero exit code is a result, not an error (unless ``check``).
        Raises :class:`VMStateError` if the VM is not running. Callbacks
        (:class:`Callback`) run around it; a veto raises
        :class:`CommandBlockedError` (or whatever the callback raised).
        """
        opts = build_exec_opts(command, timeout=timeout, env=env, cwd=cwd, stdin=stdin,
                               shell=shell, user=user)

        def attempt() -> CommandResult:
            result = self._run_native(opts)
            if result.timed_out and raise_on_timeout:  # an error: on_run_error sees it
                raise TimeoutError(f"command timed out after {timeout} s and was killed: "
                                   f"{describe(command)}", result=result)
            return result

        try:
            ctx = RunContext(vm_id=self.id, command=command, shell=shell, timeout=timeout)
            result = around_run(self._callbacks, ctx, attempt)
        finally:
            ll.smolvm_swig_exec_opts_free(opts)
        if check and not result.ok:
            tail = result.stderr.strip()[-500:]
            raise CommandError(f"command exited with code {result.exit_code}: "
                               f"{describe(command)}" + (f"\n{tail}" if tail else ""),
                               result=result)
        return result

    def _probe(self, argv: List[str], timeout: float) -> CommandResult:
        """A command the binding runs for itself (readiness, a folder
        check): not the user's, so callbacks neither see nor veto it."""
        opts = build_exec_opts(argv, timeout=timeout, shell="raw")
        try:
            return self._run_native(opts)
        finally:
            ll.smolvm_swig_exec_opts_free(opts)

    def _run_native(self, opts: Any) -> CommandResult:
        native = check_ptr(self._call(ll.smolvm_swig_exec_run, opts))
        try:
            return result_from_native(native)
        finally:
            ll.smolvm_exec_result_free(native)

    def add_callback(self: V, callback: "Callback") -> V:
        """Adds a :class:`Callback` after those already given; returns self."""
        self._callbacks.extend(check_callbacks([callback]))
        return self

    def stream(self, command: Command, *, timeout: Optional[float] = None,
               env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None,
               stdin: Union[bytes, str, None] = None,
               keep_stdin_open: bool = False, shell: str = "login",
               user: Optional[str] = None) -> ExecStream:
        """Starts a command and returns an :class:`ExecStream` of its events
        (``"stdout"``/``"stderr"`` chunks as they come, then ``"exit"``).

        It is a pull API: iterate (or call ``next_event``) to receive
        events. ``command``, ``timeout``, ``env``, ``cwd``, ``stdin`` and
        ``shell`` are as for :meth:`run`; a timeout shows as ``timed_out`` on the exit
        event. Stdin is closed after ``stdin`` is sent unless
        ``keep_stdin_open`` (then use ``write_stdin``/``close_stdin``).
        """
        opts = build_exec_opts(command, timeout=timeout, env=env, cwd=cwd, stdin=stdin,
                               shell=shell, user=user)
        stream = self._start_stream(opts, command, ExecStream)
        if not keep_stdin_open:
            stream.close_stdin()
        return stream

    def pty(self, command: Command, *, rows: int = 24, cols: int = 80,
            term: Optional[str] = None, user: Optional[str] = None,
            env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None,
            timeout: Optional[float] = None, shell: str = "login") -> Terminal:
        """Starts a command on a terminal in the guest (rows x cols, TERM
        ``term``, default ``xterm-256color``) and returns its
        :class:`Terminal`: ``write`` types into it, ``read`` returns what it
        shows, ``resize`` changes its size (the program gets SIGWINCH). The
        command is the terminal's session leader: job control, Ctrl-C and
        full-screen programs work. ``user`` runs it as a guest user (a name,
        a uid or ``"uid:gid"``; the default image has ``"user"``, uid 1000).
        Closing the terminal kills the command."""
        opts = build_exec_opts(command, timeout=timeout, env=env, cwd=cwd, shell=shell,
                               user=user, pty=(rows, cols, term))
        return self._start_stream(opts, command, Terminal)

    def shell(self, *, rows: int = 24, cols: int = 80, term: Optional[str] = None,
              user: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
              cwd: Optional[str] = None) -> Terminal:
        """An interactive login shell (bash in the default image) on a
        terminal: :meth:`pty` of it. No SSH or network is needed."""
        return self.pty("command -v bash >/dev/null && exec bash -l || exec /bin/sh -l",
                        rows=rows, cols=cols, term=term, user=user, env=env, cwd=cwd,
                        shell="raw")

    def _start_stream(self, opts: Any, command: Command, kind: Type[S]) -> S:
        """Starts opts on a VM handle of its own (the stream may outlive
        calls on this one); frees opts."""
        rt = self._h.runtime
        try:
            own_vm = check_ptr(self._call(lambda _: ll.smolvm_swig_vm_open(rt.handle, self.id)))
            stream_ptr = ll.smolvm_swig_stream_start(own_vm, opts)
            if stream_ptr is None:
                status = ll.smolvm_swig_last_status()
                ll.smolvm_vm_free(own_vm)
                raise_last(status)
        finally:
            ll.smolvm_swig_exec_opts_free(opts)
        return kind(own_vm, stream_ptr, rt, describe(command))

    # ---- files ----

    def write_file(self, guest_path: str, data: Union[bytes, str], mode: int = 0o644) -> None:
        """Writes bytes (str: UTF-8) to a guest file, creating parents and
        truncating an existing file. ``guest_path`` must be absolute."""
        payload = any_to_bytes(data, "data")
        if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o7777:
            raise ConfigError(f"mode={mode!r}: must be 0..0o7777")
        check(self._call(ll.smolvm_swig_vm_write_file, os.fspath(guest_path),
                         payload, mode))

    def read_file(self, guest_path: str, *, max_bytes: Optional[int] = None,
                  timeout: Optional[float] = None) -> bytes:
        """The whole content of a guest file, at most ``max_bytes`` bytes
        (default 1 GiB) read within ``timeout`` seconds (default 300);
        past either the read stops and raises."""
        bounds = _transfer_bounds(max_bytes, timeout)
        buf = check_ptr(self._call(ll.smolvm_swig_vm_read_file, os.fspath(guest_path), *bounds))
        try:
            return ll.smolvm_swig_buf_bytes(buf)
        finally:
            ll.smolvm_swig_buf_free(buf)

    def put_file(self, local_path: PathArg, guest_path: str, *,
                 max_bytes: Optional[int] = None, timeout: Optional[float] = None) -> None:
        """Copies a host file or folder (recursively) into the guest. A
        FIFO, socket or device is refused; a folder's are not sent."""
        check(self._call(ll.smolvm_swig_vm_put, os.fspath(local_path), os.fspath(guest_path),
                         *_transfer_bounds(max_bytes, timeout)))

    def get_file(self, guest_path: str, local_path: PathArg, *,
                 max_bytes: Optional[int] = None, timeout: Optional[float] = None) -> None:
        """Copies a guest file or folder (recursively) to the host, treating
        what the guest sends as hostile: no owner, setuid/setgid bit or
        special file lands, symlinks are never followed, ``local_path``'s own
        owner and mode never change, and a failed copy leaves nothing. A
        file copied onto an existing folder goes into it. Bounded by
        ``max_bytes`` (default 1 GiB) and ``timeout`` seconds (default 300)."""
        check(self._call(ll.smolvm_swig_vm_get, os.fspath(guest_path), os.fspath(local_path),
                         *_transfer_bounds(max_bytes, timeout)))

    def upload_file(self, local_path: PathArg, guest_path: str, *,
                    make_dirs: bool = True) -> str:
        """Copies a host file into the guest and returns the guest path it
        landed at: a ``guest_path`` ending in ``/`` gets the file's name.
        ``make_dirs``: create missing guest folders (else a missing parent
        raises :class:`NotFoundError`). See :meth:`put_file` for folders
        and bounds."""
        local = os.fspath(local_path)
        dest = guest_path + os.path.basename(local) if guest_path.endswith("/") else guest_path
        parent = posixpath.dirname(dest) or "/"
        if not make_dirs and not self._probe(["test", "-d", parent], 10).ok:
            raise NotFoundError(f"guest folder {parent!r} does not exist "
                                f"(make_dirs=True creates it)")
        self.put_file(local, dest)
        return dest

    def download_file(self, guest_path: str, local_path: PathArg, *,
                      make_dirs: bool = True) -> str:
        """Copies a guest file to the host and returns the host path it
        landed at: a ``local_path`` ending in ``/`` or naming a folder gets
        the file's name. ``make_dirs``: create missing host folders. See
        :meth:`get_file` for what is refused and the bounds."""
        local = os.fspath(local_path)
        if local.endswith(os.sep) or os.path.isdir(local):
            local = os.path.join(local, posixpath.basename(guest_path.rstrip("/")))
        parent = os.path.dirname(local)
        if parent and make_dirs:
            os.makedirs(parent, exist_ok=True)
        self.get_file(guest_path, local)
        return local

    def wait_for_guest_tcp_ports(self, ports: Union[int, Sequence[int]], *,
                                 timeout: float = 30.0, host: str = "127.0.0.1") -> None:
        """Returns once something in the guest listens on every TCP port of
        ``ports`` at ``host`` (or on all addresses), read from the guest's
        /proc/net/tcp and tcp6; raises :class:`TimeoutError` after
        ``timeout`` seconds naming the ports still closed."""
        wanted = {_check_port("ports", p) for p in ([ports] if isinstance(ports, int)
                                                   else ports)}
        deadline = time.monotonic() + _seconds("timeout", timeout)
        while True:
            missing = wanted - listening_ports(self._proc_net_tcp(), host)
            if not missing:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"vm '{self.id}': nothing listens on TCP "
                                   f"{', '.join(map(str, sorted(missing)))} at {host} "
                                   f"after {timeout} s")
            time.sleep(0.1)

    def _proc_net_tcp(self) -> str:
        r = self._probe(["cat", "/proc/net/tcp", "/proc/net/tcp6"], 10)
        return r.stdout

    # ---- environment ----

    def set_env_vars(self, env_vars: Mapping[str, str], *, merge: bool = True) -> List[str]:
        """Sets variables every later command sees (run, stream, all
        shells), kept with the VM across stop/start and for every process
        that attaches to it. ``merge=False`` replaces the whole set.
        Returns the names now set, sorted."""
        with _strlist(env_pairs(env_vars)) as entries:
            check(self._call(ll.smolvm_swig_vm_env_set, entries, 1 if merge else 0))
        return sorted(self.list_env_vars())

    def unset_env_vars(self, keys: Sequence[str]) -> Dict[str, str]:
        """Removes variables; returns the removed ones with their values
        (names that were not set are skipped)."""
        if isinstance(keys, str):
            keys = [keys]
        before = self.list_env_vars()
        names = [k for k in keys if _env_name(k) in before]
        if names:
            with _strlist(names) as items:
                check(self._call(ll.smolvm_swig_vm_env_unset, items))
        return {k: before[k] for k in names}

    def list_env_vars(self) -> Dict[str, str]:
        """The VM's variables (see :meth:`set_env_vars`)."""
        buf = check_ptr(self._call(ll.smolvm_swig_vm_env_list))
        try:
            text = ll.smolvm_swig_buf_bytes(buf).decode("utf-8")
        finally:
            ll.smolvm_swig_buf_free(buf)
        return dict(json.loads(text))

    # ---- network ----

    def expose(self, guest_port: int, host_port: Optional[int] = None,
               host_addr: str = "127.0.0.1", protocol: str = "tcp") -> int:
        """Forwards ``host_addr:host_port`` to ``guest_port`` in the VM and
        returns the host port (``host_port=None`` picks a free one).

        The forward is kept with the VM and applied whenever it runs. Needs a
        VM created with a network (``network="auto"``): without one this
        raises :class:`UnsupportedError`. A host port in use raises
        :class:`SmolVMError` with code ``"EEXISTS"``.
        """
        _check_port("guest_port", guest_port)
        if host_port is not None:
            _check_port("host_port", host_port)
        port = self._call(lambda h: ll.smolvm_swig_vm_expose(
            h, guest_port, host_port or 0, host_addr, protocol))
        return int(check(port))

    def unexpose(self, host_port: int, host_addr: str = "127.0.0.1",
                 protocol: str = "tcp") -> None:
        """Removes the forward from ``host_addr:host_port``."""
        _check_port("host_port", host_port)
        check(self._call(lambda h: ll.smolvm_swig_vm_unexpose(h, host_port, host_addr, protocol)))

    def expose_local(self, guest_port: int, host_port: Optional[int] = None) -> int:
        """:meth:`expose` on 127.0.0.1 (the SmolVM Python project's name):
        returns the host port."""
        return self.expose(guest_port, host_port)

    def unexpose_local(self: V, host_port: int, guest_port: Optional[int] = None) -> V:
        """:meth:`unexpose` of a 127.0.0.1 forward; returns self.
        ``guest_port`` is accepted for compatibility: a host port has one
        forward."""
        self.unexpose(host_port)
        return self


class SmolVM(VM):
    """A microVM for a sandbox, disposable in a ``with`` block or kept for
    later turns: the class to use (the SmolVM Python project's semantics).

    Like :class:`VM` (same options, methods and errors), plus:

    * ``SmolVM(vm_id="x")`` attaches to VM "x" when it exists and creates it
      otherwise: create a workspace once, reattach on later turns.
    * ``with SmolVM() as vm:`` starts the VM and, at the end of the block,
      stops it and deletes it if this object created it; a VM it attached
      to (``from_id``, or an existing ``vm_id``) is stopped and kept.
    * :meth:`close`, garbage collection and interpreter exit never delete:
      they release the handle and the VM keeps running, for
      :meth:`from_id` to find again from any process.
    * While the object is open, a VM it created is bound to this process:
      if the process is killed (SIGTERM, SIGKILL, a crash) before the
      object is closed, the VM's supervisor deletes the VM within about a
      second, so a crashed agent leaks no sandbox. :meth:`detach` lifts
      that binding and the ``with`` block's delete::

        with SmolVM(memory=2048) as vm:          # created, then started
            print(vm.run("free -m").output)
        # stopped and deleted here

        vm = SmolVM()                            # created (not booted)
        vm.start()
        print(vm.run("echo 'Hello from SmolVM'").output)
        vm.close()                               # still running
        SmolVM.from_id(vm.vm_id).delete()
    """

    _owns_new_vms = True

    def __init__(self, config: Optional[VMConfig] = None, *, vm_id: Optional[str] = None,
                 runtime: Optional[Runtime] = None, **options: Any) -> None:
        """As :class:`VM`, except that an existing ``vm_id`` (given here or
        in ``config``) is attached to instead of refused; the other options
        then apply to nothing and must be left out."""
        compat = {k: options.pop(k) for k in COMPAT_OPTIONS if k in options}
        runtime = compat_runtime(runtime, **compat)
        name = vm_id if vm_id is not None else (config.vm_id if config else None)
        if name is not None:
            rt = runtime
            ptr = _open_if_exists(rt, name)
            if ptr is not None:
                self._attach(ptr, rt, owned=False)
                self._callbacks = check_callbacks(options.pop("callbacks", None))
                given = sorted(k for k, v in options.items() if v is not None and v is not False)
                if given:
                    self.close()
                    raise ConfigError(f"vm_id={name!r} exists, so {', '.join(given)} would "
                                      f"not apply: attach without options, or pick a new id")
                return
        super().__init__(config, vm_id=vm_id, runtime=runtime, **options)

    @property
    def owned(self) -> bool:
        """True if this object created the VM (and was not detached): its
        ``with`` block deletes the VM."""
        return self._h.owned

    def detach(self) -> None:
        """Keeps the VM whatever happens to this object or process: the
        ``with`` block no longer deletes it and the process binding is
        lifted. The object stays usable."""
        with self._h.lock:
            check(self._call(ll.smolvm_swig_vm_detach))
            self._h.owned = self._h.bound = False

    def __exit__(self, *exc: object) -> None:
        """Deletes the VM if this object created it; stops (and keeps) a VM
        it attached to. Then releases the handle."""
        with self._h.lock:
            if self.closed:
                return
            try:
                if self._h.owned:
                    self._call(_dispose)
                    self._h.owned = self._h.bound = False
                elif self.status in (VMState.RUNNING, VMState.STARTING):
                    self.stop()
            finally:
                self._finalizer()

    @classmethod
    async def async_create_many(cls, configs: Sequence[Union[VMConfig, Mapping[str, Any]]], *,
                                boot_timeout: float = 60.0,
                                concurrency: Optional[int] = None,
                                **kwargs: Any) -> List["SmolVM"]:
        """Creates and starts one VM per config (a :class:`VMConfig` or a
        dict of keyword options), at most ``concurrency`` at a time (None:
        all at once), each in a worker thread. If any fails, the VMs made
        so far are deleted and the first error is raised."""
        if concurrency is not None and (isinstance(concurrency, bool)
                                        or not isinstance(concurrency, int) or concurrency < 1):
            raise ConfigError(f"concurrency={concurrency!r}: must be a whole number >= 1 "
                              f"or None")
        gate = asyncio.Semaphore(concurrency or max(1, len(configs)))

        def make(cfg: Union[VMConfig, Mapping[str, Any]]) -> "SmolVM":
            vm = (cls(cfg, **kwargs) if isinstance(cfg, VMConfig)
                  else cls(**{**kwargs, **dict(cfg)}))
            try:
                return vm.start(boot_timeout)
            except BaseException:
                vm.delete()
                raise

        async def one(cfg: Union[VMConfig, Mapping[str, Any]]) -> "SmolVM":
            async with gate:
                return await asyncio.to_thread(make, cfg)

        results = await asyncio.gather(*(one(c) for c in configs), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            for r in results:
                if isinstance(r, SmolVM):
                    r.delete()
            raise errors[0]
        return list(results)  # type: ignore[arg-type]


def _compat_only(options: Mapping[str, Any]) -> Dict[str, Any]:
    """options, after checking each is one of COMPAT_OPTIONS (a TypeError
    naming an unknown keyword, as Python's own calls do)."""
    unknown = sorted(set(options) - set(COMPAT_OPTIONS))
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
    return dict(options)


def _check_same_backends(vm: VM, backend: Optional[str], comm_channel: Optional[str]) -> None:
    """Attaching cannot change a VM's backends: a backend or comm_channel
    given must be the VM's own ("auto" matches any)."""
    if backend is None and comm_channel is None:
        return
    info = vm.info
    _check_backends(backend, comm_channel, info.vmm, info.executor,
                    f"vm '{vm.id}' was created with")


def _check_backends(backend: Optional[str], comm_channel: Optional[str], vmm: str,
                    executor: str, made_with: str) -> None:
    """ConfigError unless backend and comm_channel (when given; "auto"
    matches any) name vmm and executor; made_with says whose they are."""
    wanted = VMConfig(backend=backend, comm_channel=comm_channel)
    for name, raw, given, have in (("backend", backend, wanted.vmm, vmm),
                                   ("comm_channel", comm_channel, wanted.executor, executor)):
        if given != "auto" and given != have:
            raise ConfigError(f"{name}={raw!r}: {made_with} {have!r} and keeps it")


def _open_if_exists(rt: Runtime, vm_id: str) -> Any:
    """A handle on vm_id, or None when there is no such VM."""
    if not isinstance(vm_id, str):
        raise ConfigError(f"vm_id={vm_id!r}: must be a string")
    ptr = ll.smolvm_swig_vm_open(rt.handle, vm_id)
    if ptr is not None:
        return ptr
    status = ll.smolvm_swig_last_status()
    if status == ll.SMOLVM_ENOTFOUND:
        return None
    raise_last(status)
    return None


@contextlib.contextmanager
def _strlist(items: Sequence[str]) -> Iterator[Any]:
    """A low-level string list of items, freed after the block."""
    lst = check_ptr(ll.smolvm_swig_strlist_new())
    try:
        for item in items:
            check(ll.smolvm_swig_strlist_add(lst, item))
        yield lst
    finally:
        ll.smolvm_swig_strlist_free(lst)


def _seconds(name: str, value: Any, most: float = 86400.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 < value <= most:
        raise ConfigError(f"{name}={value!r}: must be 0 < seconds <= {most:g}")
    return float(value)


def _boot_timeout_ms(boot_timeout: Optional[float]) -> int:
    """0 (the VM's own boot_timeout_s) or whole milliseconds."""
    if boot_timeout is None:
        return 0
    return max(1, int(_seconds("boot_timeout", boot_timeout, 3600) * 1000))


def _env_name(key: Any) -> str:
    if not isinstance(key, str) or not _ENV_NAME.fullmatch(key):
        raise ConfigError(f"env name {key!r}: must match [A-Za-z_][A-Za-z0-9_]*")
    return key


def env_pairs(env_vars: Mapping[str, str]) -> List[str]:
    """["KEY=VALUE", ...] of a mapping, each name and value checked."""
    if not isinstance(env_vars, Mapping):
        raise ConfigError(f"env_vars={env_vars!r}: must be a dict of str to str")
    pairs = []
    for key, value in env_vars.items():
        if not isinstance(value, str) or "\0" in value:
            raise ConfigError(f"env_vars[{key!r}]={value!r}: values must be strings "
                              f"without NUL")
        pairs.append(f"{_env_name(key)}={value}")
    return pairs


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def listening_ports(proc_net_tcp: str, host: str) -> Set[int]:
    """TCP ports listening at host (or on every address) in the text of
    /proc/net/tcp and /proc/net/tcp6."""
    want = ipaddress.ip_address(host)
    ports: Set[int] = set()
    for line in proc_net_tcp.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[3] != "0A" or ":" not in fields[1]:
            continue  # the header, or not LISTEN
        addr_hex, port_hex = fields[1].rsplit(":", 1)
        try:
            raw = bytes.fromhex(addr_hex)
            # The kernel prints each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            addr = ipaddress.ip_address(words)
            port = int(port_hex, 16)
        except ValueError:
            continue
        mapped = getattr(addr, "ipv4_mapped", None)
        if addr.is_unspecified or addr == want or mapped == want:
            ports.add(port)
    return ports
