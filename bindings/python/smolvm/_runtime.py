"""The runtime: the store of VMs and the plugin registry, one per process
unless you open more (e.g. for another state folder)."""

from __future__ import annotations

import json
import os
import threading
import weakref
from typing import Any, Dict, List, Optional, Union

from ._errors import ConfigError
from ._native import check, check_ptr, closed_error, ll

__all__ = ["Runtime", "default_runtime", "runtime_for"]

PathArg = Union[str, "os.PathLike[str]", None]


def _opt_path(p: PathArg) -> Optional[str]:
    return None if p is None else os.fspath(p)


class Runtime:
    """An open SmolVM runtime (the VM store and the plugins).

    Most programs never make one: every VM uses :func:`default_runtime`,
    opened on first use from the environment (``SMOLVM_STATE_DIR``,
    ``SMOLVM_CACHE_DIR``, ``SMOLVM_PLUGIN_PATH``). Pass ``runtime=`` to
    :class:`~smolvm.SmolVM` to use another one.

    Args:
        state_dir: folder of the store and per-VM state; None: the
            environment's default (``$SMOLVM_STATE_DIR``, else
            ``~/.local/state/smolvm``). Keep it short: VM sockets live
            below it and Unix socket paths must stay under 108 bytes.
        cache_dir: folder of guest images; None: ``~/.cache/smolvm``.
        plugin_path: extra ':'-separated plugin folders searched first.
        store: store plugin name; None: "sqlite".
    """

    def __init__(self, state_dir: PathArg = None, cache_dir: PathArg = None,
                 plugin_path: Optional[str] = None, store: Optional[str] = None) -> None:
        self._ptr = check_ptr(ll.smolvm_swig_runtime_open(
            _opt_path(state_dir), _opt_path(cache_dir), plugin_path, store))
        # Closed when garbage collected; VM objects keep a reference to
        # their runtime, so it outlives them.
        self._finalizer = weakref.finalize(self, ll.smolvm_runtime_close, self._ptr)

    @property
    def handle(self) -> Any:
        """The low-level ``smolvm_runtime*`` (for smolvm.lowlevel calls)."""
        if not self._finalizer.alive:
            raise closed_error("runtime")
        return self._ptr

    def list(self) -> List[str]:
        """Ids of every VM in the store, oldest first."""
        buf = check_ptr(ll.smolvm_swig_runtime_list(self.handle))
        try:
            text = ll.smolvm_swig_buf_bytes(buf).decode("utf-8")
        finally:
            ll.smolvm_swig_buf_free(buf)
        return [line for line in text.split("\n") if line]

    def gc(self) -> int:
        """Reconciles the store with reality after a crash (dead
        supervisors, leftover processes, sockets and folders). Returns how
        many things were repaired."""
        return check(ll.smolvm_swig_runtime_gc(self.handle))

    def doctor(self) -> Dict[str, Any]:
        """What this host offers SmolVM (KVM kind, VMM binaries, guest
        image, network tools, privileges), as the parsed JSON report."""
        buf = check_ptr(ll.smolvm_swig_doctor(self.handle))
        try:
            return json.loads(ll.smolvm_swig_buf_bytes(buf).decode("utf-8"))
        finally:
            ll.smolvm_swig_buf_free(buf)

    def close(self) -> None:
        """Closes the runtime. VM objects using it must be closed first."""
        self._finalizer()

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_default: Optional[Runtime] = None
_default_lock = threading.Lock()


def default_runtime() -> Runtime:
    """The process-wide runtime, opened from the environment on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Runtime()
        return _default


_by_dir: Dict[str, Runtime] = {}


def runtime_for(data_dir: PathArg = None, runtime: Optional[Runtime] = None) -> Runtime:
    """The runtime of the SmolVM Python project's ``data_dir=`` (a state
    folder; one runtime per folder and process), ``runtime`` itself, or the
    default runtime. Giving both raises :class:`ConfigError`."""
    if data_dir is None:
        return runtime or default_runtime()
    if runtime is not None:
        raise ConfigError(f"data_dir={os.fspath(data_dir)!r} and runtime= both pick the "
                          f"state folder: give one of them")
    path = os.path.realpath(os.path.expanduser(os.fspath(data_dir)))
    with _default_lock:
        if path not in _by_dir:
            _by_dir[path] = Runtime(state_dir=path)
        return _by_dir[path]
