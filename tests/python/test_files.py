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
