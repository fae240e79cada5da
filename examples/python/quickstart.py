#!/usr/bin/env python3
"""SmolVM quick start: the everyday calls of the Python API.

Run from a CMake build (no install needed):
    PYTHONPATH=build/bindings/python python3 examples/python/quickstart.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from smolvm import VM, ConfigError, SmolVM, VMConfig


def main() -> None:
    # 1. Explicit lifecycle. SmolVM() records the VM; start() boots it.
    vm = SmolVM()
    vm.start()
    r = vm.run("echo 'Hello from SmolVM'")
    print(r.output)  # stdout, stripped
    vm.stop()
    vm.delete()  # close() would only release the object: the VM would stay

    # 2. A with block: boots on entry, stops and deletes on exit.
    with SmolVM(vcpu_count=2, memory=1024) as vm:
        print(vm.run("free -m").output)

        # Results: exit code, stdout, stderr, output (stdout stripped),
        # combined (stdout then stderr), ok.
        r = vm.run("echo to-stdout; echo to-stderr >&2; exit 3")
        print(f"exit={r.exit_code} ok={r.ok} stdout={r.stdout!r} stderr={r.stderr!r}")

        # argv lists need no shell quoting; env, cwd and timeouts.
        r = vm.run(["python3", "-c", "import os; print(os.getcwd(), os.environ['NAME'])"],
                   env={"NAME": "smol"}, cwd="/tmp", timeout=30)
        print(r.stdout, end="")

        # Streaming: pull events while the command runs.
        for ev in vm.stream("for i in 1 2 3; do echo tick $i; sleep 0.2; done"):
            if ev.kind == "exit":
                print(f"stream exited with {ev.exit_code}")
            else:
                print(f"[{ev.kind}] {ev.text}", end="")

        # Files: bytes in and out, and whole folders.
        vm.write_file("/root/hello.py", "print('hi from a file')\n")
        print(vm.run("python3 /root/hello.py").stdout, end="")
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp) / "project"
            project.mkdir()
            (project / "data.txt").write_text("42\n")
            vm.put_file(project, "/work/project")
            vm.run("wc -l /work/project/data.txt > /work/project/count.txt", check=True)
            vm.get_file("/work/project", Path(tmp) / "back")
            print("count:", (Path(tmp) / "back" / "count.txt").read_text(), end="")

        print("status:", vm.status, "id:", vm.id, "ip:", vm.ip)

    # 3. A config object; "shared" boots the read-only base image with a
    #    throwaway overlay (nothing is copied).
    config = VMConfig(disk_mode="shared", mem_size_mib=512)
    with SmolVM(config=config) as vm:
        print("disk mode:", vm.info().disk_mode)

    # 4. A workspace that outlives this object (and this process): the
    #    first SmolVM(vm_id=...) creates it, later ones attach to it.
    ws = SmolVM(vm_id="quickstart-workspace")
    try:
        ws.start()
        ws.set_env_vars({"PROJECT": "demo"})  # every later command sees it
        ws.write_file("/root/notes.txt", b"remember me")
        ws.close()  # the VM keeps running
        again = SmolVM(vm_id="quickstart-workspace")  # any process can do this
        print("reattached:", again.status, again.read_file("/root/notes.txt"),
              again.run("echo $PROJECT").output)
    finally:
        VM.from_id("quickstart-workspace").delete()

    # 5. Errors are exceptions that name the field, the value and the range.
    try:
        SmolVM(mem_size_mib=64)
    except ConfigError as err:
        print(f"ConfigError ({err.code}): {err}")


if __name__ == "__main__":
    main()
