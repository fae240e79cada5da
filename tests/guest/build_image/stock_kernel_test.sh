#!/usr/bin/env bash
# guest/build-image.sh --kernel stock|auto, end to end: Debian's stock cloud
# kernel (fetched from the Debian mirror, no compiling) with the initramfs the
# script makes boots a real VM under QEMU, which runs a command, snapshots and
# forks; `doctor` and `image ls` say which kernel new VMs get; auto takes the
# built kernel when it is cached.
#
# The test's own cache holds the images it makes (the machine's default image
# is never moved); it reuses the machine's rootfs base and kernel layers, and
# keeps the stock kernel layer in the machine's cache (keyed by its inputs,
# like every layer) so later runs do not fetch it again.
# Usage: stock_kernel_test.sh SMOLVM AGENT BUILD_IMAGE
set -euo pipefail
smolvm=$1 agent=$2 build_image=$3
real=${SMOLVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/smolvm}
work=$(mktemp -d /tmp/svstock.XXXXXX)
export SMOLVM_CACHE_DIR=$work/cache SMOLVM_STATE_DIR=$work/state SMOLVM_AGENT=$agent
export SMOLVM_IMAGE_BUILDER=$build_image
cleanup() {
  "$smolvm" ls -q 2>/dev/null | xargs -r "$smolvm" rm -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_in() { # TEXT NEEDLE WHAT
  case "$1" in *"$2"*) ;; *) fail "$3: '$2' not in: $1" ;; esac
}

[ -d "$real/rootfs-base" ] && [ -d "$real/kernel" ] || fail "no cached layers in $real (run smolvm image build)"
mkdir -p "$SMOLVM_CACHE_DIR" "$real/kernel-stock"
ln -s "$real/rootfs-base" "$SMOLVM_CACHE_DIR/rootfs-base"
ln -s "$real/kernel" "$SMOLVM_CACHE_DIR/kernel"
ln -s "$real/kernel-stock" "$SMOLVM_CACHE_DIR/kernel-stock"

echo "--- a bad --kernel is refused, naming it"
out=$("$smolvm" image build --kernel fast 2>&1) && fail "--kernel fast was accepted"
expect_in "$out" "--kernel 'fast': must be built, stock or auto" "refusal"

echo "--- auto takes the built kernel when it is cached"
out=$(bash "$build_image" --agent "$agent" --kernel auto --only kernel 2>&1)
expect_in "$out" "kernel: cached ($SMOLVM_CACHE_DIR/kernel/" "auto with a built kernel"

echo "--- the stock image"
"$smolvm" image build --kernel stock
manifest=$SMOLVM_CACHE_DIR/images/default/manifest.json
expect_in "$(cat "$manifest")" '"kernel_kind": "stock"' "manifest"
expect_in "$(cat "$manifest")" '"initrd": "initrd.img"' "manifest"
expect_in "$("$smolvm" image ls)" " stock " "image ls"
expect_in "$("$smolvm" doctor 2>&1 || true)" "(stock kernel, boots in seconds" "doctor"

echo "--- a VM boots it and runs a command"
out=$("$smolvm" run --rm -- 'uname -r; ls /dev/vda /dev/vport*; echo ok-$((6*7))' 2>&1)
echo "$out"
expect_in "$out" "-cloud-amd64" "the stock kernel's release"
expect_in "$out" "ok-42" "the command's output"

echo "--- its snapshot restores on the same machine (ACPI and initrd again)"
"$smolvm" create --id stock-src --start >/dev/null
"$smolvm" exec stock-src -- sh -c 'echo written-before > /root/f'
forked=$("$smolvm" fork stock-src -n 1 | tail -n 1)
expect_in "$("$smolvm" exec "$forked" -- cat /root/f)" "written-before" "the fork's file"
echo "PASS"
