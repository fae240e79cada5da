"""The SmolVM Python project's documented examples, run here unchanged.

Each test types one snippet of that project's documentation as its user
would (the page is cited above it) and asserts the outcome the page states
(its `print(...)  # ...` comments). Only what cannot run on this host or
this package is changed, and the comment says what and why: lines that
build images with the project's ImageBuilder, `get_ip()` and port forwards
(they need a VM network, so they run in a network namespace made here).

Already run in test_compat.py: examples/quickstart_sandbox.py and
examples/env_injection.py.

Left out (see bindings/python/README.md, "behaves differently"): snippets
that need the internet, Docker, a browser, a Windows or macOS image, host
mounts, `internet_settings`, ImageBuilder, or snapshots of a type other
than "full" (the snapshots guide's Firecracker `snapshot_type="disk"`
example, with its `state_manager`); agent frameworks
(PydanticAI, LangChain, OpenAI Agents: the tool functions they call run
here, called directly); the lifecycle guide's pause/resume
(in another branch); the README's `vm = SmolVM(); vm.run(...)` without
`start()` (refused, by that project's code too); and the port-forwarding
page's servers started with `&` but without redirecting their output.

The VMs: snippets about a VM's life make their own; the others share the
module's "my-sandbox", as one session of a user would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid

import pytest

import smolvm
from smolvm import SmolVM, VMConfig
from smolvm.types import VMState


@pytest.fixture(scope="module")
def sandbox() -> SmolVM:
    """The README's "my-sandbox" (made there with `smolvm create --name
    my-sandbox`), also the VM of the command pages' `with SmolVM() as vm:`."""
    vm = SmolVM(vm_id="my-sandbox")
    vm.start()
    yield vm
    vm.delete()


@pytest.fixture
def env_vm(sandbox: SmolVM) -> SmolVM:
    """The sandbox with no variables set, as a fresh VM has, before and after."""
    sandbox.set_env_vars({}, merge=False)
    yield sandbox
    sandbox.set_env_vars({}, merge=False)


# ---- README.md (github.com/CelestoAI/SmolVM) ----

def test_readme_basic_usage() -> None:
    # README.md, "3. Basic Usage".
    vm = SmolVM()
    vm.start()
    result = vm.run("echo 'Hello from the sandbox!'")
    print(result.output)
    vm.stop()

    assert result.output == "Hello from the sandbox!"
    assert vm.status == VMState.STOPPED
    vm.delete()  # the README leaves it stopped; the test cleans up


def test_readme_memory_and_disk_size() -> None:
    # README.md, "3. Basic Usage": "Customize auto-config memory and disk size".
    with SmolVM(mem_size_mib=2048, disk_size_mib=4096) as vm:
        print(vm.run("free -m").output)

        total_mib = int(vm.run("free -m").output.splitlines()[1].split()[1])
        assert 1800 <= total_mib <= 2048
        root_mib = int(vm.run("df -m / | tail -1").output.split()[1])
        assert root_mib >= 3500
        vm_id = vm.vm_id
    assert vm_id not in smolvm.list_vms()  # "auto start and deletes after use"


def test_readme_upload_a_file(sandbox: SmolVM, tmp_path, monkeypatch) -> None:
    # README.md, "Upload a file": into the sandbox made with
    # `smolvm create --name my-sandbox`, from the current folder.
    monkeypatch.chdir(tmp_path)
    # Twice: "any existing file at that path is overwritten".
    for text in ("Summarise the logs.\n", "second"):
        with open("prompt.txt", "w") as f:
            f.write(text)

        vm = SmolVM.from_id("my-sandbox")
        vm.upload_file("./prompt.txt", "/tmp/prompt.txt")
        vm.close()

        assert sandbox.run("cat /tmp/prompt.txt").stdout == text
    assert sandbox.status == VMState.RUNNING  # close() left it running
    # "The destination must be an absolute path inside the sandbox"
    with pytest.raises(ValueError, match="must be an absolute path"):
        sandbox.upload_file("./prompt.txt", "tmp/prompt.txt")


# ---- docs.celesto.ai/smolvm/concepts/overview ----

def test_overview_with_block() -> None:
    # https://docs.celesto.ai/smolvm/concepts/overview, "What happens when you run code".
    with SmolVM(memory=2048) as vm:
        result = vm.run("free -m")
        print(result.stdout)
        vm_id = vm.vm_id

    assert result.stdout.splitlines()[1].startswith("Mem:")
    assert 1800 <= int(result.stdout.splitlines()[1].split()[1]) <= 2048
    assert vm_id not in smolvm.list_vms()  # "automatically stopped and cleaned up"


# ---- docs.celesto.ai/smolvm/api/commandresult, "Usage Examples" ----

def test_commandresult_basic(sandbox: SmolVM) -> None:
    vm = sandbox
    result = vm.run("echo 'Hello, World!'")

    print(f"Exit code: {result.exit_code}")  # 0
    print(f"Output: {result.stdout}")  # Hello, World!\n
    print(f"Stripped output: {result.output}")  # Hello, World!
    print(f"Success: {result.ok}")  # True
    assert (result.exit_code, result.stdout, result.output, result.ok) == \
        (0, "Hello, World!\n", "Hello, World!", True)


def test_commandresult_checking_success_and_errors(sandbox: SmolVM) -> None:
    vm = sandbox
    result = vm.run("test -f /etc/passwd")
    assert result.ok  # "File exists"

    result = vm.run("ls /nonexistent")
    assert not result.ok and result.exit_code != 0
    assert "No such file or directory" in result.stderr


def test_commandresult_multiline_output(sandbox: SmolVM) -> None:
    vm = sandbox
    result = vm.run("cat /etc/os-release")
    lines = []
    if result.ok:
        for line in result.stdout.splitlines():
            lines.append(line)
    assert any(line.startswith("ID=") for line in lines)


# ---- docs' command-execution guide (read at
# www.mintlify.com/CelestoAI/smolVM/guides/command-execution) ----

def test_command_execution_basic(sandbox: SmolVM) -> None:
    vm = sandbox
    result = vm.run("echo 'Hello from SmolVM'")
    print(result.stdout.strip())
    assert result.stdout.strip() == "Hello from SmolVM"  # "# Output: Hello from SmolVM"


def test_command_execution_result_fields(sandbox: SmolVM) -> None:
    vm = sandbox
    result = vm.run("ls -la /tmp")
    assert result.exit_code == 0  # "# 0"
    assert result.ok is True and result.output == result.stdout.strip()
    assert isinstance(result.stderr, str)

    result = vm.run("whoami")
    assert result.ok
    assert f"Current user: {result.output}" == "Current user: root"


def test_command_execution_shell_modes(env_vm: SmolVM) -> None:
    vm = env_vm
    # Login shell (the default).
    result = vm.run("echo $PATH", shell="login")
    assert "/usr/bin" in result.output.split(":")
    # Raw mode.
    result = vm.run("hostname", shell="raw")
    assert result.ok and result.output

    # "Login shell loads the env var"
    vm.set_env_vars({"API_KEY": "secret-123"})
    result = vm.run("echo $API_KEY", shell="login")
    print(result.output)  # secret-123
    assert result.output == "secret-123"


def test_command_execution_error_handling(sandbox: SmolVM) -> None:
    from smolvm.exceptions import (CommandExecutionUnavailableError, OperationTimeoutError,
                                   SmolVMError)
    vm = sandbox
    outcome = None
    try:
        result = vm.run("complex-command", timeout=30)
        if not result.ok:
            outcome = f"Command failed with exit code {result.exit_code}"
    except OperationTimeoutError:
        outcome = "timeout"
    except CommandExecutionUnavailableError as e:
        outcome = f"SSH not ready: {e.remediation}"
    except SmolVMError as e:
        outcome = f"VM error: {e}"
    assert outcome == "Command failed with exit code 127"  # no such command

    # The same handler, when the command outlives its timeout.
    with pytest.raises(OperationTimeoutError):
        vm.run("sleep 10", timeout=1)


def test_command_execution_unavailable() -> None:
    # The guide's CommandExecutionUnavailableError snippet, on a VM that
    # cannot run commands yet (created, not started).
    from smolvm.exceptions import CommandExecutionUnavailableError
    vm = SmolVM()
    try:
        assert not vm.can_run_commands()
        with pytest.raises(CommandExecutionUnavailableError) as info:
            try:
                vm.run("whoami")
            except CommandExecutionUnavailableError as e:
                print(f"SSH not available: {e.message}")
                print(f"Remediation: {e.remediation}")
                raise
        assert info.value.message and "vm.start()" in info.value.remediation
    finally:
        vm.delete()


def test_command_execution_wait_for_ssh() -> None:
    # The guide's "custom boot sequences" snippet.
    config = VMConfig(memory=512)
    vm = SmolVM(config)
    try:
        vm.start()
        # Wait up to 60 seconds for SSH to be ready
        vm.wait_for_ssh(timeout=60.0)
        # Now safe to run commands
        result = vm.run("hostname")
        assert result.ok and result.output

        if vm.can_run_commands():
            result = vm.run("whoami")
        assert result.output == "root"
    finally:
        vm.delete()


# ---- docs.celesto.ai/smolvm/features/callbacks and /api/callbacks ----

def test_callbacks_block_and_audit() -> None:
    # features/callbacks, "Block unsafe commands before they run" (the
    # guard's raise line as its user would finish it) and "Log every
    # command an agent runs"; api/callbacks for RunContext's fields.
    from smolvm import SmolVM, Callback, CommandBlockedError

    class SafetyGuard(Callback):
        DENY = ("rm -rf /", "mkfs", ":(){ :|:& };:")

        def on_pre_run(self, ctx):
            if any(bad in ctx.command for bad in self.DENY):
                raise CommandBlockedError(f"blocked: {ctx.command}", vm_id=ctx.vm_id,
                                          command=ctx.command)

    class AuditLog(Callback):
        def __init__(self):
            self.entries = []

        def on_post_run(self, ctx):
            self.entries.append((ctx.vm_id, ctx.command, ctx.shell, ctx.timeout,
                                 ctx.result.exit_code))

    audit = AuditLog()
    with SmolVM(callbacks=[SafetyGuard(), audit]) as vm:
        try:
            vm.run("rm -rf /")
            blocked = None
        except CommandBlockedError as e:
            blocked = e
        assert blocked is not None and blocked.details == {"vm_id": vm.vm_id,
                                                           "command": "rm -rf /"}
        # "the next allowed run() call" goes through, and nothing was removed
        assert vm.run("ls /usr").ok
        assert audit.entries == [(vm.vm_id, "ls /usr", "login", 30, 0)]


# ---- agent tools: the functions an agent framework calls ----
#
# The frameworks (PydanticAI, a model API key) are left out: the test calls
# the tool function itself, as the framework would, with the command the
# example's prompt asks the model to run.

def test_agent_tool_ephemeral_sandbox() -> None:
    # https://docs.celesto.ai/smolvm/guides/ai-agent-integration, "PydanticAI":
    # each call makes a VM, runs the command and deletes the VM.
    def run_in_smolvm(command: str, timeout: int = 30) -> str:
        with SmolVM() as vm:
            result = vm.run(command, timeout=timeout)
            return (
                f"exit_code: {result.exit_code}\n"
                f"stdout:\n{result.stdout.strip() or '<empty>'}\n"
                f"stderr:\n{result.stderr.strip() or '<empty>'}"
            )

    before = set(smolvm.list_vms())
    assert run_in_smolvm("python3 -c 'print(6 * 7)'") == \
        "exit_code: 0\nstdout:\n42\nstderr:\n<empty>"
    assert set(smolvm.list_vms()) == before  # torn down


def test_agent_tool_reusable_sandbox() -> None:
    # examples/agent_tools/pydanticai_reusable_tool.py: one sandbox across
    # an agent's turns; each turn attaches by id and closes (never deletes),
    # and the run's end deletes it.
    from dataclasses import dataclass
    from types import SimpleNamespace

    @dataclass
    class SandboxDeps:
        vm_id: str | None = None

    def connect(deps: SandboxDeps) -> SmolVM:
        if deps.vm_id is None:
            vm = SmolVM()
            vm.start()
            deps.vm_id = vm.vm_id
            return vm
        return SmolVM.from_id(deps.vm_id)

    def run_in_reusable_smolvm(ctx, command: str, timeout: int = 30) -> str:
        vm = connect(ctx.deps)
        try:
            result = vm.run(command, timeout=timeout)
            return f"exit_code: {result.exit_code}\nstdout:\n{result.stdout.strip()}"
        finally:
            vm.close()

    def cleanup(vm_id: str | None) -> None:
        if vm_id is None:
            return
        vm = SmolVM.from_id(vm_id)
        try:
            vm.delete()
        finally:
            vm.close()

    deps = SandboxDeps()
    ctx = SimpleNamespace(deps=deps)  # what PydanticAI hands the tool
    try:
        first = run_in_reusable_smolvm(
            ctx, "printf 'persistent state from SmolVM\\n' > /tmp/agent-note.txt && "
                 "cat /tmp/agent-note.txt")
        first_id = deps.vm_id
        second = run_in_reusable_smolvm(ctx, "cat /tmp/agent-note.txt")
    finally:
        cleanup(deps.vm_id)
    assert first == second == "exit_code: 0\nstdout:\npersistent state from SmolVM"
    assert deps.vm_id == first_id and first_id not in smolvm.list_vms()


# ---- docs.celesto.ai/smolvm/guides/environment-variables ----

def test_env_vars_at_boot() -> None:
    # "Setting variables at boot", without the page's ImageBuilder lines
    # (kernel_path, rootfs_path, boot_args=SSH_BOOT_ARGS): this package has
    # no ImageBuilder; VMConfig uses the image of `smolvm image build`.
    config = VMConfig(
        vm_id="env-vm",
        vcpu_count=1,
        memory=512,
        env_vars={  # Variables injected after boot
            "APP_MODE": "production",
            "DATABASE_URL": "postgres://localhost:5432/mydb",
            "API_KEY": "secret-key-value",
        },
    )

    with SmolVM(config) as vm:
        # Variables are automatically injected during start()
        result = vm.run("echo $APP_MODE")
        print(result.output)  # "production"
        assert result.output == "production"
        assert vm.run("echo $DATABASE_URL").output == "postgres://localhost:5432/mydb"
    assert "env-vm" not in smolvm.list_vms()


def test_env_vars_at_runtime(env_vm: SmolVM) -> None:
    # "Setting variables at runtime".
    vm = env_vm
    # Set environment variables
    vm.set_env_vars({"APP_MODE": "dev", "DEBUG": "1"})

    # Use them in commands
    result = vm.run("echo APP_MODE=$APP_MODE DEBUG=$DEBUG")
    print(result.output)  # "APP_MODE=dev DEBUG=1"
    assert result.output == "APP_MODE=dev DEBUG=1"

    # List current variables
    env_vars = vm.list_env_vars()
    print(env_vars)  # {"APP_MODE": "dev", "DEBUG": "1"}
    assert env_vars == {"APP_MODE": "dev", "DEBUG": "1"}

    # Remove a variable
    removed = vm.unset_env_vars(["DEBUG"])
    print(removed)  # {"DEBUG": "1"}
    assert removed == {"DEBUG": "1"}

    # Verify it's gone
    result = vm.run("echo DEBUG=$DEBUG")
    assert result.output == "DEBUG="


def test_env_vars_merge_replace_and_return_value(env_vm: SmolVM) -> None:
    # The same guide as mirrored at
    # www.mintlify.com/CelestoAI/smolVM/guides/environment-variables:
    # "Merge vs Replace" and "Return Value".
    vm = env_vm
    # First set
    vm.set_env_vars({"FOO": "bar", "BAZ": "qux"})
    # Second set (merge=True by default)
    vm.set_env_vars({"FOO": "updated", "NEW": "value"})
    assert vm.list_env_vars() == {"FOO": "updated", "BAZ": "qux", "NEW": "value"}

    # Replace entire environment
    vm.set_env_vars({"ONLY": "this"}, merge=False)
    assert vm.list_env_vars() == {"ONLY": "this"}

    vm.set_env_vars({}, merge=False)  # the page's "Return Value" starts afresh
    keys = vm.set_env_vars({"KEY1": "val1", "KEY2": "val2"})
    print(keys)  # ['KEY1', 'KEY2']
    assert keys == ["KEY1", "KEY2"]


def test_readme_environment_variables(env_vm: SmolVM) -> None:
    # README.md (an earlier version), "6. Environment Variables".
    vm = env_vm
    vm.set_env_vars({"API_KEY": "sk-...", "DEBUG": "1"})
    print(vm.list_env_vars())
    print(vm.run("echo $API_KEY").output)
    assert vm.list_env_vars() == {"API_KEY": "sk-...", "DEBUG": "1"}
    assert vm.run("echo $API_KEY").output == "sk-..."


# ---- the docs' quickstart and basic-usage guide (read at
# www.mintlify.com/CelestoAI/smolVM/quickstart and /guides/basic-usage) ----

def test_quickstart_execute_commands(sandbox: SmolVM) -> None:
    # Quickstart, "Execute commands", on the module's sandbox.
    vm = sandbox
    result = vm.run("echo $HOME")
    print(result.output)  # /root
    print(result.exit_code)

    assert (result.output, result.exit_code) == ("/root", 0)


def test_basic_usage_running_commands(sandbox: SmolVM) -> None:
    # Basic usage, "Running Commands", on the module's sandbox.
    vm = sandbox
    result = vm.run("ls -la /")
    print(result.stdout)  # Command output
    print(result.exit_code)  # Exit status (0 = success)
    print(result.ok)  # True if exit_code == 0
    assert result.ok and " etc" in result.stdout

    result = vm.run("sleep 10", timeout=60)  # Commands with custom timeout
    assert result.ok and result.duration >= 10

    result = vm.run("exit 1")
    if not result.ok:
        print(f"Command failed: {result.stderr}")
    assert (result.ok, result.exit_code) == (False, 1)

    # "Shell Modes": login (default) and raw.
    assert vm.run("echo $HOME", shell="login").output == "/root"
    assert vm.run("/bin/ls", shell="raw").ok

    # "VM Properties"
    print(vm.vm_id)
    print(vm.status)
    assert (vm.vm_id, vm.status) == ("my-sandbox", VMState.RUNNING)


# ---- docs.celesto.ai/smolvm/api/vminfo and the SmolVMManager API page ----

def test_vminfo_accessing_vm_information(capsys) -> None:
    # https://docs.celesto.ai/smolvm/api/vminfo, "Accessing VM Information".
    with SmolVM() as vm:
        info = vm.info

        print(f"VM ID: {info.vm_id}")
        print(f"Status: {info.status.value}")
        print(f"vCPUs: {info.config.vcpu_count}")
        print(f"Memory: {info.config.mem_size_mib} MiB")

        if info.network:
            print(f"Guest IP: {info.network.guest_ip}")
            print(f"TAP device: {info.network.tap_device}")

        if info.pid:
            print(f"PID: {info.pid}")

    out = capsys.readouterr().out.splitlines()
    assert out[:4] == [f"VM ID: {info.vm_id}", "Status: running", "vCPUs: 2",
                       "Memory: 512 MiB"]
    assert out[4] == f"PID: {info.pid}" and len(out) == 5  # no network: network="none"


def test_smolvm_manager_from_id() -> None:
    # www.mintlify.com/CelestoAI/smolVM/api/smolvm-manager, "from_id": the
    # manager of the store that holds "my-vm", made here first.
    from smolvm.vm import SmolVMManager

    SmolVMManager().create(VMConfig(vm_id="my-vm"))
    try:
        sdk = SmolVMManager.from_id("my-vm")
        info = sdk.get("my-vm")
        print(info.status)
        assert info.status == VMState.CREATED and str(info.status) == "created"
    finally:
        SmolVMManager().delete("my-vm")


# ---- docs.celesto.ai/smolvm/guides/vm-lifecycle ----

def test_lifecycle_context_manager() -> None:
    with SmolVM() as vm:
        # VM automatically starts on context entry
        print(f"VM running: {vm.vm_id}")
        result = vm.run("hostname")
        print(result.output)
        assert vm.status == VMState.RUNNING and result.ok and result.output
        vm_id = vm.vm_id
    # VM automatically stops and deletes on context exit
    assert vm_id not in smolvm.list_vms()


def test_lifecycle_create_start_stop_delete() -> None:
    # "Creating a VM", "Starting a VM", "Stopping a VM", "Deleting a VM".
    # The page also prints vm.get_ip(): see test_lifecycle_get_ip.
    vm = SmolVM()
    print(f"Created VM: {vm.vm_id}")
    assert vm.status == VMState.CREATED  # VMState.CREATED

    vm.start(boot_timeout=30.0)
    assert vm.status == VMState.RUNNING  # VMState.RUNNING
    assert vm.start() is vm  # "already running, calling start() is a no-op"

    vm.stop(timeout=3.0)
    assert vm.status == VMState.STOPPED  # VMState.STOPPED

    vm_id = vm.vm_id
    vm.delete()
    # VM is now removed from state database
    assert vm_id not in smolvm.list_vms()


def test_lifecycle_reconnect() -> None:
    # "Reconnecting to a VM", and README.md's "4. Reconnect to an existing VM".
    # Create a VM without context manager
    vm = SmolVM()
    vm.start()
    vm_id = vm.vm_id
    vm.close()  # Release resources but don't delete

    # Later, reconnect to the same VM
    vm2 = SmolVM.from_id(vm_id)
    print(f"Reconnected to {vm2.vm_id}")
    print(f"Status: {vm2.status}")  # VMState.RUNNING
    assert vm2.vm_id == vm_id and vm2.status == VMState.RUNNING

    # Continue using the VM
    result = vm2.run("uptime")
    print(result.output)
    assert "load average" in result.output
    vm2.delete()


def test_lifecycle_persistent_vm_from_another_session(child_env: dict) -> None:
    # "Persistent VMs": made in one session, used from a different Python
    # session (a child process here), then cleaned up.
    vm = SmolVM(vm_id="persistent-agent-vm")
    vm.start()
    vm.close()

    other_session = textwrap.dedent("""
        from smolvm import SmolVM

        # In a different Python session or script
        vm = SmolVM.from_id("persistent-agent-vm")
        print(f"Reconnected to {vm.vm_id}")
        print(f"Status: {vm.status}")
        result = vm.run("uptime")
        print(result.output)
    """)
    child = subprocess.run([sys.executable, "-c", other_session], env=child_env,
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    lines = child.stdout.splitlines()
    assert lines[:2] == ["Reconnected to persistent-agent-vm", "Status: running"]
    assert "load average" in lines[2]

    # Clean up when done
    vm = SmolVM.from_id("persistent-agent-vm")
    vm.stop()
    vm.delete()
    print("VM permanently deleted")
    assert "persistent-agent-vm" not in smolvm.list_vms()


# ---- docs.celesto.ai/smolvm/features/port-forwarding and the lifecycle
# guide's get_ip(), in a network namespace ----
#
# These need a VM with a network: this package gives one with
# network="auto" (root, nftables or iptables), where the SmolVM project
# always makes one. The house rule keeps network tests off the host's own
# network, so each runs in a child Python process inside a network
# namespace made for it (loopback only; the guest reaches nothing outside).

def _netns_skip_reason() -> str:
    if os.geteuid() != 0:
        return "needs root to make a network namespace"
    if shutil.which("ip") is None:
        return "needs iproute2 (ip) to make a network namespace"
    return ""


@pytest.fixture
def in_netns(child_env: dict):
    """Runs a Python script in a fresh network namespace; returns its stdout."""
    reason = _netns_skip_reason()
    if reason:
        pytest.skip(reason)
    ns = "svpy-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)

        def run(script: str) -> str:
            child = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c",
                                    textwrap.dedent(script)],
                                   env=child_env, capture_output=True, text=True, timeout=120)
            assert child.returncode == 0, child.stdout + child.stderr
            return child.stdout
        yield run
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_port_forwarding_quick_start(in_netns) -> None:
    # The port-forwarding guide's "Quick Start" as mirrored at
    # www.mintlify.com/CelestoAI/smolVM/guides/port-forwarding, plus
    # network="auto" (see above); not its `apk add python3` (needs the
    # internet; the image has python3) nor its `input(...)` pause, and the
    # page's "Access the service" step with urllib for `requests`.
    # docs.celesto.ai/smolvm/features/port-forwarding starts the server
    # without `> /dev/null 2>&1`: see the README, "behaves differently".
    out = in_netns("""
        import urllib.request
        from smolvm import SmolVM

        with SmolVM(network="auto") as vm:
            # Start a web server in the guest
            vm.run("python3 -m http.server 8000 > /dev/null 2>&1 &")

            # Expose guest port 8000 on host localhost:8000
            host_port = vm.expose_local(guest_port=8000, host_port=8000)

            print(f"Server available at http://127.0.0.1:{host_port}")

            vm.wait_for_guest_tcp_ports([8000], timeout=30)  # the server's start-up
            body = urllib.request.urlopen(f"http://127.0.0.1:{host_port}/", timeout=10).read()
            print("listing" if b"Directory listing" in body else body[:200])

            # "Auto-Assign Port" and removing a forward
            host_port = vm.expose_local(guest_port=8080)
            print(f"Assigned port: {host_port}")
            vm.unexpose_local(host_port=host_port, guest_port=8080)
    """)
    lines = out.splitlines()
    assert lines[:2] == ["Server available at http://127.0.0.1:8000", "listing"]
    assert lines[2].startswith("Assigned port: ") and int(lines[2].split(": ")[1]) > 0


def test_lifecycle_get_ip(in_netns) -> None:
    # docs.celesto.ai/smolvm/guides/vm-lifecycle, "Starting a VM" (with
    # network="auto", see above).
    out = in_netns("""
        import ipaddress
        from smolvm import SmolVM

        vm = SmolVM(network="auto")
        vm.start(boot_timeout=30.0)
        print(f"VM started: {vm.status}")
        print(f"IP address: {vm.get_ip()}")
        vm.delete()
    """)
    started, ip = out.splitlines()
    assert started == "VM started: running"
    import ipaddress
    assert ipaddress.ip_address(ip.split(": ", 1)[1]).is_private


# ---- docs.celesto.ai/smolvm/features/snapshots and api/snapshotinfo ----
# The project keeps "my-checkpoint" in its inventory; here it is a snapshot
# of the state folder, removed after each test with the VMs made from it.

@pytest.fixture
def checkpoint_cleanup() -> None:
    before = set(smolvm.list_vms())
    yield
    for vm_id in set(smolvm.list_vms()) - before:
        smolvm.VM.from_id(vm_id).delete()
    smolvm.delete_snapshot("my-checkpoint")


def test_snapshots_create_a_snapshot(checkpoint_cleanup, capsys) -> None:
    # https://docs.celesto.ai/smolvm/features/snapshots, "Create a snapshot".
    # Left out: `vm.run("apk add python3 py3-pip")` and `pip install
    # requests`, which need the project's Alpine image and the internet
    # (SmolVM's image is Debian, and a VM has no network by default).
    vm = SmolVM()
    vm.start()

    # Save the current state
    snapshot = vm.snapshot(snapshot_id="my-checkpoint")
    print(f"Snapshot created: {snapshot.snapshot_id}")

    vm.close()
    assert capsys.readouterr().out == "Snapshot created: my-checkpoint\n"
    # "By default, the VM stays paused after a snapshot."
    assert SmolVM.from_id(vm.vm_id).status == VMState.PAUSED


