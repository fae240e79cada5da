#!/usr/bin/env bash
# Builds the SmolVM guest image: kernel (vmlinux + bzImage) and an ext4 rootfs
# holding Debian bookworm minbase, python3, openssh-server and smolvm-agent.
#
# Layers, each cached under $SMOLVM_CACHE_DIR (default ~/.cache/smolvm) by a
# hash of its own inputs, so changing the agent does not rebuild the kernel
# or re-run debootstrap:
#   kernel/<hash>/       vmlinux, bzImage          (config fragment + source version)
#   kernel-stock/<hash>/ vmlinuz, initrd.img       (Debian's cloud kernel package +
#                                                   the initramfs recipe)
#   rootfs-base/<hash>/  base.tar                  (package list + recipe version)
#   images/<hash>/       kernel, rootfs.ext4, manifest.json
#                                                  (a kernel layer + base + agent)
# The built kernel boots in about a second under TCG but takes minutes to
# compile; the stock kernel needs no compiling but boots in 3-4 s (its
# drivers load from an initramfs and it needs ACPI to find its devices).
# --kernel auto (what the quickstart uses) takes the built kernel when it is
# cached and the stock one otherwise, so a first run need not wait for the
# compiler; the next build with the built kernel cached makes a new image.
# images/default points at the newest complete image built without --name;
# --name NAME links images/names/NAME to it instead (core/runtime/
# image_names.h), and a VM is made from it with --image NAME. Every layer is
# built in a temporary folder and renamed into place only when complete, so a
# failed or interrupted build never leaves a half image in the cache.
#
# Usage: build-image.sh --agent PATH [--name NAME] [--kernel built|stock|auto]
#                       [--only kernel|rootfs] [--force] [--quiet]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${SMOLVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/smolvm}
agent=""
name=""
only=""
kernel_choice=built
force=0
quiet=0
# Bump a recipe version when the steps below change in a way the hashed
# inputs do not show.
KERNEL_RECIPE=1
STOCK_KERNEL_RECIPE=1
ROOTFS_RECIPE=1
IMAGE_RECIPE=3
ROOTFS_PACKAGES="python3,openssh-server,ca-certificates,iproute2,procps,tar,gzip"
ROOTFS_SIZE_MIB=${SMOLVM_ROOTFS_SIZE_MIB:-1024}

usage() {
  cat <<EOF
Usage: $0 --agent PATH [--name NAME] [--kernel built|stock|auto] [--only kernel|rootfs]
          [--force] [--quiet]

Builds (or finds in the cache) the SmolVM guest kernel and rootfs.
  --agent PATH   the static smolvm-agent binary to install as the guest's init
  --name NAME    name the image NAME instead of making it the default
  --kernel WHICH built (default): compile the guest kernel (minutes, once);
                 stock: Debian's cloud kernel with a small initramfs (no
                 compiling, slower boot); auto: built if cached, else stock
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
    --kernel) kernel_choice=$2; shift 2 ;;
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
  echo "recipe=$IMAGE_RECIPE kernel=$(kernel_layer_dir) base=$cache/rootfs-base/$(rootfs_key) agent=$1 size=$ROOTFS_SIZE_MIB" | sha
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

# Debian's cloud kernel: the package the linux-image-cloud-amd64 meta
# package points at, and the version apt would fetch.
stock_kernel_package() {
  apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}'
}

# The modules the guest needs from the stock kernel, each after the ones it
# depends on (checked at build time against the modules' own depends= list):
# virtio-mmio transport, disk, agent channel, network, entropy.
STOCK_MODULES="virtio_ring virtio virtio_mmio virtio_blk virtio_console failover net_failover virtio_net virtio-rng"
# Under TCG the stock kernel cannot calibrate its TSC (microvm has no PIT,
# HPET or PM timer) and sometimes hangs there; these skip the calibration.
# KVM guests calibrate from the hypervisor and get none of them.
STOCK_TCG_ARGS="tsc_early_khz=2000000 lpj=636928 no_timer_check"

# Asked of apt once: the key is wanted several times and apt-cache is slow.
stock_key_memo=""
stock_kernel_key() {
  [ -z "$stock_key_memo" ] || { echo "$stock_key_memo"; return; }
  local pkg ver
  pkg=$(stock_kernel_package)
  ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
  { echo "recipe=$STOCK_KERNEL_RECIPE package=$pkg version=$ver modules=$STOCK_MODULES"
    echo "busybox=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown)"
    cat "$here/kernel/stock-initramfs-init"; } | sha
}
# Called in a subshell ($(...)) the memo would not survive: fill it here.
memo_stock_kernel_key() { stock_key_memo=$(stock_kernel_key); }

