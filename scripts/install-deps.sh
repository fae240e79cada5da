#!/usr/bin/env bash
# Installs what SmolVM needs from Debian's packages, and only what is missing.
# Every other script starts here, so a fresh Debian 12 machine needs nothing
# else. Run as root or with sudo available.
set -euo pipefail

packages=(
  # build
  cmake g++ make pkg-config git
  libarchive-dev libsqlite3-dev libssh2-1-dev libcurl4-openssl-dev libyaml-cpp-dev nlohmann-json3-dev
  libgtest-dev clang-format
  # bindings and their tests
  swig python3 python3-dev python3-setuptools python3-pip python3-pytest python3-yaml
  python3-jsonschema golang-go nodejs
  # guest image: kernel build, rootfs, tiny tools
  linux-source-6.1 bc bison flex libelf-dev libssl-dev cpio xz-utils debootstrap e2fsprogs
  busybox-static
  # image recipes and imports: the plan's reader, namespaces for build steps
  # (util-linux), container image archives (skopeo reads, umoci unpacks)
  jq util-linux skopeo umoci
  # running VMs
  qemu-system-x86 qemu-utils
  # networking backends and their tests
  nftables iptables iproute2
  # executor-ssh: ssh-keygen makes per-VM keys; `smolvm ssh` runs ssh
  openssh-client
  # sanitizers and fuzzing
  clang libclang-rt-14-dev
  # benchmarks
  python3-matplotlib hyperfine
)

# Node's headers: the machine's Node 20 ships them in /usr/include/node;
# Debian's own nodejs needs libnode-dev (which conflicts with Node 20).
if [ ! -f /usr/include/node/node.h ] && ! dpkg-query -W -f='${Version}' nodejs 2>/dev/null | grep -q nodesource; then
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
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/smolvm-apt.log 2>&1 || {
  tail -n 30 /tmp/smolvm-apt.log >&2
  echo "install-deps: apt-get install failed (log: /tmp/smolvm-apt.log)" >&2
  exit 1
}
echo "install-deps: done"
