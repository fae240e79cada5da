#!/usr/bin/env bash
# Installs what SmolVM needs from Debian's packages, and only what is missing.
# Every other script starts here, so a fresh Debian 12 machine needs nothing
# else. Run as root or with sudo available.
# Usage: install-deps.sh [quickstart|kernel|recipes|all]
set -euo pipefail

# What the quickstart needs to build SmolVM and run a VM: nothing for tests,
# bindings or compiling a kernel, so a first run installs (and waits for)
# as little as it can.
quickstart=(
  # build
  cmake g++ make pkg-config git binutils
  libarchive-dev libsqlite3-dev libssh2-1-dev libssl-dev libcurl4-openssl-dev libyaml-cpp-dev
  nlohmann-json3-dev
  # guest image: rootfs, Debian's stock kernel and its initramfs
  cpio xz-utils debootstrap e2fsprogs busybox-static
  # running VMs
  qemu-system-x86 qemu-utils
  # networking backends
  nftables iptables iproute2
  # executor-ssh: ssh-keygen makes per-VM keys; `smolvm ssh` runs ssh
  openssh-client
)
# Compiling the guest's own kernel (build-image.sh --kernel built).
kernel=(linux-source-6.1 bc bison flex libelf-dev libssl-dev)
# Image recipes and imports (guest/build-recipe.sh): the plan's reader,
# namespaces for build steps (util-linux), container image archives (skopeo
# reads, umoci unpacks).
recipes=(jq util-linux skopeo umoci)
# Tests, bindings, sanitizers, fuzzing and benchmarks.
tests=(
  libgtest-dev clang-format
  swig python3 python3-dev python3-setuptools python3-pip python3-pytest python3-yaml
  python3-jsonschema golang-go nodejs
  # `smolvm shell` is tested through a real terminal
  tmux
  clang libclang-rt-14-dev
  python3-matplotlib hyperfine
)

case "${1:-all}" in
  quickstart) packages=("${quickstart[@]}") ;;
  kernel) packages=("${kernel[@]}") ;;
  recipes) packages=("${recipes[@]}") ;;
  all) packages=("${quickstart[@]}" "${kernel[@]}" "${recipes[@]}" "${tests[@]}") ;;
  *) echo "usage: $0 [quickstart|kernel|recipes|all]   (all: the default)" >&2; exit 2 ;;
esac

# Node's headers: the machine's Node 20 ships them in /usr/include/node;
# Debian's own nodejs needs libnode-dev (which conflicts with Node 20).
if [ "${1:-all}" = all ] && [ ! -f /usr/include/node/node.h ] && ! dpkg-query -W -f='${Version}' nodejs 2>/dev/null | grep -q nodesource; then
  packages+=(libnode-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
# Another install (the quickstart's background kernel build) may hold the
# lock: wait for it rather than fail.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends "${missing[@]}" >/tmp/smolvm-apt.log 2>&1 || {
  tail -n 30 /tmp/smolvm-apt.log >&2
  echo "install-deps: apt-get install failed (log: /tmp/smolvm-apt.log)" >&2
  exit 1
}
echo "install-deps: done"
