#!/usr/bin/env bash
# Configures and builds SmolVM into build/ (or $SMOLVM_BUILD_DIR).
# Extra arguments go to cmake's configure step. Warnings are errors here
# (SMOLVM_WERROR=ON, what CI checks); pass -DSMOLVM_WERROR=OFF to build
# with a compiler that warns where Debian 12's GCC does not.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SMOLVM_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMOLVM_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
echo "build: $build/bin/smolvm"
