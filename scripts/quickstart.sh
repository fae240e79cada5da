#!/usr/bin/env bash
# The main job on a fresh Debian machine: install what is missing, build,
# make the guest image (cached in ~/.cache/smolvm), boot a microVM, run a
# command in it, print its output, and tear the VM down.
#
# A first run waits for as little as it can: it installs only the packages
# running VMs needs, builds only the runtime (no tests or bindings), fetches
# the guest's Debian rootfs while that builds, and, when SmolVM's own guest
# kernel is not cached yet, boots Debian's stock kernel instead of compiling
# one first (build-image.sh --kernel auto). It then compiles the built kernel
# in the background (niced, logged in the cache folder); the next image build
# uses it, and VMs boot in about a second instead of three or four.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SMOLVM_BUILD_DIR:-$root/build}
cache=${SMOLVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/smolvm}
smolvm="$build/bin/smolvm"
start=$(date +%s)
step() { printf '\n==> [%ss] %s\n' "$(($(date +%s) - start))" "$*"; }

step "installing dependencies (the Debian packages running VMs needs)"
"$root/scripts/install-deps.sh" quickstart

step "building the SmolVM runtime, while the guest's rootfs downloads"
mkdir -p "$cache"
rootfs_log=$cache/quickstart-rootfs.log
# The rootfs layer needs nothing from the build: debootstrap spends most of
# its time waiting for the mirror, the compiler for the CPU.
"$root/guest/build-image.sh" --only rootfs >"$rootfs_log" 2>&1 &
rootfs_pid=$!
trap 'kill "$rootfs_pid" 2>/dev/null || true' EXIT
SMOLVM_BUILD_DIR=$build SMOLVM_BUILD_TARGETS=smolvm-runtime "$root/scripts/build.sh" \
  -DSMOLVM_TESTS=OFF -DSMOLVM_BUILD_BINDINGS=OFF
if ! wait "$rootfs_pid"; then
  tail -n 20 "$rootfs_log" >&2
  echo "quickstart: fetching the guest's rootfs failed (log: $rootfs_log)" >&2
  exit 1
fi
trap - EXIT

step "building the guest image (the built kernel if cached, else Debian's stock kernel)"
"$smolvm" image build --kernel auto
step "checking the host"
"$smolvm" doctor || true
step "starting a microVM, running a command in it, deleting it"
cmd=${1:-'echo "Hello from SmolVM: $(uname -sr), python $(python3 -c "import sys; print(sys.version.split()[0])")"'}
# The first start on this machine boots cold and keeps a template of the
# fresh guest beside the image; every later one (a warm cache) restores it.
id=$("$smolvm" create)
trap '"$smolvm" rm "$id" >/dev/null 2>&1 || true' EXIT
time { "$smolvm" start "$id" && "$smolvm" run "$id" -- "$cmd"; }
"$smolvm" inspect "$id" | grep -E '^ *"boot(_reason)?":'
"$smolvm" rm "$id"
trap - EXIT

if "$smolvm" doctor --json 2>/dev/null | grep -q '"kernel_kind": "stock"'; then
  kernel_log=$cache/kernel-build.log
  kernel_lock=$cache/kernel-build.lock
  if flock -n "$kernel_lock" true; then
    step "compiling SmolVM's own guest kernel in the background"
    # Detached and niced: the user's next commands keep the CPU. When it is
    # done, the image it makes becomes the default; VMs made before keep
    # theirs. The lock keeps a second quickstart from starting another.
    setsid nice -n 19 flock -n "$kernel_lock" bash -c \
      '"$1" kernel && "$2" image build --kernel built' \
      quickstart-kernel "$root/scripts/install-deps.sh" "$smolvm" >"$kernel_log" 2>&1 </dev/null &
  else
    step "SmolVM's own guest kernel is still compiling in the background"
  fi
  echo "VMs boot with Debian's stock kernel until it is ready (log: $kernel_log)."
fi
step "done"
