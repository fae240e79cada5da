#!/usr/bin/env bash
# Builds a named guest image from an image recipe (`smolvm image build -f`),
# reading the plan the library made of it (smolvm_image_recipe_load: the
# recipe checked, its paths resolved, its base recipes nested).
#
# Every step is a layer, cached under $SMOLVM_CACHE_DIR/layers/<key>/root.tar
# (the whole root tree after the step), its key a hash of the layer below's
# key and of everything the step reads (a copied file's content included).
# An unchanged recipe is therefore a no-op, and a changed step rebuilds from
# that step on. The image itself is images/<key>/ as build-image.sh makes
# it, named images/names/<name>. Layers and images are built in temporary
# folders and renamed into place when complete, so a failure, a full disk or
# Ctrl-C leaves the cache as it was.
#
# Build steps run in the image's own root with its own userland: chroot,
# inside new mount and PID namespaces (unshare) that hold a fresh /proc, a
# /dev of a few device nodes on a tmpfs and nothing of the host's, and that
# vanish with the step, so nothing stays mounted whatever the step does.
#
# Usage: build-recipe.sh --plan FILE --image-builder build-image.sh --agent PATH
#                        [--name NAME] [--force] [--quiet]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${SMOLVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/smolvm}
plan="" image_builder="" agent="" name="" force=0 quiet=0
# Bump when the way a layer or image is made changes in a way keys do not show.
LAYER_FORMAT=1
# 2: the default working directory exists in the image; the manifest says
# whether it has the tools a guest restored from a template runs.
IMAGE_FORMAT=2
DEFAULT_SIZE_MIB=1024

while [ $# -gt 0 ]; do
  case "$1" in
    --plan) plan=$2; shift 2 ;;
    --image-builder) image_builder=$2; shift 2 ;;
    --agent) agent=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --force) force=1; shift ;;
    --quiet) quiet=1; shift ;;
    *) echo "build-recipe: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

start_ts=$(date +%s)
tool=build-recipe
# shellcheck source=guest/image-lib.sh
. "$here/image-lib.sh"

[ -f "$plan" ] || die "--plan FILE is required (smolvm image build -f makes it)"
plan_json=$(cat "$plan")
rm -f "$plan"  # the CLI's temporary file: ours to remove
[ -x "$agent" ] || die "agent binary '$agent' not found or not executable (build the project first)"
[ -f "$image_builder" ] || die "--image-builder build-image.sh not found"
need jq tar chroot unshare mkfs.ext4 flock debugfs
[ "$(id -u)" = 0 ] || die "building from a recipe needs root (chroot, apt-get as the image's root)"
name=${name:-$(jq -r .name <<<"$plan_json")}
check_image_name "$name"

mkdir -p "$cache/layers"
work=$(mktemp -d "$cache/layers/.build-XXXXXX")
# Expanded now: under set -e the EXIT trap runs after locals are gone. The
# work folder holds every half-made layer and image tree.
trap "rm -rf '$work'" EXIT
# The message goes to the stderr this script started with: a signal that
# comes while a step runs is handled inside that step's function, whose
# output goes to its log (which the EXIT trap then removes).
exec {stderr_fd}>&2
trap 'echo "build-recipe: interrupted; nothing was added to the cache" >&$stderr_fd; exit 130' INT TERM

mib_of() { echo $(( ($(stat -c %s "$1") + 1048575) / 1048576 )); }

# The tree the next uncached step works on: extracted once, then changed in
# place step after step ("" until a step is not cached).
tree=""
tree_key=""

# Makes $tree the root tree of layer $1 (its tar $2).
tree_at() {
  local key=$1 tar=$2
  [ "$tree_key" = "$key" ] && return
  rm -rf "$work/root"
  mkdir -p "$work/root"
  tar -C "$work/root" --numeric-owner -xf "$tar"
  tree=$work/root
  tree_key=$key
}

