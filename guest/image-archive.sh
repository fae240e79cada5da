#!/usr/bin/env bash
# Moves a cached guest image between hosts as one file (`smolvm image save`,
# `smolvm image load`).
#
# The file is a tar (zstd, gzip or no compression, by its name) of the
# image's own files - manifest.json and the kernel, initrd and rootfs it
# names - with the sparse rootfs stored sparse, led by smolvm-image.json:
#   {"format": 1, "key": KEY, "name": NAME or "",
#    "files": {FILE: {"bytes": N, "sha256": HEX}, ...}}
#
# A loaded file is untrusted. Before anything is written its listing must
# hold only plain files with plain names (no folder, link, device, absolute
# or `..` path, no name twice), exactly the files smolvm-image.json lists,
# of the sizes it gives; the manifest must name only those files and carry
# the same key. After extraction into a temporary folder under images/,
# every file's size and SHA-256 are checked again. Only then is the folder
# renamed into place (under images/.lock), so a refused or interrupted load
# leaves the cache as it was. An image already in the cache is not loaded
# again.
#
# Usage: image-archive.sh save IMAGE_DIR NAME FILE [--quiet]
#        image-archive.sh load FILE [--name NAME] [--quiet]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${SMOLVM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/smolvm}
quiet=0 name="" agent=""
start_ts=$(date +%s)
tool=image-archive
# shellcheck source=guest/image-lib.sh
. "$here/image-lib.sh"
# Progress goes to stderr: stdout may be a pipe the user reads.
say() { [ "$quiet" = 1 ] || printf '[%4ss] %s\n' "$(( $(date +%s) - start_ts ))" "$*" >&2; }

ARCHIVE_FORMAT=1
INDEX=smolvm-image.json
# Progress every this many tar records (10 KiB each): 256 MiB.
CHECKPOINT=26214
# The files an image folder may hold that a VM needs, by manifest key.
FILE_KEYS='["kernel", "kernel_bzimage", "initrd", "rootfs"]'

# The compressor a file name asks for: zstd (default), gzip or none.
compressor_of() {
  case "$1" in
    *.tar) echo none ;;
    *.tar.gz | *.tgz) echo gzip ;;
    *) echo zstd ;;
  esac
}

# tar's running total on stderr, so a long save or load shows progress.
progress=()

save() {
  local dir=$1 out=$2 key files f tmp
  [ -f "$dir/manifest.json" ] || die "'$dir' is not an image folder (no manifest.json)"
  need tar jq sha256sum
  key=$(basename "$dir")
  mapfile -t files < <(jq -r --argjson keys "$FILE_KEYS" \
    '. as $m | $keys[] | $m[.] // empty' "$dir/manifest.json")
  files=(manifest.json "${files[@]}")
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/smolvm-save-XXXXXX")
  # shellcheck disable=SC2064 # expanded now: the trap runs after the locals are gone
  trap "rm -rf '$tmp' '$out.tmp'" EXIT
  trap 'echo "$tool: interrupted; $out was not written" >&2; exit 130' INT TERM
  local index='{}'
  for f in "${files[@]}"; do
    [ -f "$dir/$f" ] || die "image $key is incomplete: $f is missing"
    say "save: hashing $f ($(( $(stat -c %s "$dir/$f") >> 20 )) MiB)"
    index=$(jq --arg f "$f" --argjson b "$(stat -c %s "$dir/$f")" \
      --arg h "$(sha256sum <"$dir/$f" | cut -d' ' -f1)" '.[$f] = {bytes: $b, sha256: $h}' <<<"$index")
  done
  jq -n --argjson format "$ARCHIVE_FORMAT" --arg key "$key" --arg name "$name" \
    --argjson files "$index" '{format: $format, key: $key, name: $name, files: $files}' \
    >"$tmp/$INDEX"
  local comp
  comp=$(compressor_of "$out")
  [ "$comp" = none ] || need "$comp"
  say "save: writing $out ($comp)"
  tar --sparse --numeric-owner --owner=0 --group=0 "${progress[@]}" -cf - \
    -C "$tmp" "$INDEX" -C "$dir" "${files[@]}" |
    case "$comp" in
      none) cat ;;
      gzip) gzip -1 ;;
      zstd) zstd -q -T0 -3 ;;
    esac >"$out.tmp"
  mv "$out.tmp" "$out"
  say "save: $out, $(( $(stat -c %s "$out") >> 20 )) MiB, image $key${name:+ ($name)}"
}

