#!/usr/bin/env bash
# Builds the SmolVM guest image: kernel (vmlinux + bzImage) and an ext4 rootfs
# holding Debian bookworm minbase, python3, openssh-server and smolvm-agent.
#
# Three layers, each cached under $SMOLVM_CACHE_DIR (default ~/.cache/smolvm)
# by a hash of its own inputs, so changing the agent does not rebuild the
# kernel or re-run debootstrap:
#   kernel/<hash>/       vmlinux, bzImage          (config fragment + source version)
#   rootfs-base/<hash>/  base.tar                  (package list + recipe version)
#   images/<hash>/       vmlinux bzImage rootfs.ext4 manifest.json
#                                                  (the two above + agent binary)
# images/default points at the newest complete image built without --name;
# --name NAME links images/names/NAME to it instead (core/runtime/
# image_names.h), and a VM is made from it with --image NAME. Every layer is built in
# a temporary folder and renamed into place only when complete, so a failed or
# interrupted build never leaves a half image in the cache.
#
# Usage: build-image.sh --agent PATH [--name NAME] [--only kernel|rootfs] [--force] [--quiet]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${SMOLVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/smolvm}
agent=""
name=""
only=""
force=0
quiet=0
# Bump a recipe version when the steps below change in a way the hashed
# inputs do not show.
KERNEL_RECIPE=1
ROOTFS_RECIPE=1
IMAGE_RECIPE=2
ROOTFS_PACKAGES="python3,openssh-server,ca-certificates,iproute2,procps,tar,gzip"
ROOTFS_SIZE_MIB=${SMOLVM_ROOTFS_SIZE_MIB:-1024}

usage() {
  cat <<EOF
Usage: $0 --agent PATH [--name NAME] [--only kernel|rootfs] [--force] [--quiet]

Builds (or finds in the cache) the SmolVM guest kernel and rootfs.
  --agent PATH   the static smolvm-agent binary to install as the guest's init
  --name NAME    name the image NAME instead of making it the default
  --only WHAT    build just one layer: kernel or rootfs
  --force        rebuild even when a cached layer matches
  --quiet        print only errors and the final image path
Cache: $cache
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --agent) agent=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --force) force=1; shift ;;
    --quiet) quiet=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build-image: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

start_ts=$(date +%s)
tool=build-image
# shellcheck source=guest/image-lib.sh
. "$here/image-lib.sh"
check_image_name "$name"
# An image's key: its layers' folders (themselves keyed by their inputs), the
# agent and the size. Computable before any layer is built.
image_key() {
  echo "recipe=$IMAGE_RECIPE kernel=$cache/kernel/$(kernel_key) base=$cache/rootfs-base/$(rootfs_key) agent=$1 size=$ROOTFS_SIZE_MIB" | sha
}

kernel_source_tar=/usr/src/linux-source-6.1.tar.xz
kernel_key() {
  local ver
  ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo unknown)
  { echo "recipe=$KERNEL_RECIPE source=$ver"; cat "$here/kernel/smolvm-guest.config"; } | sha
}

build_kernel() {
  local key dir tmp src jobs
  key=$(kernel_key)
  dir=$cache/kernel/$key
  if [ "$force" = 0 ] && [ -f "$dir/vmlinux" ] && [ -f "$dir/bzImage" ]; then
    say "kernel: cached ($dir)"
    kernel_dir=$dir
    return
  fi
  [ -f "$kernel_source_tar" ] || die "$kernel_source_tar not found (apt-get install linux-source-6.1)"
  need make gcc bc bison flex
  mkdir -p "$cache/kernel"
  tmp=$(mktemp -d "$cache/kernel/.build-XXXXXX")
  # Expanded now: under set -e the EXIT trap runs after `local tmp` is gone.
  trap "rm -rf '$tmp'" EXIT
  say "kernel: unpacking linux-source-6.1 (key $key)"
  tar -C "$tmp" -xf "$kernel_source_tar"
  src=$tmp/linux-source-6.1
  jobs=$(nproc)
  say "kernel: configuring (allnoconfig + guest/kernel/smolvm-guest.config)"
  (cd "$src" && KCONFIG_ALLCONFIG="$here/kernel/smolvm-guest.config" make allnoconfig >/dev/null)
  # Refuse a config that silently dropped an option we rely on.
  local opt
  for opt in PVH VIRTIO_MMIO_CMDLINE_DEVICES VIRTIO_BLK VIRTIO_CONSOLE VIRTIO_NET VIRTIO_VSOCKETS EXT4_FS SERIAL_8250_CONSOLE DEVTMPFS; do
    grep -q "^CONFIG_$opt=y" "$src/.config" || die "kernel config lost CONFIG_$opt (check dependencies in smolvm-guest.config)"
  done
  say "kernel: compiling with $jobs jobs (takes a few minutes on 2 cores)"
  run_logged "$tmp/build.log" make -C "$src" -j"$jobs" vmlinux bzImage
  mkdir -p "$tmp/out"
  cp "$src/vmlinux" "$tmp/out/vmlinux"
  cp "$src/arch/x86/boot/bzImage" "$tmp/out/bzImage"
  cp "$src/.config" "$tmp/out/config"
  strip --strip-debug "$tmp/out/vmlinux" 2>/dev/null || true
  publish "$tmp/out" "$dir"
  rm -rf "$tmp"
  trap - EXIT
  say "kernel: done ($dir)"
  kernel_dir=$dir
}

