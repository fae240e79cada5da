"""Snapshots from Python: vm.snapshot(), SmolVM.from_snapshot(), the
module's list/get/delete_snapshot and the manager's snapshot methods, on
real VMs (one source booted once; each restore loads its snapshot)."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Iterator

import pytest

import smolvm
from smolvm import (SmolVM, SmolVMManager, SnapshotAlreadyExistsError, SnapshotInfo,
                    SnapshotNotFoundError, SnapshotType, VMState)


def _name(prefix: str = "snap") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def source() -> Iterator[SmolVM]:
    """The VM snapshots are taken of: small, so that each save is quick.
    Every test leaves it running."""
    with SmolVM(mem_size_mib=256, vcpu_count=1) as vm:
        yield vm


@pytest.fixture
def cleanup() -> Iterator[list]:
    """Snapshots (ids or names) to delete after the test, in that order."""
    names: list = []
    yield names
    for name in names:
        try:
            smolvm.delete_snapshot(name)
        except SnapshotNotFoundError:
            pass


def test_snapshot_is_left_paused_and_a_restore_sees_what_was_written_before_it(
        source: SmolVM, cleanup: list) -> None:
    name = _name()
    cleanup.append(name)
    source.write_file("/root/before", b"kept")
    began = datetime.now(timezone.utc)
    snap = source.snapshot(snapshot_id=name)
    took = (datetime.now(timezone.utc) - began).total_seconds()
    print(f"snapshot of a 256 MiB guest took {took:.2f} s, state {snap.state_bytes} bytes")
    # As in the SmolVM Python project, the source stays paused afterwards.
    assert source.status == VMState.PAUSED
    assert isinstance(snap, SnapshotInfo)
    assert snap.snapshot_id == name == snap.name and snap.id.startswith("snap-")
    assert snap.vm_id == source.vm_id and snap.backend == "qemu"
    assert snap.snapshot_type is SnapshotType.FULL and snap.network_config is None
    assert snap.artifacts.disk_path.is_file() and snap.artifacts.state_path.is_file()
    assert snap.artifacts.memory_path is None and snap.disk_path == snap.artifacts.disk_path
    assert began.timestamp() - 1 <= snap.created_at.timestamp() <= time.time() + 1
    assert (snap.vm_config.mem_size_mib, snap.vm_config.vcpu_count) == (256, 1)
    assert snap.state_bytes > 0 and not snap.restored and snap.restored_vm_id is None

    source.resume()
    source.write_file("/root/after", b"later")
    restored = SmolVM.from_snapshot(name)
    assert restored.status == VMState.CREATED and restored.owned
    assert restored.vm_id != source.vm_id
    with restored:  # start() restores
        assert restored.run("cat /root/before").output == "kept"
        assert not restored.run("test -e /root/after").ok
        record = smolvm.get_snapshot(name)
        assert record.restored and record.restored_vm_id == restored.vm_id
        # Its disk is in use: the snapshot stays, and the error names the VM.
        with pytest.raises(smolvm.VMStateError, match=restored.vm_id):
            smolvm.delete_snapshot(name)
    assert restored.vm_id not in smolvm.list_vms()
    smolvm.delete_snapshot(snap)  # a SnapshotInfo names it too
    with pytest.raises(SnapshotNotFoundError) as missing:
        smolvm.get_snapshot(name)
    assert isinstance(missing.value, smolvm.NotFoundError) and name in str(missing.value)
    assert name not in [s.snapshot_id for s in smolvm.list_snapshots()]
    assert source.run("cat /root/after").output == "later"


def test_resume_source_runs_on_and_stop_stops(source: SmolVM, cleanup: list) -> None:
    running = source.snapshot(resume_source=True)
    cleanup.append(running.id)
    assert source.status == VMState.RUNNING and source.run("true").ok
    assert running.name == "" and running.snapshot_id == running.id
    with pytest.raises(SnapshotAlreadyExistsError, match=running.id):
        source.snapshot(name=running.id)
    assert source.status == VMState.RUNNING  # a refused snapshot leaves it as it was
    stopped = source.snapshot(name=_name(), stop=True)
    cleanup.append(stopped.id)
    try:
        assert source.status == VMState.STOPPED
        with pytest.raises(smolvm.VMStateError, match="is stopped: only a running or paused"):
            source.snapshot()
        ids = [s.id for s in smolvm.list_snapshots(vm_id=source.vm_id)]
        assert ids == [running.id, stopped.id]  # oldest first
    finally:
        source.start()


def test_from_snapshot_with_resume_vm_runs_and_mismatches_are_refused(
        source: SmolVM, cleanup: list) -> None:
    snap = source.snapshot(resume_source=True)
    cleanup.append(snap.id)
    before = smolvm.list_vms()
    for options, message in ((dict(mem_size_mib=1024), "mem_size_mib=1024: snapshot"),
                             (dict(memory=1024), "mem_size_mib=1024: snapshot"),
                             (dict(vcpu_count=2), "vcpu_count=2: snapshot"),
                             (dict(backend="firecracker"), "backend='firecracker'"),
                             (dict(comm_channel="ssh"), "comm_channel='ssh'"),
                             (dict(ttl_s=2592001), "ttl_s=2592001: must be 0..2592000"),
                             (dict(on_idle="sleep"), "on_idle='sleep'")):
        with pytest.raises(smolvm.ConfigError, match=message):
            SmolVM.from_snapshot(snap.id, **options)
    with pytest.raises(SnapshotNotFoundError, match="no-such-snapshot"):
        SmolVM.from_snapshot("no-such-snapshot")
    with pytest.raises(smolvm.VMAlreadyExistsError) as taken:
        SmolVM.from_snapshot(snap.id, vm_id=source.vm_id)
    assert not isinstance(taken.value, SnapshotAlreadyExistsError)
    assert smolvm.list_vms() == before  # nothing was left by a refusal

    vm = SmolVM.from_snapshot(snap.id, resume_vm=True, vm_id=_name("restored"),
                              memory=256, force=True, ttl_s=3600, on_ttl="stop",
                              idle_timeout_s=300)
    try:
        assert vm.status == VMState.RUNNING and vm.run("echo restored").output == "restored"
        # Its own lifetimes (the source has none to carry over).
        info = vm.info
        assert (info.ttl_s, info.on_ttl, info.idle_timeout_s, info.on_idle) == (
            3600, "stop", 300, "pause")
    finally:
        vm.delete()


def test_manager_snapshot_methods(source: SmolVM, cleanup: list) -> None:
    name = _name()
    cleanup.append(name)
    with SmolVMManager() as sdk:
        snap = sdk.create_snapshot(source.vm_id, name, resume_source=True)
        assert snap.snapshot_id == name and source.status == VMState.RUNNING
        assert [s.snapshot_id for s in sdk.list_snapshots(source.vm_id)][-1] == name
        assert sdk.list_snapshots("no-such-vm") == []
        assert sdk.get_snapshot(name).id == snap.id
        info = sdk.restore_snapshot(name, resume_vm=True)
        try:
            assert info.status == VMState.RUNNING and info.vm_id != source.vm_id
            assert sdk.get_snapshot(name).restored_vm_id == info.vm_id
        finally:
            sdk.delete(info.vm_id)
        sdk.delete_snapshot(name)
        with pytest.raises(SnapshotNotFoundError):
            sdk.get_snapshot(name)
    with pytest.raises(smolvm.VMStateError, match="closed"):
        sdk.list_snapshots()


@pytest.mark.novm
def test_options_smolvm_cannot_honour_are_refused_naming_the_value() -> None:
    vm = SmolVM()
    try:
        for options, message in (
                (dict(snapshot_type="disk"), r"snapshot_type='disk': must be 'full'"),
                (dict(snapshot_type=SnapshotType.DIFF), r"snapshot_type=.*diff.*must be 'full'"),
                (dict(capture_policy="live-only"), r"capture_policy='live-only': must be "
                                                   r"'allow-pause'"),
                (dict(flush_policy="skip"), r"flush_policy='skip': must be 'required'"),
                (dict(timeout_seconds=60), r"timeout_seconds=60: .*leave it out"),
                (dict(max_bytes_per_second=1 << 20), r"max_bytes_per_second=1048576")):
            with pytest.raises(smolvm.UnsupportedError, match=message):
                vm.snapshot(**options)
        with pytest.raises(smolvm.ConfigError, match="snapshot_id='a' and name='b'"):
            vm.snapshot("a", name="b")
        with pytest.raises(smolvm.ConfigError, match="stop=True and resume_source=True"):
            vm.snapshot(stop=True, resume_source=True)
        # What SmolVM does is accepted; a VM that never ran cannot be saved.
        with pytest.raises(smolvm.VMStateError, match="is created: only a running or paused"):
            vm.snapshot(snapshot_type="full", capture_policy="allow-pause",
                        flush_policy=smolvm.GuestFlushPolicy.REQUIRED)
        with pytest.raises(smolvm.ConfigError, match="name='Bad Name'"):
            vm.snapshot(name="Bad Name", resume_source=True)
    finally:
        vm.delete()
    with pytest.raises(smolvm.ConfigError, match="snapshot_id=''"):
        smolvm.delete_snapshot("")
    with pytest.raises(SnapshotNotFoundError):
        smolvm.delete_snapshot("no-such-snapshot")


@pytest.mark.novm
def test_the_projects_snapshot_names_are_real() -> None:
    from smolvm.types import GuestFlushPolicy, SnapshotArtifacts, SnapshotCapturePolicy
    assert smolvm.types.SnapshotInfo is SnapshotInfo
    assert [t.value for t in SnapshotType] == ["full", "diff", "disk"]
    assert SnapshotCapturePolicy("allow-pause") is SnapshotCapturePolicy.ALLOW_PAUSE
    assert GuestFlushPolicy.REQUIRED == "required"
    assert SnapshotArtifacts(disk_path="d").state_path is None
