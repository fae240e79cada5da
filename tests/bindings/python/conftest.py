"""Fixtures for the Python binding tests. They boot real VMs (few, shared).

Run from a CMake build (ctest sets PYTHONPATH), or by hand:
    PYTHONPATH=<build>/bindings/python python3 -m pytest -v tests/bindings/python

Every test runs against a private state folder, /tmp/svpy-XXXXXX, set in
SMOLVM_STATE_DIR before smolvm opens its runtime: short, because VM sockets
live below it and Unix socket paths must stay under 108 bytes.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

STATE_DIR = tempfile.mkdtemp(prefix="svpy-", dir="/tmp")
os.environ["SMOLVM_STATE_DIR"] = STATE_DIR

import smolvm  # noqa: E402  (after SMOLVM_STATE_DIR is set)


def _image_dir() -> Path:
    cache = os.environ.get("SMOLVM_CACHE_DIR") or str(Path.home() / ".cache" / "smolvm")
    return Path(cache) / "images" / "default"


def _skip_reason() -> str:
    """Why VMs cannot boot here, or "" if they can."""
    if not (_image_dir() / "manifest.json").is_file():
        return f"no guest image in {_image_dir()} (run `smolvm image build`)"
    if shutil.which("qemu-system-x86_64") is None:
        return "qemu-system-x86_64 is not installed"
    return ""


SKIP_REASON = _skip_reason()


def pytest_report_header(config: pytest.Config) -> list:
    lines = [f"smolvm {smolvm.__version__} from {Path(smolvm.__file__).parent}",
             f"SMOLVM_STATE_DIR={STATE_DIR}"]
    if SKIP_REASON:
        lines.append(f"VM tests SKIPPED: {SKIP_REASON}")
    return lines


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if SKIP_REASON:
        print(f"\nskipping VM tests: {SKIP_REASON}", file=sys.stderr)
        for item in items:
            if "novm" not in item.keywords:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.fixture(scope="session", autouse=True)
def _state_dir() -> Iterator[str]:
    """The private store; at the end no VM may be left in it."""
    yield STATE_DIR
    left = smolvm.list_vms()
    for vm_id in left:  # clean up, then report
        try:
            smolvm.VM.from_id(vm_id).delete()
        except smolvm.SmolVMError:
            pass
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    assert not left, f"tests left VMs behind: {left}"


@pytest.fixture(scope="session")
def vm(_state_dir: str) -> Iterator[smolvm.SmolVM]:
    """One booted VM shared by most tests (they must not break it). It
    depends on _state_dir so that it is deleted before that checks for
    leftovers, also when the last test does not use it."""
    with smolvm.SmolVM(vcpu_count=2, mem_size_mib=512) as machine:
        yield machine


@pytest.fixture
def child_env() -> dict:
    """Environment for a second Python process that imports smolvm."""
    env = dict(os.environ)
    pkg_root = str(Path(smolvm.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = pkg_root + os.pathsep + env.get("PYTHONPATH", "")
    return env
