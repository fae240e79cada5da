"""Code written for the SmolVM Python project runs here: its names, its
ownership rules and its documented examples, typed as a user of that
project would type them (each cites the page it follows)."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import smolvm
from smolvm import SmolVM, VMConfig, VMState
from smolvm._vm import listening_ports


def _name() -> str:
    return "cmp-" + uuid.uuid4().hex[:8]


# ---- names, no VM ----

@pytest.mark.novm
def test_the_projects_modules_and_names_import() -> None:
    from smolvm.exceptions import (CommandBlockedError, CommandExecutionUnavailableError,
                                   OperationTimeoutError, SmolVMError, SnapshotNotFoundError,
                                   ValidationError, VMAlreadyExistsError, VMNotFoundError)
    from smolvm.types import CommandResult, VMInfo  # noqa: F401
    from smolvm.types import VMState as TypesVMState
    assert TypesVMState is VMState
    assert VMNotFoundError is smolvm.NotFoundError and ValidationError is smolvm.ConfigError
    assert OperationTimeoutError is smolvm.TimeoutError
    assert CommandExecutionUnavailableError is smolvm.VMStateError
    for cls in (CommandBlockedError, VMAlreadyExistsError, SnapshotNotFoundError):
        assert issubclass(cls, SmolVMError)
    assert issubclass(smolvm.UnsupportedError, NotImplementedError)
    err = SmolVMError("boom", {"vm_id": "x"})
    assert (err.message, err.details) == ("boom", {"vm_id": "x"})
    assert SmolVMError("plain").details == {}
    unavailable = CommandExecutionUnavailableError("not running")
    assert "vm.start()" in unavailable.remediation
    assert CommandExecutionUnavailableError("x", {"remediation": "boot it"}).remediation \
        == "boot it"
    blocked = CommandBlockedError("no", vm_id="v", command="rm -rf /")
    assert blocked.details == {"vm_id": "v", "command": "rm -rf /"}
    assert (blocked.vm_id, blocked.command) == ("v", "rm -rf /")


@pytest.mark.novm
def test_vm_state_is_a_str_enum() -> None:
    assert VMState.RUNNING == "running" and str(VMState.PAUSED) == "paused"
    assert VMState.from_native("failed") is VMState.ERROR
    assert VMState.from_native("stopping") is VMState.STOPPING
    assert {s.value for s in VMState} >= {"created", "running", "paused", "stopped", "error"}


@pytest.mark.novm
def test_config_aliases_stay_equal_to_their_fields() -> None:
    c = VMConfig(memory=2048, disk_size=4096, backend="qemu", comm_channel="vsock")
    assert (c.mem_size_mib, c.disk_size_mib, c.vmm, c.executor) == (2048, 4096, "qemu", "agent")
    c = VMConfig(mem_size_mib=1024, executor="ssh")
    assert (c.memory, c.comm_channel) == (1024, "ssh")
    assert VMConfig().comm_channel is None  # executor "auto" has no channel name
    with pytest.raises(smolvm.ConfigError, match="memory=2048 and mem_size_mib=1024 disagree"):
        VMConfig(memory=2048, mem_size_mib=1024)
    with pytest.raises(smolvm.ConfigError, match="comm_channel='pigeon'.*'vsock', 'ssh'"):
        VMConfig(comm_channel="pigeon")
    with pytest.raises(smolvm.ConfigError, match="memory=64: must be 128..16384"):
        VMConfig(memory=64)
    # Set after construction: whichever of the pair changed wins.
    c = VMConfig()
    c.mem_size_mib = 768
    c.merged()
    assert c.memory == 768
    c.memory = 1536
    assert c.merged().mem_size_mib == 1536
    # A keyword override replaces both halves of the pair.
    assert VMConfig(memory=2048).merged(mem_size_mib=640).memory == 640


@pytest.mark.novm
def test_output_is_stdout_stripped() -> None:
    r = smolvm.CommandResult(0, b"  hi\n", b"err\n")
    assert r.output == "hi" and r.combined == "  hi\nerr\n"


@pytest.mark.novm
def test_features_not_offered_yet_are_a_clear_refusal() -> None:
    before = smolvm.list_vms()
    with pytest.raises(smolvm.UnsupportedError, match="internet_settings=.*allow-list.*#20"):
        SmolVM(internet_settings={"allowed_domains": ["example.com"]})
    with pytest.raises(NotImplementedError, match="mounts=.*#20.*upload_file"):
        SmolVM(mounts=["/tmp:/data"])
    with pytest.raises(NotImplementedError, match="writable_mounts=True.*#20"):
        SmolVM(writable_mounts=True)
    with pytest.raises(smolvm.ConfigError, match="callbacks"):
        SmolVM(callbacks=[object()])
    assert smolvm.list_vms() == before


@pytest.mark.novm
def test_the_projects_names_for_missing_features_say_which_issue() -> None:
    # Reached as the project's docs reach them: an error naming the issue,
    # not an AttributeError or ImportError.
    from smolvm import SSH_BOOT_ARGS, ImageBuilder
    from smolvm.build import DockerRootfsBuilder
    builder = ImageBuilder()  # the docs make one, then build
    with pytest.raises(smolvm.UnsupportedError,
                       match=r"ImageBuilder.build_alpine_ssh: .*issue #23.*smolvm image build"):
        builder.build_alpine_ssh(name="my-custom-image", ssh_password="x")
    with pytest.raises(NotImplementedError, match="issue #23"):
        DockerRootfsBuilder().build("Dockerfile")
    for name, issue in (("InternetSettings", "#20"), ("WorkspaceMount", "#20"),
                        ("ImageManager", "#23")):
        with pytest.raises(smolvm.UnsupportedError, match=f"smolvm.{name}: .*issue {issue}"):
            exec(f"from smolvm import {name}")
        with pytest.raises(smolvm.UnsupportedError, match=f"issue {issue}"):
            getattr(smolvm.types, name)
    with pytest.raises(smolvm.UnsupportedError, match="no Python SSH client"):
        smolvm.SSHClient
    assert not hasattr(smolvm, "NoSuchName")  # anything else stays an AttributeError
    # SSH_BOOT_ARGS is a value: the default image needs no extra kernel arguments.
    assert SSH_BOOT_ARGS == "" and VMConfig(boot_args=SSH_BOOT_ARGS).boot_args == ""


@pytest.mark.novm
def test_constructor_options_of_the_project() -> None:
    before = smolvm.list_vms()
    refused = [
        (dict(os="ubuntu"), r"os='ubuntu': must be one of 'debian'.*Debian"),
        (dict(os="windows", ssh_password="hunter2"), r"os='windows'"),
        (dict(qemu_machine="q35"), r"qemu_machine='q35': must be one of 'auto'"),
        (dict(ssh_user="agent"), r"ssh_user='agent': must be one of 'root'.*issue #21"),
        (dict(ssh_key_path="/tmp/key"), r"ssh_key_path='/tmp/key': .*key of each VM's own"),
        (dict(ssh_password="hunter2"), r"ssh_password: .*never a password"),
        (dict(socket_dir="/tmp/s"), r"socket_dir='/tmp/s': .*data_dir="),
    ]
    for options, message in refused:
        with pytest.raises(smolvm.UnsupportedError, match=message):
            SmolVM(**options)
        with pytest.raises(smolvm.UnsupportedError, match=message):
            SmolVM.from_id("whatever", **options)
    assert "hunter2" not in repr(_refusal(ssh_password="hunter2").details)
    with pytest.raises(smolvm.ConfigError, match="data_dir=.*runtime= both"):
        SmolVM(data_dir="/tmp/x", runtime=smolvm.default_runtime())
    with pytest.raises(TypeError, match="unexpected keyword.*colour"):
        SmolVM.from_id("whatever", colour="red")
    # An image is a name of `smolvm image ls`, not the project's image paths.
    with pytest.raises(smolvm.ConfigError,
                       match=r"image='s3://bucket/img.qcow2': must match \[a-z0-9\]"):
        SmolVM(image="s3://bucket/img.qcow2")
    with pytest.raises(smolvm.NotFoundError, match=r"image='no-such-image': no such image"):
        SmolVM(image="no-such-image")
    with pytest.raises(TypeError, match="unexpected keyword.*image"):
        SmolVM.from_id("whatever", image="default")
    # What SmolVM has is accepted: the default image, Debian, root.
    vm = SmolVM(image="default", os="debian", qemu_machine="auto", ssh_user="root")
    try:
        info = vm.info
        assert info.config.vm_id == vm.vm_id and info.config.backend == info.vmm
        assert info.network is None  # network="none", the default
        with pytest.raises(smolvm.ConfigError, match=r"comm_channel='ssh': .*keeps it"):
            SmolVM.from_id(vm.vm_id, comm_channel="ssh")
        same = SmolVM.from_id(vm.vm_id, backend="auto", comm_channel="vsock",
                              ssh_user="root")
        assert not same.owned
        same.close()
    finally:
        vm.delete()
    assert smolvm.list_vms() == before


@pytest.mark.novm
def test_vm_methods_of_missing_features_say_which_issue() -> None:
    for call, message in ((lambda: SmolVM.from_image(object()), r"from_image: .*#23"),
                          (lambda: SmolVM.browser(headless=True), r"browser: .*not available"),
                          (lambda: SmolVM.desktop(), r"desktop: .*not available")):
        with pytest.raises(smolvm.UnsupportedError, match=message):
            call()
    vm = SmolVM()
    try:
        with pytest.raises(smolvm.UnsupportedError, match=f"smolvm ssh {vm.vm_id}"):
            vm.ssh_commands(ssh_user="root")
        assert vm.data_dir.is_dir() and vm.vm_id in str(vm.data_dir)
    finally:
        vm.delete()


def _refusal(**options: object) -> smolvm.SmolVMError:
    with pytest.raises(smolvm.SmolVMError) as caught:
        SmolVM(**options)
    return caught.value


@pytest.mark.novm
def test_listening_ports_reads_proc_net_tcp() -> None:
    text = (
        "  sl  local_address rem_address   st tx_queue\n"
        "   0: 00000000:1F40 00000000:0000 0A 00000000\n"        # 0.0.0.0:8000 LISTEN
        "   1: 0100007F:0CEA 00000000:0000 0A 00000000\n"        # 127.0.0.1:3306 LISTEN
        "   2: 0100007F:1F90 0100007F:9C40 01 00000000\n"        # 8080 ESTABLISHED
        "   3: 0200000A:0016 00000000:0000 0A 00000000\n"        # 10.0.0.2:22 LISTEN
        "   0: 00000000000000000000000000000000:1389 "
        "00000000000000000000000000000000:0000 0A 0\n"           # [::]:5001 LISTEN
        "   1: 0000000000000000FFFF00000100007F:2328 "
        "00000000000000000000000000000000:0000 0A 0\n")          # ::ffff:127.0.0.1:9000
    assert listening_ports(text, "127.0.0.1") == {8000, 3306, 5001, 9000}
    assert listening_ports(text, "10.0.0.2") == {8000, 22, 5001}


# ---- documented examples, with VMs ----

def test_quickstart_example() -> None:
    # examples/quickstart_sandbox.py of the SmolVM Python project.
    with SmolVM() as vm:
        result = vm.run("echo 'Hello from the sandbox'")
        assert result.stdout.strip() == "Hello from the sandbox"
        assert result.output == "Hello from the sandbox" and result.ok
        vm_id = vm.vm_id
    assert vm_id not in smolvm.list_vms()


def test_env_injection_example(child_env: dict) -> None:
    # examples/env_injection.py of the SmolVM Python project.
    with SmolVM() as vm:
        assert vm.set_env_vars({"APP_MODE": "dev", "DEBUG": "1"}) == ["APP_MODE", "DEBUG"]
        assert vm.list_env_vars() == {"APP_MODE": "dev", "DEBUG": "1"}
        assert vm.run("echo APP_MODE=$APP_MODE DEBUG=$DEBUG").output == "APP_MODE=dev DEBUG=1"
        assert vm.unset_env_vars(["DEBUG"]) == {"DEBUG": "1"}
        assert vm.list_env_vars() == {"APP_MODE": "dev"}
        # Every shell and argv sees them, and so does another process.
        assert vm.run(["printenv", "APP_MODE"]).output == "dev"
        assert vm.run("echo $APP_MODE", shell="raw").output == "dev"
        script = ("import sys, smolvm\n"
                  "vm = smolvm.SmolVM.from_id(sys.argv[1])\n"
                  "vm.set_env_vars({'FROM_CHILD': 'yes'})\n"
                  "print(vm.run('echo $APP_MODE').output)\n")
        child = subprocess.run([sys.executable, "-c", script, vm.vm_id], env=child_env,
                               capture_output=True, text=True, timeout=60)
        assert child.returncode == 0 and child.stdout == "dev\n", child.stderr
        assert vm.run("echo $FROM_CHILD").output == "yes"
        # Kept across stop and start.
        vm.stop().start()
        assert vm.run("echo $APP_MODE $FROM_CHILD").output == "dev yes"
        assert vm.set_env_vars({"ONLY": "1"}, merge=False) == ["ONLY"]
        with pytest.raises(smolvm.ConfigError, match="env name '1BAD'"):
            vm.set_env_vars({"1BAD": "x"})
        assert vm.list_env_vars() == {"ONLY": "1"}


def test_env_vars_in_the_config_and_the_cli() -> None:
    cli = os.environ.get("SMOLVM_CLI") or str(
        Path(smolvm.__file__).resolve().parents[3] / "bin" / "smolvm")
    with SmolVM(config=VMConfig(env_vars={"GREETING": "hello"}, memory=256)) as vm:
        assert vm.run("echo $GREETING").output == "hello"
        r = subprocess.run([cli, "env", vm.vm_id, "set", "A=1", "B=two words"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([cli, "env", vm.vm_id], capture_output=True, text=True)
        assert r.stdout == "A=1\nB=two words\nGREETING=hello\n"
        assert vm.run('echo "$A/$B"').output == "1/two words"
        r = subprocess.run([cli, "env", vm.vm_id, "set", "bad-name=1"],
                           capture_output=True, text=True)
        assert r.returncode == 1 and "env name 'bad-name'" in r.stderr
        subprocess.run([cli, "env", vm.vm_id, "unset", "A", "GREETING"], check=True)
        assert vm.list_env_vars() == {"B": "two words"}


def test_a_vm_of_a_named_image() -> None:
    cli = os.environ.get("SMOLVM_CLI") or str(
        Path(smolvm.__file__).resolve().parents[3] / "bin" / "smolvm")
    # The default image's build, named: its layers are cached, so only the name is made.
    r = subprocess.run([cli, "image", "build", "--name", "pytest-named", "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    try:
        vm = SmolVM.from_image("pytest-named", memory=256)
        try:
            assert vm.info.rootfs_path == str(
                (_image_default() / "rootfs.ext4").resolve())
            vm.start()
            assert vm.run("echo from-name").output == "from-name"
        finally:
            vm.delete()
    finally:
        subprocess.run([cli, "image", "rm", "pytest-named"], check=True, capture_output=True)


def _image_default() -> Path:
    cache = os.environ.get("SMOLVM_CACHE_DIR") or str(Path.home() / ".cache" / "smolvm")
    return Path(cache) / "images" / "default"


def test_close_never_deletes_and_from_id_reattaches() -> None:
    # The SmolVM project's docs: vm.close() releases resources without
    # deleting; SmolVM.from_id() reattaches later.
    vm = SmolVM(memory=256)
    vm.start()
    vm_id = vm.vm_id
    vm.close()
    assert vm.closed and vm_id in smolvm.list_vms()
    again = SmolVM.from_id(vm_id)
    assert again.status == VMState.RUNNING and not again.owned
    # with on an attached VM: stopped at the end, and kept.
    with SmolVM.from_id(vm_id) as attached:
        assert attached.run("echo inside").output == "inside"
    assert vm_id in smolvm.list_vms() and again.status == VMState.STOPPED
    again.delete()
    assert vm_id not in smolvm.list_vms()


def test_garbage_collection_and_exit_never_delete(child_env: dict) -> None:
    vm = SmolVM(memory=256)
    vm_id = vm.vm_id
    del vm
    gc.collect()
    assert vm_id in smolvm.list_vms()
    smolvm.VM.from_id(vm_id).delete()
    # A process that ends normally without closing its SmolVM keeps the VM.
    script = ("import smolvm\n"
              "vm = smolvm.SmolVM(memory=256)\n"
              "vm.start()\n"
              "print(vm.vm_id, flush=True)\n")
    child = subprocess.run([sys.executable, "-c", script], env=child_env,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    kept = child.stdout.strip()
    time.sleep(1.0)  # a supervisor that deletes would have done it by now
    vm = SmolVM.from_id(kept)
    assert vm.status == VMState.RUNNING and vm.run("echo kept").output == "kept"
    vm.delete()


def test_vm_id_attaches_when_it_exists_and_creates_otherwise() -> None:
    name = _name()
    first = SmolVM(vm_id=name, memory=256)
    assert first.owned and first.status == VMState.CREATED
    second = SmolVM(vm_id=name)  # the workspace pattern: reattach
    assert not second.owned and second.vm_id == name
    with pytest.raises(smolvm.ConfigError, match="exists, so memory would not apply"):
        SmolVM(vm_id=name, memory=512)
    second.close()
    first.delete()
    assert name not in smolvm.list_vms()


def test_lifecycle_calls_of_the_project(vm: SmolVM) -> None:
    assert vm.start() is vm  # running: a no-op
    assert vm.pause().status == VMState.PAUSED and not vm.can_run_commands()
    assert vm.start() is vm and vm.status == VMState.RUNNING  # paused: resumed
    assert vm.refresh() is vm and vm.can_run_commands()
    assert vm.wait_for_ready(timeout=5) is vm
    assert vm.wait_for_ssh(timeout=5) is vm  # the project's name of wait_for_ready
    info = vm.info
    assert info.status == VMState.RUNNING and info.vm_id == vm.vm_id and info.pid > 0
    assert vm.info().id == vm.id  # the older call form
    with pytest.raises(smolvm.UnsupportedError, match="has no network"):
        vm.get_ip()


def test_start_with_a_boot_timeout_of_its_own() -> None:
    vm = SmolVM(memory=256)
    try:
        with pytest.raises(smolvm.OperationTimeoutError, match="within 1 ms"):
            vm.start(boot_timeout=0.001)
        assert vm.status == VMState.ERROR
        assert vm.start(boot_timeout=60).status == VMState.RUNNING
        assert vm.stop(timeout=3.0) is vm and vm.status == "stopped"
    finally:
        vm.delete()


def test_run_takes_timeout_and_shell_positionally(vm: SmolVM) -> None:
    assert vm.run("echo ${BASH_VERSION:+bash}", 10, "raw").output == ""  # dash
    assert vm.run("echo ${BASH_VERSION:+bash}", 10).output == "bash"  # the login shell
    with pytest.raises(smolvm.OperationTimeoutError) as info:
        vm.run("sleep 5", 1)
    assert info.value.result is not None and info.value.result.timed_out


class _Guard(smolvm.Callback):
    deny = ("rm -rf /",)

    def __init__(self) -> None:
        self.seen: list = []

    def on_pre_run(self, ctx: smolvm.RunContext) -> None:
        if any(bad in ctx.command for bad in self.deny):
            raise smolvm.CommandBlockedError("blocked", vm_id=ctx.vm_id, command=ctx.command)

    def on_post_run(self, ctx: smolvm.RunContext) -> None:
        self.seen.append(("post", ctx.command, ctx.result.exit_code))
        raise RuntimeError("an observer's failure is logged and dropped")

    def on_run_error(self, ctx: smolvm.RunContext) -> None:
        self.seen.append(("error", ctx.command, type(ctx.error).__name__))


def test_callbacks_veto_and_observe() -> None:
    # docs.celesto.ai/smolvm/features/callbacks: a guard that blocks unsafe
    # commands, and observers of results and errors.
    guard = _Guard()
    with SmolVM(memory=256, callbacks=[guard]) as vm:
        with pytest.raises(smolvm.CommandBlockedError) as info:
            vm.run("rm -rf / --no-preserve-root")
        assert info.value.details["vm_id"] == vm.vm_id
        assert vm.run("test -e /usr").ok  # nothing was removed
        with pytest.raises(smolvm.TimeoutError):
            vm.run("sleep 3", timeout=1)
        late = _Guard()
        assert vm.add_callback(late) is vm
        # The binding's own probes are not the user's commands: no hook sees them.
        vm.wait_for_ready(timeout=5)
        vm.run("exit 4")
    assert guard.seen == [("post", "test -e /usr", 0), ("error", "sleep 3", "TimeoutError"),
                          ("post", "exit 4", 4)]
    assert late.seen == [("post", "exit 4", 4)]


def test_upload_and_download_resolve_paths(vm: SmolVM, tmp_path) -> None:
    src = tmp_path / "notes.txt"
    src.write_text("hello")
    assert vm.upload_file(src, "/tmp/up/") == "/tmp/up/notes.txt"
    assert vm.upload_file(src, "/tmp/deep/a/b/renamed.txt") == "/tmp/deep/a/b/renamed.txt"
    with pytest.raises(smolvm.NotFoundError, match="'/tmp/nowhere' does not exist"):
        vm.upload_file(src, "/tmp/nowhere/x.txt", make_dirs=False)
    out = vm.download_file("/tmp/up/notes.txt", str(tmp_path / "new" / "dir") + "/")
    assert out == str(tmp_path / "new" / "dir" / "notes.txt")
    assert open(out).read() == "hello"


def test_wait_for_guest_tcp_ports(vm: SmolVM) -> None:
    # As the SmolVM project's docs start servers: in the background, its
    # log still on the command's (finished) stdout/stderr.
    vm.run("python3 -m http.server 8765 --bind 127.0.0.1 &")
    try:
        vm.wait_for_guest_tcp_ports([8765], timeout=30)
        fetch = ("python3 -c \"import urllib.request as u; "
                 "print(u.urlopen('http://127.0.0.1:8765/').status)\"")
        for _ in range(3):  # the server logs each request: it must outlive its first log line
            assert vm.run(fetch, 10).output == "200"
        t0 = time.monotonic()
        with pytest.raises(smolvm.TimeoutError, match="nothing listens on TCP 8766"):
            vm.wait_for_guest_tcp_ports(8766, timeout=0.5)
        assert time.monotonic() - t0 < 5
    finally:
        vm.run(["pkill", "-f", "http.server 8765"])


def test_async_api() -> None:
    async def main() -> list:
        async with SmolVM(memory=256) as vm:
            r = await vm.async_run("echo async")
            assert r.output == "async"
            vm_id = vm.vm_id
        assert vm_id not in smolvm.list_vms()
        # Other coroutines go on while VMs boot.
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.05)
        task = asyncio.create_task(ticker())
        vms = await SmolVM.async_create_many([VMConfig(memory=256), {"memory": 256}],
                                             concurrency=2)
        task.cancel()
        assert ticks > 5
        return vms
    vms = asyncio.run(main())
    try:
        assert [v.status for v in vms] == [VMState.RUNNING, VMState.RUNNING]
    finally:
        for v in vms:
            v.delete()
