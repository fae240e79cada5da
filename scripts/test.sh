#!/usr/bin/env bash
# Every test, from a fresh Debian machine: install what is missing, build,
# make the guest image, run the unit, VM and binding tests, then the unit
# tests again under AddressSanitizer + UBSan and in an optimised Release
# build. Warnings are errors in every build. Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SMOLVM_BUILD_DIR:-$root/build}
asan=${SMOLVM_ASAN_BUILD_DIR:-$root/build-asan}
release=${SMOLVM_RELEASE_BUILD_DIR:-$root/build-release}
step() { printf '\n==> %s\n' "$*"; }
start=$(date +%s)

step "installing dependencies"
"$root/scripts/install-deps.sh"
step "checking formatting (clang-format)"
"$root/scripts/check-format.sh"
step "building"
SMOLVM_BUILD_DIR=$build "$root/scripts/build.sh"
step "building the guest image (cached in ~/.cache/smolvm)"
"$build/bin/smolvm" image build
step "running the tests (unit, C ABI, VMs, bindings)"
(cd "$build" && ctest --output-on-failure --timeout 900 -j1)
step "running the unit tests under AddressSanitizer + UBSan"
SMOLVM_BUILD_DIR=$asan "$root/scripts/build.sh" -DSMOLVM_SANITIZE=ON -DSMOLVM_BUILD_BINDINGS=OFF
(cd "$asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -L unit -j2)
# -O3 inlines more, so GCC warns where it does not at -O2, and packagers
# build this way. The bindings (SWIG's generated wrappers, compiled above)
# are left out to keep CI short.
step "building the Release configuration (-O3) and running its unit tests"
SMOLVM_BUILD_DIR=$release "$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=Release -DSMOLVM_BUILD_BINDINGS=OFF
(cd "$release" && ctest --output-on-failure -L unit -j2)
echo "all tests passed in $(( $(date +%s) - start )) s"
