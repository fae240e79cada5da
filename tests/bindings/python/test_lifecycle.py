"""Lifecycle: identity, status, attach from another process, SmolVM vs VM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import smolvm
from smolvm import VM, SmolVM, VMConfig


def test_identity_status_and_info(vm: SmolVM) -> None:
    assert vm.id.startswith("vm-") and len(vm.id) == 11
    assert vm.status == "running"
    info = vm.info()
    assert info.id == vm.id and info.state == "running"
    assert (info.vcpu_count, info.mem_size_mib, info.disk_mode) == (2, 512, "isolated")
    # No disk_size_mib asked: the disk is the image's size.
    assert info.disk_size_mib == (os.path.getsize(info.rootfs_path) + (1 << 20) - 1) >> 20
    assert info.vmm == "qemu" and info.accel in ("kvm", "tcg")
    assert info.supervisor_pid > 0 and info.started_at_ms >= info.created_at_ms
    assert vm.ip is None and info.network_backend == "none" and info.network is None
    assert vm.id in smolvm.list_vms()
    assert vm.owned and not vm.closed


def test_pause_and_resume(vm: SmolVM) -> None:
    vm.write_file("/tmp/before-pause", b"kept")
    assert vm.pause() is vm
    try:
        assert vm.status == "paused"
        with pytest.raises(smolvm.VMStateError, match="is paused: resume it first") as refused:
            vm.run("true")
        assert refused.value.code == "ESTATE"
        with pytest.raises(smolvm.VMStateError, match="is paused: only a running VM can be paused"):
            vm.pause()
    finally:
        assert vm.resume() is vm
    assert vm.status == "running"
    assert vm.read_file("/tmp/before-pause") == b"kept"
    with pytest.raises(smolvm.VMStateError, match="is running: only a paused VM can be resumed"):
        vm.resume()


def test_reattach_from_another_process(vm: SmolVM, child_env: dict) -> None:
    vm.write_file("/tmp/marker", b"from parent")
    script = (
        "import sys, smolvm\n"
        "vm = smolvm.SmolVM.from_id(sys.argv[1])\n"
        "assert not vm.owned\n"
        "print(vm.status)\n"
        "print(vm.run('cat /tmp/marker').stdout)\n"
        "vm.write_file('/tmp/marker2', b'from child')\n"
        "vm.close()\n")  # not owned: the VM must survive this
    child = subprocess.run([sys.executable, "-c", script, vm.id], env=child_env,
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split("\n")[:2] == ["running", "from parent"]
    assert vm.status == "running"
    assert vm.read_file("/tmp/marker2") == b"from child"


def test_from_id_of_a_missing_vm() -> None:
    with pytest.raises(smolvm.NotFoundError, match="vm-00000000") as info:
        SmolVM.from_id("vm-00000000")
    assert info.value.code == "ENOTFOUND" and info.value.status == -3
    assert isinstance(info.value, LookupError)


def test_bad_config_names_field_value_and_range() -> None:
    before = smolvm.list_vms()
    with pytest.raises(smolvm.ConfigError) as info:
        SmolVM(mem_size_mib=64)
    err = info.value
    assert "mem_size_mib=64" in str(err) and "128..16384" in str(err)
    assert (err.code, err.status) == ("EINVAL", -2)
    assert isinstance(err, ValueError) and isinstance(err, smolvm.SmolVMError)
    with pytest.raises(smolvm.ConfigError) as small:
        SmolVM(disk_size_mib=100)
    assert "disk_size_mib=100: must be at least the image's size" in str(small.value)
    with pytest.raises(smolvm.ConfigError, match="disk_mode='bogus'.*isolated"):
        SmolVM(config=VMConfig(disk_mode="bogus"))
    with pytest.raises(smolvm.ConfigError, match="vcpu_count=-1: must be 1..32"):
        SmolVM(vcpu_count=-1)
    with pytest.raises(smolvm.ConfigError, match="vm_id='Bad_Id'"):
        VM(vm_id="Bad_Id")
    with pytest.raises(smolvm.ConfigError, match="memory=64: must be 128..16384"):
        SmolVM(memory=64)
    with pytest.raises(TypeError):
        SmolVM(ram=1024)  # type: ignore[call-arg]
    assert smolvm.list_vms() == before, "a failed create must leave nothing behind"


def test_lifetime_policy_is_kept_and_bad_values_are_refused() -> None:
    cfg = VMConfig(ttl_s=3600, idle_timeout_s=300, on_idle="stop")
    vm = VM(cfg)
    try:
        info = vm.info
        assert (info.ttl_s, info.on_ttl, info.ttl_left_ms) == (3600, "delete", 3600_000)
        assert (info.idle_timeout_s, info.on_idle, info.paused_by) == (300, "stop", "")
    finally:
        vm.delete()
    before = smolvm.list_vms()
    with pytest.raises(smolvm.ConfigError, match="on_idle='nap': must be one of pause|stop|delete|hibernate"):
        VM(VMConfig(on_idle="nap"))
    with pytest.raises(smolvm.ConfigError, match="ttl_s=2592001: must be 0..2592000"):
        VM(ttl_s=2592001)
    assert smolvm.list_vms() == before


def test_boot_cold_is_honoured_and_a_bad_mode_is_refused() -> None:
    with pytest.raises(smolvm.ConfigError, match="boot='warm': must be one of auto|cold"):
        VM(boot="warm")
    vm = VM(VMConfig(boot="cold"))
    try:
        vm.start()
        info = vm.info
        assert (info.boot, info.boot_reason) == ("cold", "disabled by the VM's options (boot=cold)")
    finally:
        vm.delete()


def test_expose_is_unsupported_without_network(vm: SmolVM) -> None:
    with pytest.raises(smolvm.UnsupportedError, match="port forwarding needs a network") as info:
        vm.expose(8080)
    assert info.value.code == "EUNSUPPORTED"
    with pytest.raises(smolvm.ConfigError, match="guest_port=70000"):
        vm.expose(70000)


def test_context_manager_deletes_the_vm() -> None:
    config = VMConfig(disk_mode="shared")
    with SmolVM(config=config) as box:
        vm_id = box.id
        assert box.status == "running"
        assert box.info().disk_mode == "shared" and box.info().disk_path == ""
        assert box.run("echo hi").output == "hi"
        assert vm_id in smolvm.list_vms()
    assert box.closed
    assert vm_id not in smolvm.list_vms()
    with pytest.raises(smolvm.NotFoundError):
        SmolVM.from_id(vm_id)
    with pytest.raises(smolvm.VMStateError, match="closed"):
        box.run("true")


def test_persistent_vm_survives_close_and_refuses_commands_when_stopped() -> None:
    name = "pyt-" + uuid.uuid4().hex[:8]
    vm = VM(vm_id=name, mem_size_mib=256)
    assert vm.id == name and vm.status == "created"
    with pytest.raises(smolvm.VMStateError, match="is created"):
        vm.run("true")
    with pytest.raises(smolvm.SmolVMError) as info:
        VM(vm_id=name)
    assert info.value.code == "EEXISTS"
    vm.start()
    vm.write_file("/root/keep.txt", b"kept")
    vm.close()  # releases the handle only
    try:
        again = VM.from_id(name)
        assert again.status == "running"
        assert again.read_file("/root/keep.txt") == b"kept"
        again.stop()
        assert again.status == "stopped"
        with pytest.raises(smolvm.VMStateError, match="is stopped") as state:
            again.run("true")
        assert state.value.code == "ESTATE"
    finally:
        VM.from_id(name).delete()
    assert name not in smolvm.list_vms()


def test_from_profile_creates_with_env_and_setup(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "apiVersion: smolvm/v1\nkind: VMProfile\nname: py-profile\n"
        "resources: { vcpu_count: 1, mem_size_mib: 256 }\n"
        "env: { FROM_PROFILE: 'yes' }\n"
        "setup: [ 'touch /root/setup-done' ]\n")
    with smolvm.SmolVM.from_profile(profile) as vm:
        r = vm.run("echo $FROM_PROFILE; test -e /root/setup-done && echo setup-ran")
        assert r.stdout == "yes\nsetup-ran\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: smolvm/v1\nkind: VMProfile\nname: b\nresources: { vcpu_count: 99 }\n")
    with pytest.raises(smolvm.ConfigError, match=r"bad\.yaml:4:.*vcpu_count=99"):
        smolvm.SmolVM.from_profile(bad)


# ---- ephemeral VMs are bound to their owner process ----

def _spawn_owner(script: str, child_env: dict) -> "tuple[subprocess.Popen, str]":
    """A Python process running script, which prints its VM's id first."""
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                         env=child_env, text=True)
    assert p.stdout is not None
    return p, p.stdout.readline().strip()