# Runs "$@" as root in $tree: chroot in private mount and PID namespaces
# with a fresh /proc and a minimal /dev, a clean environment plus the
# recipe's env. stdin is passed through. --kill-child: when unshare ends
# (Ctrl-C reaches it with the rest of the process group) the namespace's
# first process is killed, and every process of the step with it, also one
# forked after the signal went out.
in_root() {
  local -a env_args=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
  local kv
  while IFS= read -r kv; do [ -n "$kv" ] && env_args+=("$kv"); done < <(jq -r '.env[]' <<<"$recipe_json")
  unshare --mount --pid --fork --kill-child --propagation private -- /bin/bash -c '
    set -e
    root=$1; shift
    mkdir -p "$root/proc" "$root/dev"
    mount -t proc proc "$root/proc"
    mount -t tmpfs -o mode=0755,size=1m dev "$root/dev"
    for d in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
      IFS=: read -r n ma mi <<<"$d"
      mknod -m 666 "$root/dev/$n" c "$ma" "$mi"
    done
    ln -s /proc/self/fd "$root/dev/fd"
    mkdir -p "$root/dev/pts" "$root/dev/shm"
    exec chroot "$root" /usr/bin/env -i "$@"
  ' in_root "$tree" "${env_args[@]}" "$@"
}

