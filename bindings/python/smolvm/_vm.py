"""VM (persistent) and SmolVM (disposable): the objects users hold."""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any, Callable, Mapping, Optional, Type, TypeVar, Union

from ._config import VMConfig
from ._errors import CommandError, ConfigError, TimeoutError, UnsupportedError
from ._exec import Command, build_exec_opts, describe, result_from_native
from ._native import any_to_bytes, check, check_ptr, closed_error, ll, raise_last
from ._result import CommandResult, VMInfo
from ._runtime import Runtime, default_runtime
from ._stream import ExecStream

__all__ = ["VM", "SmolVM"]

V = TypeVar("V", bound="VM")
_DISPOSE_STOP_MS = 5000
PathArg = Union[str, "os.PathLike[str]"]


class _Handle:
    """The smolvm_vm* of one VM object, and what to do when it goes."""

    __slots__ = ("ptr", "runtime", "owned", "detached", "lock", "vm_id")

    def __init__(self, ptr: Any, runtime: Runtime, owned: bool) -> None:
        self.ptr = ptr
        self.runtime = runtime  # outlives the handle
        self.owned = owned      # delete the VM when released
        self.detached = False   # SmolVM.detach(): the VM outlives everything
        self.lock = threading.RLock()
        self.vm_id: str = ll.smolvm_vm_id(ptr)