rootfs_key() {
  echo "recipe=$ROOTFS_RECIPE suite=bookworm variant=minbase packages=$ROOTFS_PACKAGES" | sha
}

build_rootfs_base() {
  local key dir tmp
  key=$(rootfs_key)
  dir=$cache/rootfs-base/$key
  if [ "$force" = 0 ] && [ -f "$dir/base.tar" ]; then
    say "rootfs: cached base ($dir)"
    base_dir=$dir
    return
  fi
  need debootstrap
  [ "$(id -u)" = 0 ] || die "debootstrap needs root (run as root or with sudo)"
  mkdir -p "$cache/rootfs-base"
  tmp=$(mktemp -d "$cache/rootfs-base/.build-XXXXXX")
  # Expanded now: under set -e the EXIT trap runs after `local tmp` is gone.
  trap "rm -rf '$tmp'" EXIT
  local mirror
  mirror=$(awk '/^deb / && /debian/ {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  if [ -z "$mirror" ]; then
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  fi
  mirror=${mirror:-http://deb.debian.org/debian}
  say "rootfs: debootstrap bookworm minbase + $ROOTFS_PACKAGES (mirror $mirror)"
  run_logged "$tmp/debootstrap.log" debootstrap --variant=minbase --include="$ROOTFS_PACKAGES" bookworm "$tmp/root" "$mirror"
  say "rootfs: trimming caches and docs"
  rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"* \
    "$tmp/root/usr/share/doc" "$tmp/root/usr/share/man" "$tmp/root/usr/share/info" \
    "$tmp/root/usr/share/locale"
  # sshd host keys are made per VM at first boot, never baked into the image.
  rm -f "$tmp/root/etc/ssh/ssh_host_"*
  mkdir -p "$tmp/out"
  tar -C "$tmp/root" --numeric-owner -cf "$tmp/out/base.tar" .
  publish "$tmp/out" "$dir"
  rm -rf "$tmp"
  trap - EXIT
  say "rootfs: base done ($dir)"
  base_dir=$dir
}

assemble_image() {
  [ -n "$agent" ] || die "--agent PATH is required to assemble the image"
  [ -x "$agent" ] || die "agent binary '$agent' not found or not executable (build the project first)"
  need mkfs.ext4 flock
  local agent_hash key dir tmp
  agent_hash=$(sha <"$agent")
  key=$(image_key "$agent_hash")
  dir=$cache/images/$key
  local out=""
  if [ "$force" = 0 ] && [ -f "$dir/manifest.json" ]; then
    say "image: cached ($dir)"
  else
    refuse_rebuild_in_use "$key"
    mkdir -p "$cache/images"
    tmp=$(mktemp -d "$cache/images/.build-XXXXXX")
    # Any failure here (a full disk) must say so and leave no half image.
    # Expanded now: under set -e the EXIT trap runs after `local tmp` is gone.
    trap "rm -rf '$tmp'; echo 'build-image: assembling the image failed (see above);' \
      'nothing was added to the cache' >&2" EXIT
    say "image: assembling rootfs.ext4 (${ROOTFS_SIZE_MIB} MiB, sparse)"
    mkdir -p "$tmp/root"
    tar -C "$tmp/root" --numeric-owner -xf "$base_dir/base.tar"
    make_bootable "$tmp/root"
    mkdir -p "$tmp/out"
    mkfs.ext4 -q -F -L smolvm-root -E lazy_itable_init=1,lazy_journal_init=1 \
      -d "$tmp/root" "$tmp/out/rootfs.ext4" "${ROOTFS_SIZE_MIB}M"
    cp "$kernel_dir/vmlinux" "$kernel_dir/bzImage" "$tmp/out/"
    cat >"$tmp/out/manifest.json" <<EOF
{
  "format": 1,
  "key": "$key",
  "created": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "kernel": "vmlinux",
  "kernel_bzimage": "bzImage",
  "rootfs": "rootfs.ext4",
  "rootfs_size_mib": $ROOTFS_SIZE_MIB,
  "kernel_key": "$(basename "$kernel_dir")",
  "rootfs_base_key": "$(basename "$base_dir")",
  "agent_sha256_16": "$agent_hash",
  "packages": "$ROOTFS_PACKAGES"
}
EOF
    rm -rf "$tmp/root"
    out=$tmp/out
  fi
  with_images_lock make_default "$key" "$out"
  if [ -n "$out" ]; then
    rm -rf "$tmp"
    trap - EXIT
  fi
  say "image: ready ($dir)"
  [ "$quiet" = 0 ] || echo "$dir"
}

case "$only" in
  # With --quiet, the layer's folder is all that is printed (build-recipe.sh
  # reads it).
  kernel) build_kernel; [ "$quiet" = 0 ] || echo "$kernel_dir" ;;
  rootfs) build_rootfs_base; [ "$quiet" = 0 ] || echo "$base_dir" ;;
  "")
    # Before the long layers: a forced build of an image in use is refused.
    if [ "$force" = 1 ] && [ -x "$agent" ]; then refuse_rebuild_in_use "$(image_key "$(sha <"$agent")")"; fi
    build_kernel; build_rootfs_base; assemble_image ;;
  *) die "--only takes kernel or rootfs, not '$only'" ;;
esac
say "total $(( $(date +%s) - start_ts ))s"
