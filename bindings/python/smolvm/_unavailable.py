"""Names of the SmolVM Python project for features SmolVM does not offer
(yet): using one raises :class:`UnsupportedError` saying which issue will
provide it and what to use meanwhile, never an AttributeError or ImportError.

``SSH_BOOT_ARGS`` is the exception: it is a real value (see its comment).
"""

from __future__ import annotations

from typing import Any, Dict, NoReturn

from ._errors import UnsupportedError

__all__ = ["SSH_BOOT_ARGS", "ImageBuilder", "DockerRootfsBuilder", "refuse", "unavailable_name",
           "no_ssh_address", "TEMPLATES", "DESKTOP"]

# The SmolVM project passes these kernel arguments to boot its own images with
# an SSH server. SmolVM's default image needs none beyond its own (its guest
# agent and sshd start either way), so the value appended to the kernel
# command line is empty: `VMConfig(boot_args=SSH_BOOT_ARGS)` boots as usual.
SSH_BOOT_ARGS = ""

TEMPLATES = ("SmolVM's named guest images (issue #23, templates) are made with "
              "`smolvm image build` and booted by name: SmolVM(image=NAME); the SmolVM "
              "project's image builder objects are not SmolVM's")
NETWORK = ("egress allow-lists and host folder mounts are not available yet "
            "(issue #20); network='auto' gives a VM NAT, upload_file()/download_file() "
            "copy files in and out")
SSH_CLIENT = ("SmolVM has no Python SSH client: vm.run() reaches the guest through "
               "its agent, and `smolvm ssh ID` opens a shell in a VM created with "
               "comm_channel='ssh'")
HOST = ("SmolVM does not install host software from Python: smolvm.doctor() "
         "reports what the host offers and scripts/install-deps.sh installs it")
DESKTOP = "browser, desktop and macOS sandboxes are not available"

# name -> why it is not here. Module attributes of smolvm resolve through
# unavailable_name(); these names are not in smolvm.__all__.
WHY: Dict[str, str] = {
    "ImageManager": TEMPLATES, "ImageSource": TEMPLATES, "LocalImage": TEMPLATES,
    "S3ImageManifest": TEMPLATES, "S3ImageRef": TEMPLATES, "BootImage": TEMPLATES,
    "DirectKernelBoot": TEMPLATES, "FirmwareBoot": TEMPLATES,
    "ensure_base_kernel_for_backend": TEMPLATES,
    "InternetSettings": NETWORK, "WorkspaceMount": NETWORK,
    "NetworkAttachmentConfig": NETWORK,
    "SSHClient": SSH_CLIENT,
    "HostManager": HOST,
    "BrowserViewport": DESKTOP, "DesktopEndpoint": DESKTOP, "MacOSMachineConfig": DESKTOP,
    "DisplaySandboxProtocol": DESKTOP, "ComputerSandboxProtocol": DESKTOP,
    "ComputerEvent": DESKTOP,
}


def no_ssh_address(vm_id: str) -> str:
    return (f"a VM has no SSH address of its own here; `smolvm ssh {vm_id}` opens a "
            f"shell in a VM created with comm_channel='ssh'")


def refuse(what: str, why: str) -> NoReturn:
    raise UnsupportedError(f"{what}: {why}", {"feature": what})


def unavailable_name(module: str, name: str) -> Any:
    """For a module's ``__getattr__``: raises UnsupportedError for a known
    name of the SmolVM project, AttributeError for anything else."""
    if name in WHY:
        refuse(f"smolvm.{name}", WHY[name])
    raise AttributeError(f"module {module!r} has no attribute {name!r}")


class _Refusing:
    """An object whose every method raises UnsupportedError with ``_why``:
    code can make one (as the project's examples do) and learns at the first
    call what to do instead."""

    _why = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)

        def method(*args: Any, **kwargs: Any) -> NoReturn:
            refuse(f"{type(self).__name__}.{name}", self._why)

        return method


class ImageBuilder(_Refusing):
    """The SmolVM project's image builder (``build_alpine_ssh`` ...). Every
    method raises :class:`UnsupportedError`: ``smolvm image build`` makes
    images (issue #23), and ``SmolVM(image=NAME)`` boots one."""

    _why = TEMPLATES


class DockerRootfsBuilder(_Refusing):
    """The SmolVM project's Dockerfile image builder; see :class:`ImageBuilder`."""

    _why = TEMPLATES