def _gone_within(vm_id: str, folder: str, seconds: float) -> float:
    """Seconds until vm_id left the store and its folder the disk (the row
    goes first); fails after `seconds`."""
    t0 = time.monotonic()
    while vm_id in smolvm.list_vms() or os.path.exists(folder):
        assert time.monotonic() - t0 < seconds, f"{vm_id} still exists after {seconds} s"
        time.sleep(0.02)
    return time.monotonic() - t0


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


def _gone_with_its_processes(vm_id: str, info) -> float:
    """Seconds until the VM left the store and the disk (see _gone_within);
    fails unless its supervisor and VMM are gone too within 5 s more."""
    took = _gone_within(vm_id, info.state_dir, 15)
    for pid in (info.supervisor_pid, info.vmm_pid):
        deadline = time.monotonic() + 5
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _pid_alive(pid), f"pid {pid} of {vm_id} outlived its owner"
    return took


def test_a_killed_with_smolvm_owner_takes_its_vm_with_it(child_env: dict) -> None:
    script = ("import smolvm\n"
              "with smolvm.SmolVM(mem_size_mib=256) as vm:\n"
              "    print(vm.id, flush=True)\n"
              "    vm.run('sleep 300')\n")
    owners = {sig: _spawn_owner(script, child_env) for sig in (signal.SIGTERM, signal.SIGKILL)}
    for sig, (proc, vm_id) in owners.items():
        info = VM.from_id(vm_id).info()
        assert info.state == "running"
        time.sleep(0.3)  # mid-command
        proc.send_signal(sig)
        proc.wait()
        took = _gone_with_its_processes(vm_id, info)
        print(f"owner killed by {sig.name}: {vm_id} gone in {took:.2f} s")