step_packages() {
  local step=$1
  local -a pkgs
  mapfile -t pkgs < <(jq -r '.packages[]' <<<"$step")
  # The host's resolver for apt; services never start in a chroot.
  local had_resolv=0
  if [ -e "$tree/etc/resolv.conf" ] || [ -L "$tree/etc/resolv.conf" ]; then
    mv "$tree/etc/resolv.conf" "$work/resolv.conf.image"; had_resolv=1
  fi
  cp /etc/resolv.conf "$tree/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$tree/usr/sbin/policy-rc.d"
  chmod 0755 "$tree/usr/sbin/policy-rc.d"
  local rc=0
  in_root /bin/sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends "$@" &&
    apt-get clean && rm -rf /var/lib/apt/lists/*' apt "${pkgs[@]}" >"$work/step.log" 2>&1 || rc=$?
  rm -f "$tree/usr/sbin/policy-rc.d" "$tree/etc/resolv.conf"
  [ "$had_resolv" = 0 ] || mv "$work/resolv.conf.image" "$tree/etc/resolv.conf"
  return $rc
}

# A file or folder from the host, copied in by a tar the image's own tar
# unpacks inside the chroot: the destination's path is resolved in the
# image's root, so a link in the image can never lead the copy out of it.
step_file() {
  local step=$1 src dest
  src=$(jq -r .src <<<"$step")
  dest=$(jq -r .dest <<<"$step")
  if [ -d "$src" ]; then
    tar -C "$src" --owner=0 --group=0 --numeric-owner -cf - . |
      in_root /bin/sh -c 'mkdir -p "$1" && tar -x --no-same-owner -f - -C "$1"' copy "$dest" \
        >"$work/step.log" 2>&1
  else
    in_root /bin/sh -c 'mkdir -p "$(dirname "$1")" && cat >"$1" && chmod "$2" "$1"' copy \
      "$dest" "$(stat -c %a "$src")" <"$src" >"$work/step.log" 2>&1
  fi
}

step_run() {
  local step=$1
  in_root /bin/sh -c "$(jq -r .command <<<"$step")" >"$work/step.log" 2>&1
}

# What a step reads besides its own text: a copied file's or folder's content.
content_hash() {
  local step=$1 src
  [ "$(jq -r .kind <<<"$step")" = file ] || { echo none; return; }
  src=$(jq -r .src <<<"$step")
  if [ -d "$src" ]; then
    tar -C "$src" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - . | sha
  else
    { stat -c %a "$src"; cat "$src"; } | sha
  fi
}

# Builds (or finds) the layers of one recipe, its base first. Sets top_key
# and top_tar to its last layer.
build_layers() {
  local recipe_json=$1 base_kind
  base_kind=$(jq -r .base.kind <<<"$recipe_json")
  case "$base_kind" in
    default)
      local base_dir
      base_dir=$(bash "$image_builder" --agent "$agent" --only rootfs --quiet)
      top_tar=$base_dir/base.tar
      top_key=$(echo "default-base $(basename "$base_dir")" | sha)
      ;;
    recipe)
      build_layers "$(jq -c .base.recipe <<<"$recipe_json")"
      ;;
    image)
      base_image_layer "$(jq -r .base.image <<<"$recipe_json")"
      ;;
    archive)
      archive_layer "$(jq -r .base.archive <<<"$recipe_json")"
      ;;
    *) die "plan: unknown base kind '$base_kind'" ;;
  esac
  local n i step kind key dir what
  n=$(jq '.steps | length' <<<"$recipe_json")
  for ((i = 0; i < n; i++)); do
    step=$(jq -c ".steps[$i]" <<<"$recipe_json")
    kind=$(jq -r .kind <<<"$step")
    key=$(echo "format=$LAYER_FORMAT parent=$top_key step=$(jq -c 'del(.at)' <<<"$step") content=$(content_hash "$step")" | sha)
    dir=$cache/layers/$key
    case "$kind" in
      packages) what="packages: $(jq -r '.packages | join(" ")' <<<"$step")" ;;
      file) what="file: $(jq -r '.src + " -> " + .dest' <<<"$step")" ;;
      run) what="run: $(jq -r '.command | split("\n")[0]' <<<"$step")" ;;
    esac
    local label="[$(jq -r .name <<<"$recipe_json") $((i + 1))/$n]"
    if [ "$force" = 0 ] && [ -f "$dir/root.tar" ]; then
      say "$label $what: cached ($(mib_of "$dir/root.tar") MiB)"
    else
      say "$label $what"
      tree_at "$top_key" "$top_tar"
      if ! "step_$kind" "$step"; then
        tail -n 30 "$work/step.log" >&2
        die "$(jq -r .at <<<"$step"): $kind step failed (output above); nothing was added to the cache"
      fi
      mkdir -p "$work/out"
      tar -C "$tree" --numeric-owner -cf "$work/out/root.tar" .
      # The layer below, for `smolvm image prune` (core/runtime/layer_prune.h).
      echo "$top_key" >"$work/out/parent"
      publish "$work/out" "$dir"
      tree_key=$key  # the tree is this layer now
      say "$label done: layer $key ($(mib_of "$dir/root.tar") MiB)"
    fi
    top_key=$key
    top_tar=$dir/root.tar
  done
}

# A named image as a base: its rootfs read with debugfs (no mount of an ext4
# file into the host's kernel), cached as a layer keyed by the image's key.
base_image_layer() {
  local image=$1 image_dir key dir link
  link=$cache/images/names/$image
  [ "$image" != default ] || link=$cache/images/default
  image_dir=$(readlink -f "$link" 2>/dev/null || true)
  [ -f "$image_dir/rootfs.ext4" ] || die "base image '$image': no such image (smolvm image ls lists them)"
  key=$(echo "format=$LAYER_FORMAT image=$(basename "$image_dir")" | sha)
  dir=$cache/layers/$key
  if [ "$force" = 1 ] || [ ! -f "$dir/root.tar" ]; then
    say "base image $image: reading its rootfs"
    rm -rf "$work/root" && mkdir -p "$work/root"
    debugfs -R "rdump / $work/root" "$image_dir/rootfs.ext4" >"$work/step.log" 2>&1 ||
      { tail -n 20 "$work/step.log" >&2; die "cannot read image $image's rootfs"; }
    mkdir -p "$work/out"
    tar -C "$work/root" --numeric-owner -cf "$work/out/root.tar" .
    publish "$work/out" "$dir"
    tree=$work/root
    tree_key=$key
  fi
  top_key=$key
  top_tar=$dir/root.tar
}

# Every link in an unpacked image rewritten to the relative path it means in
# the guest, whose root is the tree's root: an absolute link (/sbin ->
# /usr/sbin) or one that climbs above the root (../../etc) would otherwise
# lead the host's own tools (make_bootable, tar) out of the tree.
contain_links() {
  local root=$1 link rel dir target guest_abs wanted
  while IFS= read -r -d '' link; do
    rel=${link#"$root"}
    dir=$(dirname "$rel")
    target=$(readlink "$link")
    case "$target" in
      /*) guest_abs=$(realpath -ms "$target") ;;
      *) guest_abs=$(realpath -ms "$dir/$target") ;;
    esac
    wanted=$(realpath -ms --relative-to="$root$dir" "$root$guest_abs")
    [ "$wanted" = "$target" ] || ln -sfn "$wanted" "$link"
  done < <(find "$root" -type l -print0)
}

# A container image archive as a base (`smolvm image import`): the output of
# docker save, an OCI image layout folder or its tar. skopeo reads any of
# them into an OCI layout of ours; umoci unpacks its layers in order,
# applying whiteouts, and resolves every entry's path inside the root
# (`..` entries and links in a layer cannot reach the host). Then device
# nodes are removed (a guest has its own /dev) and links are contained.
# The image's config (Entrypoint, Cmd, Env, WorkingDir, User) becomes the
# defaults of its VMs.
archive_layer() {
  local archive=$1 key dir layout=$work/oci ref digest config
  [ -e "$archive" ] || die "import: '$archive': no such file or folder"
  need skopeo umoci
  rm -rf "$layout"
  local src
  if [ -d "$archive" ]; then
    src="oci:$archive"
  elif tar -tf "$archive" oci-layout >/dev/null 2>&1; then
    src="oci-archive:$archive"
  elif tar -tf "$archive" manifest.json >/dev/null 2>&1; then
    src="docker-archive:$archive"
  else
    die "import: '$archive' is not a container image archive (docker save output, or an OCI image layout folder or tar)"
  fi
  skopeo copy -q "$src" "oci:$layout:import" >"$work/step.log" 2>&1 ||
    { tail -n 10 "$work/step.log" >&2; die "import: skopeo cannot read '$archive' as $src"; }
  digest=$(jq -r '.manifests[0].digest' "$layout/index.json")
  config=$(jq -r '.config.digest' "$layout/blobs/sha256/${digest#sha256:}")
  archive_config=$(jq -c '.config // {}' "$layout/blobs/sha256/${config#sha256:}")
  key=$(echo "format=$LAYER_FORMAT archive-manifest=$digest" | sha)
  dir=$cache/layers/$key
  if [ "$force" = 0 ] && [ -f "$dir/root.tar" ]; then
    say "import: layers of $archive: cached ($(mib_of "$dir/root.tar") MiB)"
  else
    say "import: unpacking $archive ($(jq '.layers | length' "$layout/blobs/sha256/${digest#sha256:}") layers)"
    umoci unpack --image "$layout:import" "$work/bundle" >"$work/step.log" 2>&1 ||
      { tail -n 10 "$work/step.log" >&2; die "import: umoci cannot unpack '$archive'"; }
    local devices
    devices=$(find "$work/bundle/rootfs" -xdev \( -type b -o -type c \) -print -delete | wc -l)
    [ "$devices" = 0 ] || say "import: removed $devices device node(s) from the image"
    contain_links "$work/bundle/rootfs"
    mkdir -p "$work/out"
    tar -C "$work/bundle/rootfs" --numeric-owner -cf "$work/out/root.tar" .
    publish "$work/out" "$dir"
    rm -rf "$work/root"
    mv "$work/bundle/rootfs" "$work/root"
    tree=$work/root
    tree_key=$key
  fi
  rm -rf "$layout" "$work/bundle"
  top_key=$key
  top_tar=$dir/root.tar
}

archive_config="{}"
kernel_dir=$(bash "$image_builder" --agent "$agent" --only kernel --quiet)
build_layers "$plan_json"

# The image: the last layer made bootable, with the recipe's defaults for
# its VMs in the manifest.
agent_hash=$(sha <"$agent")
# An imported image's config first, the plan's own (a recipe's) over it.
defaults=$(jq -c --argjson c "$archive_config" '{
  env: (($c.Env // []) + .env), user: (if .user != "" then .user else ($c.User // "") end),
  workdir: (if .workdir != "" then .workdir else ($c.WorkingDir // "") end),
  entrypoint: ($c.Entrypoint // []), cmd: ($c.Cmd // [])}' <<<"$plan_json")
size_mib=$(jq -r .disk_size_mib <<<"$plan_json")
key=$(echo "format=$IMAGE_FORMAT layer=$top_key kernel=$(basename "$kernel_dir") agent=$agent_hash size=$size_mib defaults=$defaults" | sha)
dir=$cache/images/$key
out=""
if [ "$force" = 0 ] && [ -f "$dir/manifest.json" ]; then
  say "image: cached ($dir)"
else
  [ "$force" = 0 ] || refuse_rebuild_in_use "$key"
  say "image: assembling rootfs.ext4 from layer $top_key"
  tree_at "$top_key" "$top_tar"
  make_bootable "$tree"
  # Commands start in the default working directory, which an image's
  # config may name without having (docker makes it at run time). The path
  # is normalised first: `..` cannot climb out of the tree, and an
  # imported image's links were contained (contain_links).
  workdir=$(jq -r .workdir <<<"$defaults")
  [ -z "$workdir" ] || mkdir -p "$tree$(realpath -ms "/$workdir")"
  used_mib=$(( $(du -sm "$tree" | cut -f1) ))
  if [ "$size_mib" = 0 ]; then
    size_mib=$(( used_mib * 5 / 4 + 128 ))
    [ "$size_mib" -ge "$DEFAULT_SIZE_MIB" ] || size_mib=$DEFAULT_SIZE_MIB
  fi
  mkdir -p "$work/image"
  mkfs.ext4 -q -F -L smolvm-root -E lazy_itable_init=1,lazy_journal_init=1 \
    -d "$tree" "$work/image/rootfs.ext4" "${size_mib}M" >"$work/step.log" 2>&1 ||
    { tail -n 5 "$work/step.log" >&2; die "mkfs.ext4 failed: the tree takes $used_mib MiB; disk.size_mib is $size_mib"; }
  cp "$kernel_dir/vmlinux" "$kernel_dir/bzImage" "$work/image/"
  # What a guest restored from a template runs (core/runtime/image.h,
  # image_has_template_tools); without them its VMs boot cold.
  template_tools=false
  if [ -x "$tree/usr/bin/perl" ] && { [ -x "$tree/bin/date" ] || [ -x "$tree/usr/bin/date" ]; }; then
    template_tools=true
  fi
  jq -n --arg key "$key" --arg created "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --argjson size "$size_mib" --arg kernel_key "$(basename "$kernel_dir")" \
    --arg layer "$top_key" --arg agent "$agent_hash" --argjson plan "$plan_json" \
    --argjson defaults "$defaults" --argjson template_tools "$template_tools" \
    '{format: 1, key: $key, created: $created, kernel: "vmlinux", kernel_bzimage: "bzImage",
      rootfs: "rootfs.ext4", rootfs_size_mib: $size, kernel_key: $kernel_key,
      agent_sha256_16: $agent, layer: $layer, recipe: $plan.name, recipe_source: $plan.source,
      defaults: $defaults, template_tools: $template_tools}' >"$work/image/manifest.json"
  out=$work/image
  mkdir -p "$cache/images"
fi
with_images_lock make_default "$key" "$out"
say "image: ready, named $name ($dir)"
[ "$quiet" = 0 ] || echo "$dir"
say "total $(( $(date +%s) - start_ts ))s"