def test_snapshots_resume_source_keeps_it_running(checkpoint_cleanup) -> None:
    # https://docs.celesto.ai/smolvm/features/snapshots: "Pass
    # resume_source=True to keep working with it" (on the page's started vm).
    vm = SmolVM()
    vm.start()
    snapshot = vm.snapshot(
        snapshot_id="my-checkpoint",
        resume_source=True,
    )
    # VM is still running — you can continue using it
    result = vm.run("echo 'still running'")
    assert result.output == "still running" and snapshot.snapshot_id == "my-checkpoint"
    vm.close()


def test_snapshotinfo_create_list_restore(checkpoint_cleanup, capsys) -> None:
    # https://docs.celesto.ai/smolvm/api/snapshotinfo, "Usage": its three
    # snippets in a row, as one session would run them.
    from smolvm import SmolVMManager

    # "Creating a snapshot"
    vm = SmolVM()
    vm.start()

    snapshot = vm.snapshot(snapshot_id="my-checkpoint")
    print(snapshot.snapshot_id)
    print(snapshot.backend)
    print(snapshot.artifacts.disk_path)

    vm.close()
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["my-checkpoint", "qemu"] and os.path.isfile(out[2])
    source_id = vm.vm_id

    # "Listing snapshots"
    with SmolVMManager() as sdk:
        snapshots = sdk.list_snapshots()
        for snap in snapshots:
            status = "restored" if snap.restored else "available"
            print(f"{snap.snapshot_id} ({status}) from {snap.vm_id}")
    assert capsys.readouterr().out == f"my-checkpoint (available) from {source_id}\n"

    # "Restoring from a snapshot". The project restores into the source's
    # own id; SmolVM makes a new VM (its own id) and leaves the source be.
    vm = SmolVM.from_snapshot("my-checkpoint", resume_vm=True)
    print(vm.vm_id)
    print(vm.status)

    vm.close()
    assert capsys.readouterr().out == f"{vm.vm_id}\nrunning\n" and vm.vm_id != source_id
    assert smolvm.get_snapshot("my-checkpoint").restored_vm_id == vm.vm_id
