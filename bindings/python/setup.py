"""Installs the SmolVM Python package from a CMake build, offline.

The package is built by CMake (the SWIG extension needs libsmolvm), so pip
only copies it:

    cmake -S . -B build && cmake --build build --target smolvm_python
    python3 -m pip install --no-build-isolation build/bindings/python

(``bindings/python`` in the source tree works too: it finds the build via
$SMOLVM_BUILD_DIR, else ./build or ./build-py at the top of the source tree.)
``--no-build-isolation`` uses Debian's python3-setuptools instead of
fetching setuptools from PyPI. On Debian's own python3 add
``--break-system-packages`` or ``--user``, or use a venv made with
``--system-site-packages``.

The installed package is self-contained: libsmolvm, its plugins and its
supervisor are copied into smolvm/_lib (the extension's RPATH looks there
first), so it keeps working after the build tree is gone. Guest images stay
in ~/.cache/smolvm.
"""

import json
import os
import shutil
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def find_built_package() -> Path:
    """The folder holding smolvm/lowlevel.py and smolvm_build.json."""
    candidates = [HERE]
    if os.environ.get("SMOLVM_BUILD_DIR"):
        candidates.append(Path(os.environ["SMOLVM_BUILD_DIR"]) / "bindings" / "python")
    top = HERE.parent.parent
    candidates += [top / "build" / "bindings" / "python", top / "build-py" / "bindings" / "python"]
    for c in candidates:
        if (c / "smolvm" / "lowlevel.py").is_file() and (c / "smolvm_build.json").is_file():
            return c
    raise SystemExit(
        "smolvm: no built Python package found (looked in: "
        + ", ".join(str(c) for c in candidates)
        + "). Build it first: cmake --build <build> --target smolvm_python, then "
        "pip install --no-build-isolation <build>/bindings/python "
        "(or set SMOLVM_BUILD_DIR).")


BUILT = find_built_package()
INFO = json.loads((BUILT / "smolvm_build.json").read_text())


class BuildWithLibrary(build_py):
    """build_py that also bundles libsmolvm, plugins and supervisor."""

    def run(self) -> None:
        super().run()
        lib_dir = Path(INFO["lib_dir"])
        dest = Path(self.build_lib) / "smolvm" / "_lib"
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        shutil.copy2(lib_dir / INFO["library"], dest / INFO["library"])  # follows symlinks
        shutil.copytree(lib_dir / "smolvm", dest / "smolvm", symlinks=False)


class BinaryDistribution(Distribution):
    """The package holds compiled code: make a platform wheel."""

    def has_ext_modules(self) -> bool:
        return True


setup(
    name="smolvm",
    version=INFO["version"],
    description="Disposable Linux microVMs for AI agents",
    long_description=(BUILT / "README.md").read_text() if (BUILT / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=["smolvm"],
    package_dir={"smolvm": os.path.relpath(BUILT / "smolvm", HERE)},
    package_data={"smolvm": ["py.typed", "_lowlevel*.so"]},
    cmdclass={"build_py": BuildWithLibrary},
    # Scratch files go to the CMake build, never into the source tree.
    options={"build": {"build_base": str(BUILT / "pip-build")},
             "egg_info": {"egg_base": str(BUILT)}},
    distclass=BinaryDistribution,
    zip_safe=False,
)
