#!/usr/bin/env bash
# What a Python user of an installed SmolVM gets, checked end to end: installs
# a build tree into a temporary prefix, checks the installed extension's
# RUNPATH, that the configured prefix's package folder is on the
# interpreter's own path (so an install into /usr/local needs no PYTHONPATH),
# then runs check_installed_python.py in an empty environment with
# `python3 -I` (no PYTHONPATH, no user site, not the script's folder) from a
# folder of its own: it imports smolvm from the prefix alone and lists VMs
# and runs doctor; with --run-vm it also runs a command in a real VM.
#
# usage: python_against_install.sh BUILD_DIR SOURCE_DIR CMAKE PYTHON CONFIGURED_PREFIX \
#          SITE_REL LIB_REL [--run-vm]
# SITE_REL and LIB_REL are the package's and libsmolvm's folders relative to
# the prefix (SMOLVM_PYTHON_INSTALL_DIR, SMOLVM_INSTALL_LIBDIR). The
# temporary folder is removed however this ends.
set -euo pipefail
[ $# -ge 7 ] || {
  echo "usage: $0 BUILD_DIR SOURCE_DIR CMAKE PYTHON CONFIGURED_PREFIX SITE_REL LIB_REL [--run-vm]" >&2
  exit 2
}
build=$1 source=$2 cmake=$3 python=$4 configured_prefix=$5 site_rel=$6 lib_rel=$7 run_vm=${8:-}

# Short: the VM's Unix sockets live under the state folder (108 bytes).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/svpy.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix site_dir=$tmp/prefix/$site_rel lib_dir=$tmp/prefix/$lib_rel

fail() { echo "FAIL: $*" >&2; exit 1; }

echo "installing $build into $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install"; }

extension=$(find "$site_dir/smolvm" -maxdepth 1 -name '_lowlevel.*.so')
[ -n "$extension" ] || fail "no smolvm/_lowlevel.*.so installed in $site_dir"
for f in __init__.py lowlevel.py py.typed; do
  [ -f "$site_dir/smolvm/$f" ] || fail "smolvm/$f not installed in $site_dir"
done
# The one search path is relative to the extension and leads to the prefix's
# libsmolvm: none into the build tree.
runpath=$(readelf -d "$extension" | sed -n 's/.*(\(RPATH\|RUNPATH\)).*\[\(.*\)\]$/\2/p')
# shellcheck disable=SC2016 # the literal $ORIGIN
case $runpath in
  '$ORIGIN/'*) ;;
  *) fail "$extension has RPATH/RUNPATH '$runpath', want one relative to \$ORIGIN" ;;
esac
[ "$(realpath "$site_dir/smolvm/${runpath#\$ORIGIN/}")" = "$(realpath "$lib_dir")" ] ||
  fail "$extension's RUNPATH $runpath does not lead to $lib_dir"
echo "ok: $extension has RUNPATH $runpath"

# Installed into the configured prefix (/usr/local by default), the package
# is where this interpreter itself looks.
"$python" -I -c 'import site, sys; sys.exit(sys.argv[1] not in site.getsitepackages())' \
  "$configured_prefix/$site_rel" ||
  fail "$configured_prefix/$site_rel is not on $python's path ($("$python" -I -c 'import site; print(site.getsitepackages())'));" \
       "set SMOLVM_PYTHON_INSTALL_DIR to one of those under $configured_prefix"
echo "ok: $configured_prefix/$site_rel is on $python's path"

mkdir "$tmp/work" "$tmp/state"
keep=(HOME="$HOME" PATH=/usr/sbin:/usr/bin:/sbin:/bin SMOLVM_STATE_DIR="$tmp/state")
# The guest images, where the caller keeps them.
[ -z "${SMOLVM_CACHE_DIR:-}" ] || keep+=(SMOLVM_CACHE_DIR="$SMOLVM_CACHE_DIR")
(cd "$tmp/work" && env -i "${keep[@]}" "$python" -I -B "$source/tests/install/check_installed_python.py" \
  "$site_dir" "$lib_dir" "$(realpath "$build")" "$(realpath "$source")" ${run_vm:+"$run_vm"})
echo "all checks passed"
