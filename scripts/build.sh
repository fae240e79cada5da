#!/usr/bin/env bash
# Configures and builds SmolVM into build/ (or $SMOLVM_BUILD_DIR).
# Extra arguments go to cmake's configure step, after the defaults (tests
# and bindings on), so they can turn either off. Warnings are errors here
# (SMOLVM_WERROR=ON, what CI checks); pass -DSMOLVM_WERROR=OFF to build
# with a compiler that warns where Debian 12's GCC does not.
# SMOLVM_BUILD_TARGETS: build only these targets (the quickstart's way).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SMOLVM_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMOLVM_WERROR=ON \
  -DSMOLVM_TESTS=ON -DSMOLVM_BUILD_BINDINGS=ON "$@" >/dev/null
targets=()
for t in ${SMOLVM_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
echo "build: $build/bin/smolvm"
