#!/usr/bin/env bash
# The main job on a fresh Debian machine: install what is missing, build,
# make the guest image (cached in ~/.cache/smolvm), boot a microVM, run a
# command in it, print its output, and tear the VM down.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
step() { printf '\n==> %s\n' "$*"; }

step "installing dependencies (Debian packages)"
"$root/scripts/install-deps.sh"
step "building SmolVM"
"$root/scripts/build.sh"
smolvm="${SMOLVM_BUILD_DIR:-$root/build}/bin/smolvm"
step "building the guest image (first time: ~5 min for the kernel, ~1 min for the rootfs)"
"$smolvm" image build
step "checking the host"
"$smolvm" doctor || true
step "starting a microVM, running a command in it, deleting it"
cmd=${1:-'echo "Hello from SmolVM: $(uname -sr), python $(python3 -c "import sys; print(sys.version.split()[0])")"'}
# The first start of this machine boots cold and keeps a template of the
# fresh guest beside the image; every later one (a warm cache) restores it.
id=$("$smolvm" create)
trap '"$smolvm" rm "$id" >/dev/null 2>&1 || true' EXIT
time { "$smolvm" start "$id" && "$smolvm" run "$id" -- "$cmd"; }
"$smolvm" inspect "$id" | python3 -c \
  'import json, sys; i = json.load(sys.stdin); print("boot: %s (%s)" % (i["boot"], i["boot_reason"]))'
"$smolvm" rm "$id"
trap - EXIT
