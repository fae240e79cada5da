"""Files: write_file/read_file (bytes) and put_file/get_file (files, folders)."""

from __future__ import annotations

from pathlib import Path

import pytest

import smolvm
from smolvm import SmolVM


def test_write_and_read_bytes(vm: SmolVM) -> None:
    data = bytes(range(256)) * 100
    vm.write_file("/tmp/pyt/deep/data.bin", data, mode=0o600)
    assert vm.read_file("/tmp/pyt/deep/data.bin") == data
    assert vm.run(["stat", "-c", "%a %s", "/tmp/pyt/deep/data.bin"]).stdout == "600 25600\n"
    vm.write_file("/tmp/pyt/text.txt", "héllo\n")
    assert vm.run("cat /tmp/pyt/text.txt").stdout == "héllo\n"
    vm.write_file("/tmp/pyt/empty", b"")
    assert vm.read_file("/tmp/pyt/empty") == b""


def test_put_and_get_a_file(vm: SmolVM, tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(b"\x00\x01payload\xff")
    vm.put_file(src, "/tmp/pyt/put/in.bin")
    assert vm.read_file("/tmp/pyt/put/in.bin") == b"\x00\x01payload\xff"
    vm.get_file("/tmp/pyt/put/in.bin", tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == b"\x00\x01payload\xff"


def test_put_and_get_a_folder(vm: SmolVM, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub" / "subsub").mkdir(parents=True)
    (tree / "a.txt").write_text("A")
    (tree / "sub" / "b.txt").write_text("B")
    (tree / "sub" / "subsub" / "c.bin").write_bytes(b"\x00C")
    vm.put_file(tree, "/tmp/pyt/tree")
    listing = vm.run("cd /tmp/pyt/tree && find . -type f | sort").stdout.split()
    assert listing == ["./a.txt", "./sub/b.txt", "./sub/subsub/c.bin"]
    vm.run("echo new > /tmp/pyt/tree/sub/new.txt", check=True)
    back = tmp_path / "back"
    vm.get_file("/tmp/pyt/tree", back)
    assert (back / "sub" / "subsub" / "c.bin").read_bytes() == b"\x00C"
    assert (back / "sub" / "new.txt").read_text() == "new\n"
    assert (back / "a.txt").read_text() == "A"


def test_file_errors(vm: SmolVM, tmp_path: Path) -> None:
    with pytest.raises(smolvm.NotFoundError, match="/no/such/file"):
        vm.read_file("/no/such/file")
    with pytest.raises(smolvm.NotFoundError, match="/no/such/host"):
        vm.put_file("/no/such/host", "/tmp/x")
    with pytest.raises(smolvm.ConfigError, match="guest_path='relative'.*absolute"):
        vm.write_file("relative", b"x")
    with pytest.raises(smolvm.ConfigError, match="mode="):
        vm.write_file("/tmp/x", b"x", mode=0o17777)


def test_transfer_bounds(vm: SmolVM, tmp_path: Path) -> None:
    # The size limit: a read, a get and a put past max_bytes fail, naming it.
    vm.run("mkdir -p /tmp/pyt && head -c 200000 /dev/zero > /tmp/pyt/200k", check=True)
    with pytest.raises(smolvm.SmolVMError, match="max_bytes=100000"):
        vm.read_file("/tmp/pyt/200k", max_bytes=100_000)
    assert len(vm.read_file("/tmp/pyt/200k", max_bytes=200_000)) == 200_000
    with pytest.raises(smolvm.SmolVMError, match="max_bytes=100000"):
        vm.get_file("/tmp/pyt/200k", tmp_path / "big", max_bytes=100_000)
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    big = tmp_path / "up.bin"
    big.write_bytes(b"x" * 200_000)
    with pytest.raises(smolvm.SmolVMError, match="max_bytes=1000"):
        vm.put_file(big, "/tmp/pyt/up.bin", max_bytes=1000)
    vm.put_file(big, "/tmp/pyt/up.bin", max_bytes=200_000, timeout=60)
    # A folder holding a 20 GiB sparse file: refused on its size, or (with
    # room for it) stopped by the timeout while tar sends zeros.
    vm.run("mkdir -p /tmp/pyt/slow && truncate -s 20G /tmp/pyt/slow/sparse", check=True)
    with pytest.raises(smolvm.SmolVMError, match="max_bytes=1073741824"):
        vm.get_file("/tmp/pyt/slow", tmp_path / "f")
    with pytest.raises(smolvm.TimeoutError, match="timeout_ms=2000"):
        vm.get_file("/tmp/pyt/slow", tmp_path / "f", max_bytes=2 ** 40, timeout=2)
    vm.run("rm -rf /tmp/pyt/slow", check=True)
    assert not (tmp_path / "f").exists()
    # A file onto an existing folder goes into it.
    (tmp_path / "into").mkdir()
    vm.get_file("/tmp/pyt/200k", tmp_path / "into", max_bytes=200_000)
    assert (tmp_path / "into" / "200k").stat().st_size == 200_000


@pytest.mark.parametrize("kwargs, match", [
    ({"max_bytes": 0}, "max_bytes=0"),
    ({"max_bytes": -1}, "max_bytes=-1"),
    ({"max_bytes": True}, "max_bytes=True"),
    ({"max_bytes": 1.5}, "max_bytes=1.5"),
    ({"timeout": 0}, "timeout=0"),
    ({"timeout": -2}, "timeout=-2"),
    ({"timeout": "5"}, "timeout='5'"),
])
def test_transfer_bounds_are_checked(vm: SmolVM, tmp_path: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(smolvm.ConfigError, match=match):
        vm.read_file("/etc/hostname", **kwargs)
    with pytest.raises(smolvm.ConfigError, match=match):
        vm.get_file("/etc/hostname", tmp_path / "x", **kwargs)
    with pytest.raises(smolvm.ConfigError, match=match):
        vm.put_file(tmp_path, "/tmp/x", **kwargs)
