"""Input that must be refused, not mangled (issue #25): text with NUL bytes
and requests too large for one protocol frame. Both are refused before
anything reaches the guest, and the VM object stays usable."""

from __future__ import annotations

import pytest

import smolvm
from smolvm import SmolVM
from smolvm import lowlevel as ll

LIMIT = ll.SMOLVM_EXEC_REQUEST_MAX_BYTES
assert LIMIT == 131072  # the figure the messages and the README give


def test_nul_in_text_is_a_value_error_naming_the_argument(vm: SmolVM) -> None:
    with pytest.raises(ValueError, match=r"^command: embedded null character"):
        vm.run("echo a\x00; touch /tmp/nul-ran")
    with pytest.raises(ValueError, match=r"^command\[1\]: embedded null character"):
        vm.run(["echo", "a\x00b"])
    with pytest.raises(ValueError, match=r"^env\['A'\]: embedded null character"):
        vm.run("true", env={"A": "x\x00y"})
    with pytest.raises(ValueError, match=r"^cwd: embedded null character"):
        vm.run("true", cwd="/tmp\x00x")
    # File paths are refused by the shared SWIG typemap, by their C name.
    with pytest.raises(ValueError, match=r"^guest_path: embedded null character"):
        vm.write_file("/tmp/a\x00b", b"x")
    with pytest.raises(ValueError, match=r"^guest_path: embedded null character"):
        vm.read_file("/tmp/a\x00b")
    with pytest.raises(ValueError, match=r"^kernel_path: embedded null character"):
        SmolVM(kernel_path="/tmp/vmlinux\x00x")
    with pytest.raises(ValueError, match=r"^vm_id: embedded null character"):
        SmolVM.from_id("vm\x00x")
    assert vm.run("test -e /tmp/nul-ran || test -e /tmp/a || echo clean").stdout == "clean\n"
    # Data is bytes, not text: NUL is fine there.
    vm.write_file("/tmp/nul-data", b"a\x00b")
    assert vm.read_file("/tmp/nul-data") == b"a\x00b"
    assert vm.run(["cat"], stdin=b"x\x00y").stdout_bytes == b"x\x00y"


def test_oversized_requests_are_refused_and_the_vm_stays_usable(vm: SmolVM) -> None:
    with pytest.raises(smolvm.ConfigError) as e:
        vm.run("echo " + "x" * (2 << 20))
    assert str(e.value).startswith(
        f"command: 2097157 bytes; a command's argv, command, env and cwd must fit in "
        f"{LIMIT} bytes together")
    with pytest.raises(smolvm.ConfigError, match=r"^env BIG: 4194308 bytes; "):
        vm.run("true", env={"BIG": "v" * (4 << 20)})
    with pytest.raises(smolvm.ConfigError, match=r"^argv: \d+ bytes; "):
        vm.run(["true"] + ["a" * 1000] * 200)
    with pytest.raises(smolvm.ConfigError, match=r"^cwd: 2097152 bytes; "):
        vm.run("true", cwd="/" * (2 << 20))
    with pytest.raises(smolvm.ConfigError, match=r"^guest_path: 2097152 bytes; .*4096"):
        vm.write_file("/" * (2 << 20), b"x")
    # Every later call works: nothing was sent, no connection was lost.
    assert vm.run("echo still usable").stdout == "still usable\n"
    # Just under the limit goes through whole.
    big = "y" * (LIMIT - 4096)
    assert vm.run(["sh", "-c", 'printf %s "$0" | wc -c', big]).stdout.strip() == str(len(big))


def test_a_lost_connection_fails_one_call_not_the_object() -> None:
    # A second handle restarts the VM: the first handle's connection goes to
    # a supervisor that is gone. That may fail the next call, never all later
    # ones (it used to: "lost the connection to the supervisor" forever).
    with SmolVM(vcpu_count=1, mem_size_mib=256) as first:
        assert first.run("echo one").stdout == "one\n"
        other = SmolVM.from_id(first.id)
        try:
            other.stop()
            other.start()
        finally:
            other.close()
        try:
            first.run("true")
        except smolvm.SmolVMError:
            pass  # this call found the connection broken
        assert first.run("echo again").stdout == "again\n"
        assert first.run("echo and again").stdout == "and again\n"
