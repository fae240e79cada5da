"""What a Python user of an installed SmolVM sees, run by
python_against_install.sh under `python3 -I` in an empty environment:
imports smolvm from the install's site-packages folder alone and checks
that the package, its native extension, libsmolvm, the plugins and the
supervisor all come from the prefix and nothing from the build or source
tree; then lists VMs and runs doctor, and with --run-vm runs a command in
a real VM.

usage: check_installed_python.py SITE_DIR LIB_DIR FORBIDDEN_DIR... [--run-vm]
SITE_DIR and LIB_DIR are the install's, absolute; the FORBIDDEN_DIRs are the
build and source trees.
"""

import os
import site
import sys


def fail(message: str) -> None:
    sys.exit(f"FAIL: {message}")


def mapped_files() -> set:
    """The files this process has mapped: the libraries it loaded."""
    files = set()
    with open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            fields = line.split(None, 5)
            if len(fields) == 6 and fields[5].startswith("/"):
                files.add(fields[5].rstrip("\n"))
    return files


def inside(path: str, folders: list) -> bool:
    return any(path == f or path.startswith(f + "/") for f in folders)


def loaded(name_start: str) -> str:
    """The one mapped file whose name starts with name_start."""
    found = {p for p in mapped_files() if os.path.basename(p).startswith(name_start)}
    if len(found) != 1:
        fail(f"want one loaded {name_start}*, found {sorted(found)}")
    return found.pop()


def main() -> None:
    args = sys.argv[1:]
    run_vm = args[-1:] == ["--run-vm"]
    if run_vm:
        args = args[:-1]
    site_dir, lib_dir, forbidden = args[0], args[1], args[2:]
    if any(inside(p, forbidden) for p in sys.path):
        fail(f"sys.path reaches the build or source tree: {sys.path}")

    # What Python does with a site-packages folder on its path.
    site.addsitedir(site_dir)
    import smolvm  # noqa: E402 - only now is the install on the path

    package = os.path.join(site_dir, "smolvm")
    if smolvm.__file__ != os.path.join(package, "__init__.py"):
        fail(f"smolvm imported from {smolvm.__file__}, not from {package}")
    extension = loaded("_lowlevel.")
    if os.path.dirname(extension) != package:
        fail(f"the native extension is {extension}, not in {package}")
    library = loaded("libsmolvm.so")
    if os.path.realpath(library) != os.path.realpath(os.path.join(lib_dir, "libsmolvm.so.1")):
        fail(f"libsmolvm loaded from {library}, not from {lib_dir}")
    print(f"ok: smolvm {smolvm.__version__} from {smolvm.__file__}, "
          f"its extension {extension} on {library}")

    report = smolvm.doctor()
    plugin_dir = os.path.join(lib_dir, "smolvm", "plugins")
    if report["plugin_dirs"] != [plugin_dir]:
        fail(f"plugins are looked for in {report['plugin_dirs']}, not in {plugin_dir}")
    bad = [(p["path"], p["error"]) for p in report["plugins"]
           if os.path.dirname(p["path"]) != plugin_dir or p["error"]]
    if not report["plugins"] or bad:
        fail(f"plugins not all loaded from {plugin_dir}: {bad or 'none found'}")
    supervisor = [c["message"] for c in report["checks"] if c["name"] == "supervisor"]
    if supervisor != [os.path.join(lib_dir, "smolvm", "smolvm-supervisor")]:
        fail(f"doctor's supervisor is {supervisor}, not the one in {lib_dir}/smolvm")
    if report["state_dir"] != os.environ["SMOLVM_STATE_DIR"]:
        fail(f"state folder {report['state_dir']}, want $SMOLVM_STATE_DIR")
    vms = smolvm.list_vms()
    if vms != []:
        fail(f"a fresh state folder lists VMs: {vms}")
    print(f"ok: doctor loads {len(report['plugins'])} plugins from {plugin_dir}, "
          f"the supervisor {supervisor[0]}; no VMs listed")

    if run_vm:
        with smolvm.SmolVM() as vm:
            result = vm.run("echo hello from the guest; exit 3")
            vm_id = vm.vm_id
        if (result.exit_code, result.output) != (3, "hello from the guest"):
            fail(f"the command gave exit {result.exit_code}, output {result.output!r}")
        if smolvm.list_vms() != []:
            fail(f"the with block left VMs: {smolvm.list_vms()}")
        print(f"ok: VM {vm_id} ran a command and was deleted")

    from_trees = sorted(p for p in mapped_files() if inside(p, forbidden))
    if from_trees:
        fail(f"loaded from the build or source tree: {from_trees}")
    print(f"ok: nothing loaded from {' or '.join(forbidden)}")


if __name__ == "__main__":
    main()
