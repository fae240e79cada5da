"""The SmolVM Python project's constructor options that pick where a VM
lives and how commands reach it (``data_dir``, ``socket_dir``, ``os``, ``qemu_machine``, ``ssh_*``): checked here, each either mapped onto
SmolVM or refused with the reason."""

from __future__ import annotations

import os as _os
from typing import Any, Optional

from ._errors import ConfigError, UnsupportedError
from ._runtime import Runtime, runtime_for

__all__ = ["COMPAT_OPTIONS", "compat_runtime"]

#: The keywords compat_runtime() takes; the constructors pop them first.
COMPAT_OPTIONS = ("data_dir", "socket_dir", "os", "qemu_machine", "ssh_user",
                  "ssh_key_path", "ssh_password")

# What SmolVM has: Debian guests (named images are VMConfig.image).
_GUEST_OS = ("debian",)
_QEMU_MACHINES = ("auto",)
# Commands run as root in the guest until per-command users come (issue #21).
_SSH_USERS = ("root",)


def _one_of(name: str, value: Any, allowed: tuple, why: str) -> None:
    if value is None or value in allowed:
        return
    raise UnsupportedError(f"{name}={value!r}: must be one of "
                           f"{', '.join(map(repr, allowed))} (or left out); {why}",
                           {name: value})


def compat_runtime(runtime: Optional[Runtime], *, data_dir: Any = None,
                   socket_dir: Any = None, os: Any = None,
                   qemu_machine: Any = None, ssh_user: Any = None,
                   ssh_key_path: Any = None, ssh_password: Any = None) -> Runtime:
    """Checks the options and returns the runtime they (or ``runtime``) pick:
    ``data_dir`` is a state folder (as ``Runtime(state_dir=...)``)."""
    if socket_dir is not None:
        raise UnsupportedError(f"socket_dir={_os.fspath(socket_dir)!r}: SmolVM keeps a VM's "
                               f"sockets in its state folder; pick that with data_dir= "
                               f"(a short path: socket paths must stay under 108 bytes)",
                               {"socket_dir": str(socket_dir)})
    _one_of("os", os, _GUEST_OS,
            "SmolVM's images are Debian: the default one and those built from it")
    _one_of("qemu_machine", qemu_machine, _QEMU_MACHINES,
            "the qemu plugin picks the machine type")
    _one_of("ssh_user", ssh_user, _SSH_USERS,
            "commands run as root; other users come with issue #21")
    if ssh_key_path is not None:
        raise UnsupportedError(f"ssh_key_path={_os.fspath(ssh_key_path)!r}: SmolVM makes and "
                               f"keeps an SSH key of each VM's own (comm_channel='ssh'); "
                               f"leave it out", {"ssh_key_path": str(ssh_key_path)})
    if ssh_password is not None:
        raise UnsupportedError("ssh_password: SmolVM logs in with a key of each VM's own, "
                               "never a password; leave it out", {"ssh_password": "<given>"})
    if data_dir is not None and not isinstance(data_dir, (str, _os.PathLike)):
        raise ConfigError(f"data_dir={data_dir!r}: must be a path")
    return runtime_for(data_dir, runtime)