# Refuses the file unless its listing is plain files with plain names, none
# twice; prints "NAME BYTES" lines.
checked_listing() {
  local file=$1 line type size entry
  declare -A seen=()
  # GNU tar quotes unprintable bytes in names (\n stays two characters), so
  # every entry is one line: MODE OWNER SIZE DATE TIME NAME[ -> TARGET].
  tar --numeric-owner -tvf "$file" 2>"$work/list.err" >"$work/list" ||
    die "load: '$file' is not a tar archive SmolVM can read ($(head -n 1 "$work/list.err"))"
  [ -s "$work/list" ] || die "load: '$file' is empty"
  while IFS= read -r line; do
    type=${line:0:1}
    [ "$type" = - ] || die "load: '$file' holds '$line': only plain files may be in an image archive (no folders, links or devices)"
    read -r _ _ size _ _ entry <<<"$line"
    [[ "$entry" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] ||
      die "load: '$file' holds the path '$entry': only plain file names are allowed (no folders, absolute or '..' paths)"
    [ -z "${seen[$entry]:-}" ] || die "load: '$file' holds $entry twice"
    seen[$entry]=1
    echo "$entry $size"
  done <"$work/list"
}

load() {
  local file=$1 listing index key dir f bytes want
  [ -f "$file" ] || die "load: '$file': no such file"
  need tar jq sha256sum flock
  mkdir -p "$cache/images"
  work=$(mktemp -d "$cache/images/.load-XXXXXX")
  # shellcheck disable=SC2064 # expanded now, as in save
  trap "rm -rf '$work'" EXIT
  trap 'echo "$tool: interrupted; nothing was added to the cache" >&2; exit 130' INT TERM
  say "load: checking $file"
  listing=$(checked_listing "$file")
  grep -q "^$INDEX " <<<"$listing" || die "load: '$file' is not a SmolVM image archive (no $INDEX; make one with smolvm image save)"
  [ "$(grep "^$INDEX " <<<"$listing" | cut -d' ' -f2)" -le 65536 ] || die "load: $INDEX in '$file' is larger than 64 KiB"
  mkdir "$work/index"
  tar -xf "$file" -C "$work/index" --no-same-owner --no-same-permissions -- "$INDEX"
  index=$(jq -c . "$work/index/$INDEX" 2>/dev/null) || die "load: $INDEX in '$file' is not JSON"
  [ "$(jq -r '.format' <<<"$index")" = "$ARCHIVE_FORMAT" ] ||
    die "load: $INDEX: format=$(jq -c .format <<<"$index"): this SmolVM reads format $ARCHIVE_FORMAT"
  key=$(jq -r '.key | strings' <<<"$index")
  [[ "$key" =~ ^[0-9a-f]{16}$ ]] || die "load: $INDEX: key='$key': must be 16 hex digits"
  jq -e '.files | type == "object"' <<<"$index" >/dev/null || die "load: $INDEX: files must be an object"
  # The listing and the index agree: the same files, of the same sizes.
  local listed indexed
  listed=$(grep -v "^$INDEX " <<<"$listing" | sort)
  indexed=$(jq -r '.files | to_entries[] | "\(.key) \(.value.bytes)"' <<<"$index" | sort)
  [ "$listed" = "$indexed" ] || die "load: $INDEX does not describe the files of '$file' (listed: ${listed//$'\n'/, }; $INDEX: ${indexed//$'\n'/, })"
  jq -e '.files["manifest.json"]' <<<"$index" >/dev/null || die "load: '$file' has no manifest.json"
  if [ -z "$name" ]; then name=$(jq -r '.name | strings' <<<"$index"); fi
  check_image_name "$name"

  dir=$cache/images/$key
  if [ -f "$dir/manifest.json" ]; then
    say "load: image $key is already in the cache: nothing loaded"
    [ -z "$name" ] || { with_images_lock make_default "$key" ""; say "load: named $name"; }
    return
  fi
  mkdir "$work/image"
  say "load: extracting $(( $(jq '[.files[].bytes] | add' <<<"$index") >> 20 )) MiB"
  mapfile -t files < <(jq -r '.files | keys[]' <<<"$index")
  tar -xf "$file" -C "$work/image" --no-same-owner --no-same-permissions "${progress[@]}" \
    -- "${files[@]}"
  for f in "${files[@]}"; do
    if [ ! -f "$work/image/$f" ] || [ -L "$work/image/$f" ]; then
      die "load: $f did not come out of '$file' as a plain file"
    fi
    bytes=$(stat -c %s "$work/image/$f")
    want=$(jq -r --arg f "$f" '.files[$f].bytes' <<<"$index")
    [ "$bytes" = "$want" ] || die "load: $f is $bytes bytes; $INDEX says $want"
    want=$(jq -r --arg f "$f" '.files[$f].sha256' <<<"$index")
    [ "$(sha256sum <"$work/image/$f" | cut -d' ' -f1)" = "$want" ] || die "load: $f does not match its SHA-256 in $INDEX"
    chmod 0644 "$work/image/$f"
  done
  # The manifest: this key, and only files of the archive (plain names).
  local m=$work/image/manifest.json
  jq -e 'type == "object"' "$m" >/dev/null 2>&1 || die "load: manifest.json is not a JSON object"
  [ "$(jq -r '.key' "$m")" = "$key" ] || die "load: manifest.json: key='$(jq -r .key "$m")' but $INDEX says '$key'"
  local named
  while IFS= read -r named; do
    if [ ! -f "$work/image/$named" ] || ! [[ "$named" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
      die "load: manifest.json names '$named', which is not a file of the archive"
    fi
  done < <(jq -r --argjson keys "$FILE_KEYS" '. as $m | $keys[] | $m[.] // empty | tostring' "$m")
  jq -e '.rootfs | strings' "$m" >/dev/null || die "load: manifest.json names no rootfs"
  local rootfs_mib
  rootfs_mib=$(jq -r '.rootfs_size_mib // empty' "$m")
  if [ -n "$rootfs_mib" ]; then
    [ "$(( rootfs_mib * 1048576 ))" = "$(stat -c %s "$work/image/$(jq -r .rootfs "$m")")" ] ||
      die "load: manifest.json: rootfs_size_mib=$rootfs_mib, but the rootfs is $(stat -c %s "$work/image/$(jq -r .rootfs "$m")") bytes"
  fi
  chmod 0755 "$work/image"
  publish_loaded() {
    # Another load or build may have put it there meanwhile.
    if [ -f "$dir/manifest.json" ]; then
      say "load: image $key is already in the cache: nothing loaded"
    else
      mv "$work/image" "$dir"
    fi
    [ -z "$name" ] || make_default "$key" ""
  }
  with_images_lock publish_loaded
  say "load: image $key${name:+, named $name}"
}

cmd=${1:-}
shift || true
for arg in "$@"; do [ "$arg" != --quiet ] || quiet=1; done
[ "$quiet" = 1 ] || progress=("--checkpoint=$CHECKPOINT" "--checkpoint-action=echo=$tool: %T")
case "$cmd" in
  save)
    [ $# -ge 3 ] || { echo "usage: image-archive.sh save IMAGE_DIR NAME FILE [--quiet]" >&2; exit 2; }
    src=$1 name=$2 out=$3
    shift 3
    [ "${1:-}" != --quiet ] || quiet=1
    save "$src" "$out"
    ;;
  load)
    [ $# -ge 1 ] || { echo "usage: image-archive.sh load FILE [--name NAME] [--quiet]" >&2; exit 2; }
    in=$1
    shift
    while [ $# -gt 0 ]; do
      case "$1" in
        --name) name=$2; shift 2 ;;
        --quiet) quiet=1; shift ;;
        *) echo "$tool: unknown argument '$1'" >&2; exit 2 ;;
      esac
    done
    load "$in"
    ;;
  *) echo "usage: image-archive.sh save|load ..." >&2; exit 2 ;;
esac