def _release(h: _Handle) -> None:
    """Frees the handle; first deletes the VM if the object owns it. Runs
    from close(), from the garbage collector, or at interpreter exit."""
    with h.lock:
        ptr, h.ptr = h.ptr, None
        if ptr is None:
            return
        try:
            if h.owned:
                # A clean shutdown first: it is quick (~0.1 s), and deleting
                # a running VM outright took 5 s in the core at the time of
                # writing. Failures here are left to delete, which forces.
                ll.smolvm_swig_vm_stop(ptr, _DISPOSE_STOP_MS)
                check(ll.smolvm_swig_vm_delete(ptr))
        finally:
            ll.smolvm_vm_free(ptr)


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
                 runtime: Optional[Runtime] = None) -> None:
        """Records a new VM now (not booted; see :meth:`start`).

        ``config`` gives the options, and each keyword that is not None
        overrides its field (see :class:`VMConfig`). ``runtime``: None uses
        :func:`smolvm.default_runtime`. Raises :class:`ConfigError` naming
        the field, value and allowed range, or :class:`SmolVMError` with
        code ``"EEXISTS"`` if ``vm_id`` is taken.
        """
        if config is not None and not isinstance(config, VMConfig):
            raise ConfigError(f"config={config!r}: must be a VMConfig")
        cfg = (config or VMConfig()).merged(
            vm_id=vm_id, vcpu_count=vcpu_count, mem_size_mib=mem_size_mib,
            disk_mode=disk_mode, kernel_path=kernel_path, rootfs_path=rootfs_path,
            boot_args=boot_args, vmm=vmm, executor=executor, network=network,
            accel=accel, boot_timeout_s=boot_timeout_s, disk_size_mib=disk_size_mib)
        rt = runtime or default_runtime()
        opts = cfg._build()
        try:
            if self._owns_new_vms:
                # Bound to this process: if it dies without closing the
                # object (SIGTERM, SIGKILL), the VM's supervisor deletes it.
                check(ll.smolvm_swig_vm_opts_set_u32(opts, "delete_with_owner", 1))
            ptr = check_ptr(ll.smolvm_swig_vm_create(rt.handle, opts))
        finally:
            ll.smolvm_swig_vm_opts_free(opts)
        self._attach(ptr, rt, owned=self._owns_new_vms)

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
    def from_id(cls: Type[V], vm_id: str, *, runtime: Optional[Runtime] = None) -> V:
        """Attaches to an existing VM by id, from any process
        (``smolvm_vm_open``). Raises :class:`NotFoundError` if there is none.
        The object does not own the VM: closing it leaves the VM alone."""
        if not isinstance(vm_id, str):
            raise ConfigError(f"vm_id={vm_id!r}: must be a string")
        rt = runtime or default_runtime()
        ptr = check_ptr(ll.smolvm_swig_vm_open(rt.handle, vm_id))
        vm = cls.__new__(cls)
        vm._attach(ptr, rt, owned=False)
        return vm

    def _attach(self, ptr: Any, runtime: Runtime, owned: bool) -> None:
        self._h = _Handle(ptr, runtime, owned)
        self._finalizer = weakref.finalize(self, _release, self._h)

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

    def info(self) -> VMInfo:
        """The VM's record, read fresh from the store."""
        native = check_ptr(self._call(ll.smolvm_swig_vm_info))
        try:
            return VMInfo._from_native(native)
        finally:
            ll.smolvm_swig_vm_info_free(native)

    @property
    def status(self) -> str:
        """The VM's state, read fresh: "created", "starting", "running",
        "paused", "stopping", "stopped" or "failed"."""
        return self.info().state

    @property
    def ip(self) -> Optional[str]:
        """The guest's address, or None when the VM has no network
        (network="none", the default; "auto", "nftables" or "iptables" give
        it one)."""
        return self.info().ip

    @property
    def closed(self) -> bool:
        """True once close() or delete() released this object."""
        return self._h.ptr is None

    # ---- lifecycle ----

    def start(self) -> "VM":
        """Boots the VM and returns once its guest agent answers (about
        1-2 s under TCG). Raises :class:`VMStateError` if it is running
        already, :class:`TimeoutError` if it did not boot within
        ``boot_timeout_s``. Returns self."""
        check(self._call(ll.smolvm_swig_vm_start))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Asks the guest to shut down, waits up to ``timeout`` seconds,
        then forces it off. Stopping a stopped VM does nothing."""
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
                or not 0 < timeout <= 3600:
            raise ConfigError(f"timeout={timeout!r}: must be 0 < seconds <= 3600")
        check(self._call(ll.smolvm_swig_vm_stop, max(1, int(timeout * 1000))))

    def pause(self) -> None:
        """Stops the guest's vCPUs: its clock and processes stand still,
        its memory, disk and network stay (status "paused"). Commands and
        file transfers raise :class:`VMStateError` until :meth:`resume`;
        :meth:`stop` and :meth:`delete` work. Raises :class:`VMStateError`
        naming the state if the VM is not running (a paused one included)."""
        check(self._call(ll.smolvm_swig_vm_pause))

    def resume(self) -> None:
        """Lets a paused VM run again where it stood. Raises
        :class:`VMStateError` naming the state if it is not paused."""
        check(self._call(ll.smolvm_swig_vm_resume))

    def delete(self) -> None:
        """Stops the VM if needed and removes its disk, files and record.
        This object is closed afterwards."""
        with self._h.lock:
            check(self._call(ll.smolvm_swig_vm_delete))
            self._h.owned = False
            self._finalizer()

    def close(self) -> None:
        """Releases this object's handle. The VM itself is untouched (a
        :class:`SmolVM` that owns its VM deletes it instead)."""
        self._finalizer()

    def __enter__(self: V) -> V:
        """Starts the VM unless it runs already."""
        if self.status != "running":
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<{type(self).__name__} id={self.id!r} ({state})>"

    # ---- commands ----

    def run(self, command: Command, *, timeout: Optional[float] = None,
            env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None,
            stdin: Union[bytes, str, None] = None, check: bool = False,
            raise_on_timeout: bool = True, shell: str = "login") -> CommandResult:
        """Runs a command to completion and returns its result.

        Args:
            command: a str is a shell command line (see ``shell``); a list
                is an argv run directly (no shell quoting needed).
            timeout: seconds after which the command and everything it
                started (its cgroup in the guest, also processes that left
                its process group) is killed; None: no limit. The call
                returns at most a short grace (``SMOLVM_EXEC_GRACE_MS``)
                later whatever the guest does.
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

        A non-zero exit code is a result, not an error (unless ``check``).
        Raises :class:`VMStateError` if the VM is not running.
        """
        opts = build_exec_opts(command, timeout=timeout, env=env, cwd=cwd, stdin=stdin,
                               shell=shell)
        try:
            native = check_ptr(self._call(ll.smolvm_swig_exec_run, opts))
        finally:
            ll.smolvm_swig_exec_opts_free(opts)
        try:
            result = result_from_native(native)
        finally:
            ll.smolvm_exec_result_free(native)
        if result.timed_out and raise_on_timeout:
            raise TimeoutError(f"command timed out after {timeout} s and was killed: "
                               f"{describe(command)}", result=result)
        if check and not result.ok:
            tail = result.stderr.strip()[-500:]
            raise CommandError(f"command exited with code {result.exit_code}: "
                               f"{describe(command)}" + (f"\n{tail}" if tail else ""),
                               result=result)
        return result

    def stream(self, command: Command, *, timeout: Optional[float] = None,
               env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None,
               stdin: Union[bytes, str, None] = None,
               keep_stdin_open: bool = False, shell: str = "login") -> ExecStream:
        """Starts a command and returns an :class:`ExecStream` of its events
        (``"stdout"``/``"stderr"`` chunks as they come, then ``"exit"``).

        It is a pull API: iterate (or call ``next_event``) to receive
        events. ``command``, ``timeout``, ``env``, ``cwd``, ``stdin`` and
        ``shell`` are as for :meth:`run`; a timeout shows as ``timed_out`` on the exit
        event. Stdin is closed after ``stdin`` is sent unless
        ``keep_stdin_open`` (then use ``write_stdin``/``close_stdin``).
        """
        opts = build_exec_opts(command, timeout=timeout, env=env, cwd=cwd, stdin=stdin,
                               shell=shell)
        rt = self._h.runtime
        try:
            # A handle of its own: the stream may outlive calls on this one.
            own_vm = check_ptr(self._call(lambda _: ll.smolvm_swig_vm_open(rt.handle, self.id)))
            stream_ptr = ll.smolvm_swig_stream_start(own_vm, opts)
            if stream_ptr is None:
                status = ll.smolvm_swig_last_status()
                ll.smolvm_vm_free(own_vm)
                raise_last(status)
        finally:
            ll.smolvm_swig_exec_opts_free(opts)
        stream = ExecStream(own_vm, stream_ptr, rt, describe(command))
        if not keep_stdin_open:
            stream.close_stdin()
        return stream

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


class SmolVM(VM):
    """A disposable microVM: the one to use for throwaway sandboxes.

    Like :class:`VM` (same options, methods and errors), but the object owns
    the VM it creates: :meth:`close`, the end of a ``with`` block, garbage
    collection or interpreter exit stop and delete it, disk included. The VM
    is bound to this process: if the process ends any other way (SIGTERM,
    SIGKILL, a crash), the VM's supervisor deletes it within about a second.
    A child made with ``os.fork()`` (``multiprocessing``'s default) keeps
    the binding alive until it exits or execs. :meth:`detach` keeps the
    VM::

        with SmolVM(mem_size_mib=2048) as vm:   # created, then started
            print(vm.run("free -m").output)
        # stopped and deleted here

        vm = SmolVM()                           # created (not booted)
        vm.start()
        print(vm.run("echo 'Hello from SmolVM'").output)
        vm.stop()                               # deleted on close()/exit

    :meth:`from_id` attaches without owning: closing that object leaves
    the VM alone, but a ``with`` block still deletes it at its end.
    """

    _owns_new_vms = True

    @property
    def owned(self) -> bool:
        """True if releasing this object deletes the VM."""
        return self._h.owned

    def detach(self) -> None:
        """Keeps the VM: it becomes an ordinary VM that outlives this object
        and this process (attach to it later with :meth:`from_id`). The
        object stays usable; closing it no longer deletes the VM."""
        with self._h.lock:
            check(self._call(ll.smolvm_swig_vm_detach))
            self._h.owned = False
            self._h.detached = True

    def close(self) -> None:
        """Stops and deletes the VM if this object owns it, then releases
        the handle. Safe to call twice."""
        self._finalizer()

    def __exit__(self, *exc: object) -> None:
        """Stops and deletes the VM, whoever created it (unless detached)."""
        with self._h.lock:
            self._h.owned = not self._h.detached
            self._finalizer()