build_stock_kernel() {
  local key dir tmp pkg kver m ko deps dep loaded=" "
  key=$(stock_kernel_key)
  dir=$cache/kernel-stock/$key
  if [ "$force" = 0 ] && [ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd.img" ]; then
    say "kernel: cached stock kernel ($dir)"
    kernel_dir=$dir
    return
  fi
  need apt-get dpkg-deb cpio gzip strings
  [ -x /bin/busybox ] || die "/bin/busybox not found (apt-get install busybox-static)"
  pkg=$(stock_kernel_package)
  [ -n "$pkg" ] || die "apt knows no linux-image-cloud-amd64 (run apt-get update)"
  mkdir -p "$cache/kernel-stock"
  tmp=$(mktemp -d "$cache/kernel-stock/.build-XXXXXX")
  # Expanded now: under set -e the EXIT trap runs after `local tmp` is gone.
  trap "rm -rf '$tmp'" EXIT
  say "kernel: fetching Debian's $pkg (no compiling; key $key)"
  # As root, apt drops to _apt for downloads, which cannot write here.
  (cd "$tmp" && run_logged "$tmp/download.log" apt-get download -o APT::Sandbox::User=root "$pkg")
  dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/pkg"
  kver=${pkg#linux-image-}
  mkdir -p "$tmp/initramfs/bin" "$tmp/initramfs/lib/modules" "$tmp/out"
  for m in $STOCK_MODULES; do
    ko=$(find "$tmp/pkg/lib/modules/$kver" -name "$m.ko" | head -n 1)
    [ -n "$ko" ] || die "module $m is not in $pkg (the kernel changed: update STOCK_MODULES)"
    deps=$(strings "$ko" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' ')
    for dep in $deps; do
      case "$loaded" in *" $dep "*) ;; *) die "module $m needs $dep loaded before it (update STOCK_MODULES)" ;; esac
    done
    cp "$ko" "$tmp/initramfs/lib/modules/"
    loaded="$loaded$m "
  done
  cp /bin/busybox "$tmp/initramfs/bin/busybox"
  sed "s/^MODULES=\"\"$/MODULES=\"$STOCK_MODULES\"/" "$here/kernel/stock-initramfs-init" >"$tmp/initramfs/init"
  chmod 0755 "$tmp/initramfs/init"
  (cd "$tmp/initramfs" && find . | cpio -o -H newc --quiet | gzip -6 >"$tmp/out/initrd.img")
  cp "$tmp/pkg/boot/vmlinuz-$kver" "$tmp/out/vmlinuz"
  echo "$kver" >"$tmp/out/version"
  publish "$tmp/out" "$dir"
  rm -rf "$tmp"
  trap - EXIT
  say "kernel: stock kernel $kver ready ($dir)"
  kernel_dir=$dir
}

# --kernel auto: the built kernel when it is cached, else the stock one.
resolve_kernel_choice() {
  case "$kernel_choice" in
    built | stock) ;;
    auto)
      if [ -f "$cache/kernel/$(kernel_key)/vmlinux" ]; then kernel_choice=built; else kernel_choice=stock; fi ;;
    *) die "--kernel takes built, stock or auto, not '$kernel_choice'" ;;
  esac
  [ "$kernel_choice" != stock ] || memo_stock_kernel_key
}

# The folder of the chosen kernel layer (it need not exist yet).
kernel_layer_dir() {
  if [ "$kernel_choice" = stock ]; then
    echo "$cache/kernel-stock/$(stock_kernel_key)"
  else
    echo "$cache/kernel/$(kernel_key)"
  fi
}

build_chosen_kernel() {
  if [ "$kernel_choice" = stock ]; then build_stock_kernel; else build_kernel; fi
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
    # Commands may run unprivileged (EXEC "user"): `user`, uid and gid 1000,
    # with a home and bash.
    useradd --root "$tmp/root" --create-home --uid 1000 --user-group --shell /bin/bash user
    mkdir -p "$tmp/out"
    mkfs.ext4 -q -F -L smolvm-root -E lazy_itable_init=1,lazy_journal_init=1 \
      -d "$tmp/root" "$tmp/out/rootfs.ext4" "${ROOTFS_SIZE_MIB}M"
    local kernel_fields
    if [ "$kernel_choice" = stock ]; then
      cp "$kernel_dir/vmlinuz" "$kernel_dir/initrd.img" "$tmp/out/"
      # How core boots it (core/runtime/image.h, KernelBoot).
      kernel_fields='"kernel": "vmlinuz",
  "kernel_kind": "stock",
  "kernel_version": "'"$(cat "$kernel_dir/version")"'",
  "initrd": "initrd.img",
  "kernel_boot": { "acpi": true, "args_tcg": "'"$STOCK_TCG_ARGS"'" },'
    else
      cp "$kernel_dir/vmlinux" "$kernel_dir/bzImage" "$tmp/out/"
      kernel_fields='"kernel": "vmlinux",
  "kernel_kind": "built",
  "kernel_bzimage": "bzImage",'
    fi
    cat >"$tmp/out/manifest.json" <<EOF
{
  "format": 1,
  "key": "$key",
  "created": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  $kernel_fields
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

resolve_kernel_choice
case "$only" in
  # With --quiet, the layer's folder is all that is printed (build-recipe.sh
  # reads it).
  kernel) build_chosen_kernel; [ "$quiet" = 0 ] || echo "$kernel_dir" ;;
  rootfs) build_rootfs_base; [ "$quiet" = 0 ] || echo "$base_dir" ;;
  "")
    # Before the long layers: a forced build of an image in use is refused.
    if [ "$force" = 1 ] && [ -x "$agent" ]; then refuse_rebuild_in_use "$(image_key "$(sha <"$agent")")"; fi
    build_chosen_kernel; build_rootfs_base; assemble_image ;;
  *) die "--only takes kernel or rootfs, not '$only'" ;;
esac
say "total $(( $(date +%s) - start_ts ))s"
