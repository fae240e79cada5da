#!/usr/bin/env bash
# What a C user of an installed SmolVM does, checked end to end: installs
# a build tree into a temporary prefix, then builds out-of-tree projects
# that see only that prefix - examples/c once with find_package(SmolVM) and
# once with pkg-config, and examples/plugin with the installed plugin SDK -
# and checks that each binary runs against the installed libsmolvm and that
# the installed smolvm loads the plugin. With --run-vm, the installed example also boots a
# real VM and runs a command in it.
#
# usage: build_against_install.sh BUILD_DIR SOURCE_DIR VERSION CMAKE PKG_CONFIG CC [--run-vm]
# $CFLAGS goes to every out-of-tree compile (the build's -Werror and
# sanitizer flags). The temporary folder is removed however this ends.
set -euo pipefail
[ $# -ge 6 ] || { echo "usage: $0 BUILD_DIR SOURCE_DIR VERSION CMAKE PKG_CONFIG CC [--run-vm]" >&2; exit 2; }
build=$1 source=$2 version=$3 cmake=$4 pkg_config=$5 cc=$6 run_vm=${7:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smolvm-install-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
# Nothing from the environment may point the projects at another SmolVM.
unset CMAKE_PREFIX_PATH PKG_CONFIG_PATH PKG_CONFIG_LIBDIR LD_LIBRARY_PATH SmolVM_DIR

fail() { echo "FAIL: $*" >&2; exit 1; }
# Runs a command quietly; on failure shows its output and stops.
quiet() {
  local log=$tmp/last.log
  "$@" >"$log" 2>&1 || { cat "$log" >&2; fail "$*"; }
}

# The binary loads libsmolvm from the prefix (ldd resolves it there) and
# that library is this build's (its version). Extra arguments: VAR=value
# for the environment the binary runs in.
check_uses_installed_library() {
  local bin=$1
  shift
  local resolved out
  resolved=$(env "$@" ldd "$bin" | awk '$1 ~ /^libsmolvm\.so/ { print $3 }')
  [ "$(realpath "$resolved")" = "$(realpath "$prefix/lib/libsmolvm.so.1")" ] ||
    fail "$bin loads libsmolvm from '$resolved', not from $prefix/lib"
  out=$(env "$@" "$bin" --version) || fail "$bin --version exited non-zero"
  [ "$out" = "libsmolvm $version" ] || fail "$bin --version said '$out', want 'libsmolvm $version'"
  echo "ok: $bin runs against $resolved"
}

# build_with_cmake NAME SOURCE: configures and builds a CMake project with
# the prefix as its only CMAKE_PREFIX_PATH; checks find_package found the
# package there. The binaries are in $tmp/NAME-cmake.
build_with_cmake() {
  local name=$1 src=$2 dir=$tmp/$1-cmake found
  quiet "$cmake" -S "$src" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  found=$(sed -n 's/^SmolVM_DIR:PATH=//p' "$dir/CMakeCache.txt")
  [ "$found" = "$prefix/lib/cmake/SmolVM" ] || fail "$name: find_package(SmolVM) found '$found'"
  quiet "$cmake" --build "$dir"
}

# pkg_config_smolvm ARGS: `pkg-config ARGS smolvm` with the prefix's
# pkgconfig folder as the only one added to pkg-config's own.
pkg_config_smolvm() { PKG_CONFIG_PATH=$prefix/lib/pkgconfig "$pkg_config" "$@" smolvm; }

echo "installing $build into $prefix"
quiet "$cmake" --install "$build" --prefix "$prefix"
[ "$(pkg_config_smolvm --variable=prefix)" = "$prefix" ] ||
  fail "smolvm.pc has prefix '$(pkg_config_smolvm --variable=prefix)', want $prefix"
[ "$(pkg_config_smolvm --modversion)" = "$version" ] ||
  fail "smolvm.pc has version '$(pkg_config_smolvm --modversion)', want $version"

# examples/c, through the CMake package.
build_with_cmake c-example "$source/examples/c"
hello_cmake=$tmp/c-example-cmake/smolvm-hello
check_uses_installed_library "$hello_cmake"

# examples/c, the way its README builds it with pkg-config. Without an
# RPATH the loader needs LD_LIBRARY_PATH for a prefix outside its paths.
mkdir "$tmp/c-example-pkg-config"
hello_pc=$tmp/c-example-pkg-config/smolvm-hello
# shellcheck disable=SC2046,SC2086 # flags are word lists
quiet "$cc" -std=c99 -Wall -Wextra -pedantic ${CFLAGS:-} -o "$hello_pc" "$source/examples/c/hello.c" \
  $(pkg_config_smolvm --cflags --libs)
check_uses_installed_library "$hello_pc" LD_LIBRARY_PATH="$prefix/lib"

# examples/plugin: a network plugin built against the installed headers and
# SDK alone, loaded by the installed smolvm (LD_LIBRARY_PATH: the prefix may
# be outside the loader's paths).
build_with_cmake plugin-example "$source/examples/plugin"
plugin_dir=$tmp/plugin-example-cmake
[ -f "$plugin_dir/smolvm-network-noop.so" ] || fail "examples/plugin built no smolvm-network-noop.so"
exports=$(nm -D --defined-only "$plugin_dir/smolvm-network-noop.so" | awk '$2 == "T" { print $3 }' | sort | tr '\n' ' ')
[ "$exports" = "smolvm_plugin_entry smolvm_plugin_network_noop " ] ||
  fail "examples/plugin exports '$exports', want its two entry points only"
listing=$(LD_LIBRARY_PATH=$prefix/lib SMOLVM_PLUGIN_PATH=$plugin_dir "$prefix/bin/smolvm" plugins) ||
  fail "smolvm plugins refused a plugin: $listing"
echo "$listing" | grep -Eq "^network +noop +1\.0\.0 +1\.[0-9]+ +$plugin_dir/smolvm-network-noop\.so$" ||
  fail "smolvm plugins did not list the example plugin as usable: $listing"
echo "ok: the installed smolvm loads the out-of-tree plugin"

if [ "$run_vm" = --run-vm ]; then
  # The installed library finds its supervisor and plugins beside itself.
  out=$("$hello_cmake" 'echo hello from the guest; exit 3') && code=0 || code=$?
  [ "$code" = 3 ] || fail "smolvm-hello exited $code, want the command's 3; output: $out"
  [ "$out" = $'hello from the guest\nexit code: 3' ] || fail "smolvm-hello printed '$out'"
  echo "ok: the installed example ran a command in a VM"
  # The out-of-tree plugin as a VM's network, through the installed smolvm.
  log=$tmp/noop.log
  out=$(LD_LIBRARY_PATH=$prefix/lib SMOLVM_PLUGIN_PATH=$plugin_dir SMOLVM_NOOP_LOG=$log \
    "$prefix/bin/smolvm" run --rm --network noop -- cat /sys/class/net/eth0/carrier 2>&1) && code=0 || code=$?
  # A NIC with nothing behind it: reading its carrier fails (EINVAL) or says 0.
  [ "$code" != 125 ] || fail "smolvm run --network noop failed: $out"
  grep -q '^setup vm-' "$log" && grep -q '^teardown vm-' "$log" ||
    fail "the noop plugin was not called for setup and teardown: $(cat "$log" 2>/dev/null)"
  echo "ok: a VM ran on the out-of-tree network plugin"
fi
echo "all checks passed"