def test_a_paused_smolvm_goes_with_its_killed_owner(child_env: dict) -> None:
    script = ("import smolvm, time\n"
              "vm = smolvm.SmolVM(mem_size_mib=256)\n"
              "vm.start()\n"
              "vm.pause()\n"
              "print(vm.id, flush=True)\n"
              "time.sleep(300)\n")
    proc, vm_id = _spawn_owner(script, child_env)
    info = VM.from_id(vm_id).info()
    assert info.state == "paused"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    took = _gone_with_its_processes(vm_id, info)
    print(f"paused VM {vm_id} gone {took:.2f} s after its owner was killed")


def test_detach_keeps_the_vm_after_its_owner_exits(child_env: dict) -> None:
    script = ("import smolvm\n"
              "vm = smolvm.SmolVM(mem_size_mib=256)\n"
              "vm.start()\n"
              "vm.detach()\n"
              "assert not vm.owned\n"
              "print(vm.id, flush=True)\n")  # exits: the VM must stay
    proc, vm_id = _spawn_owner(script, child_env)
    assert proc.wait() == 0
    time.sleep(1.0)
    kept = VM.from_id(vm_id)
    assert kept.status == "running"
    assert kept.run("echo kept").stdout == "kept\n"
    kept.delete()


def test_a_never_started_smolvm_of_a_dead_owner_goes_at_gc(child_env: dict) -> None:
    script = ("import smolvm, time\n"
              "vm = smolvm.SmolVM(mem_size_mib=256)\n"
              "print(vm.id, flush=True)\n"
              "time.sleep(300)\n")
    proc, vm_id = _spawn_owner(script, child_env)
    assert VM.from_id(vm_id).status == "created"
    proc.kill()
    proc.wait()
    assert smolvm.gc() >= 1
    assert vm_id not in smolvm.list_vms()


def test_cli_start_of_an_ephemeral_vm_keeps_it(tmp_path) -> None:
    """`smolvm start` ends right after the start: it detaches the VM first,
    or its own exit would delete the VM it just started."""
    vm = SmolVM(mem_size_mib=256)
    try:
        cli = os.environ.get("SMOLVM_CLI") or str(
            Path(smolvm.__file__).resolve().parents[3] / "bin" / "smolvm")
        r = subprocess.run([cli, "start", vm.id], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        time.sleep(0.5)
        assert vm.status == "running"
    finally:
        vm.delete()
    assert vm.id not in smolvm.list_vms()
