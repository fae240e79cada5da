"""SmolVMManager: the SmolVM Python project's low-level manager, on real VMs
(and on a store of its own where a test says so)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
import uuid
from typing import Iterator

import pytest

import smolvm
from smolvm import SmolVM, SmolVMManager, VMConfig, VMState
from smolvm.exceptions import VMNotFoundError


def _name() -> str:
    return "mgr-" + uuid.uuid4().hex[:8]


@pytest.fixture
def data_dir() -> Iterator[str]:
    """A state folder of the test's own (short: sockets live below it)."""
    path = tempfile.mkdtemp(prefix="svd-", dir="/tmp")
    yield path
    for info in SmolVMManager(data_dir=path).list_vms():
        SmolVMManager(data_dir=path).delete(info.vm_id)
    shutil.rmtree(path, ignore_errors=True)


def test_manager_create_start_pause_stop_delete() -> None:
    # The lifecycle of the project's API page of SmolVMManager: create
    # records, start boots, each returns the VM's VMInfo.
    m = SmolVMManager()
    name = _name()
    info = m.create(VMConfig(vm_id=name, memory=256))
    try:
        assert (info.vm_id, info.status, info.pid) == (name, VMState.CREATED, None)
        assert info.config.memory == 256 and info.config.vm_id == name
        assert info.network is None and info.socket_path is None
        assert name in [i.vm_id for i in m.list_vms(status=VMState.CREATED)]
        assert name not in [i.vm_id for i in m.list_vms(status="running")]

        info = m.start(name, boot_timeout=120)
        assert info.status == VMState.RUNNING and info.pid > 0
        with pytest.raises(smolvm.VMStateError, match="running"):
            m.start(name)  # the manager's start refuses a running VM, as the project's
        vm = SmolVM.from_id(name)
        assert vm.run("echo hi").output == "hi"
        vm.close()

        assert m.pause(name).status == VMState.PAUSED
        assert [i.vm_id for i in m.list_vms(VMState.PAUSED)] == [name]
        assert m.resume(name).status == VMState.RUNNING
        info = m.stop(name)
        assert info.status == VMState.STOPPED and info.pid is None
        assert m.stop(name).status == VMState.STOPPED  # a stopped VM is left alone
        assert m.get(name).status == VMState.STOPPED
    finally:
        m.delete(name)
    with pytest.raises(VMNotFoundError):
        m.get(name)
    with pytest.raises(VMNotFoundError):
        SmolVMManager.from_id(name)
    assert name not in smolvm.list_vms()


def test_manager_async() -> None:
    m = SmolVMManager()
    name = _name()

    async def main() -> list:
        seen = [(await m.async_create(VMConfig(vm_id=name))).status]
        seen.append((await m.async_start(name)).status)
        seen.append((await m.async_stop(name)).status)
        await m.async_delete(name)
        return seen

    assert asyncio.run(main()) == [VMState.CREATED, VMState.RUNNING, VMState.STOPPED]
    assert name not in smolvm.list_vms()


def test_manager_reconcile_reports_vms_whose_processes_died() -> None:
    # A real crash: the VM's supervisor and VMM are killed with SIGKILL.
    m = SmolVMManager()
    name = _name()
    m.create(VMConfig(vm_id=name))
    try:
        info = m.start(name)
        for pid in (info.supervisor_pid, info.vmm_pid):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(info.vmm_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        assert m.get(name).status == VMState.ERROR  # a read sees it
        assert name in m.reconcile()
        assert m.get(name).status == VMState.ERROR
        assert name not in m.reconcile()  # nothing left to repair
    finally:
        m.delete(name)


def test_manager_sees_its_data_dir_only(data_dir: str) -> None:
    m = SmolVMManager(data_dir=data_dir)
    assert m.list_vms() == [] and str(m.data_dir) == data_dir
    vm = SmolVM(data_dir=data_dir)  # the same folder through SmolVM
    try:
        assert [i.vm_id for i in m.list_vms()] == [vm.vm_id]
        assert vm.vm_id not in smolvm.list_vms()  # not in the default store
        assert SmolVMManager.from_id(vm.vm_id, data_dir=data_dir).get(vm.vm_id).vm_id == vm.vm_id
        again = SmolVM.from_id(vm.vm_id, data_dir=data_dir)
        assert again.vm_id == vm.vm_id
        again.close()
    finally:
        vm.delete()


def test_manager_check_prerequisites_on_a_host_that_runs_vms() -> None:
    assert SmolVMManager().check_prerequisites() == []


@pytest.mark.novm
def test_manager_refusals_name_the_reason() -> None:
    m = SmolVMManager()
    with pytest.raises(VMNotFoundError):
        m.get_ssh_commands("no-such-vm")
    name = m.create(VMConfig(vm_id=_name())).vm_id
    try:
        with pytest.raises(smolvm.UnsupportedError, match=f"smolvm ssh {name}"):
            m.get_ssh_commands(name)
    finally:
        m.delete(name)
    with pytest.raises(smolvm.UnsupportedError, match="socket_dir='/tmp'.*data_dir="):
        SmolVMManager(socket_dir="/tmp")
    with pytest.raises(smolvm.ConfigError, match="status='sleeping': must be one of"):
        m.list_vms(status="sleeping")
    with pytest.raises(smolvm.ConfigError, match="config=.*must be a VMConfig"):
        m.create({"vm_id": "x"})  # type: ignore[arg-type]
    with pytest.raises(smolvm.ConfigError, match="vm_id=''"):
        m.start("")
    m.close()
    with pytest.raises(smolvm.VMStateError, match="closed"):
        m.get("x")
