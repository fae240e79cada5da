# Shared by the image builders (build-image.sh, build-recipe.sh): messages,
# the cache's publishing rules (temporary folder, then rename; images/.lock),
# names, and what makes a root tree a SmolVM guest. Sourced after the caller
# sets cache, quiet, start_ts, tool, agent and name.

# The rule of core/config/vm_spec.h's check_image_name, checked before any
# work; "default" is the link images/default itself.
check_image_name() {
  [ -n "$1" ] || return 0
  [[ "$1" =~ ^[a-z0-9][a-z0-9._-]{0,62}$ ]] ||
    { echo "$tool: name='$1': must match [a-z0-9][a-z0-9._-]{0,62}" >&2; exit 2; }
  [ "$1" != default ] ||
    { echo "$tool: name='default': is the default image's; build without --name" >&2; exit 2; }
}

say() { [ "$quiet" = 1 ] || printf '[%4ss] %s\n' "$(( $(date +%s) - start_ts ))" "$*"; }
die() { echo "$tool: $*" >&2; exit 1; }
sha() { sha256sum | cut -c1-16; }

need() {
  local missing=() t
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  [ ${#missing[@]} -eq 0 ] || die "missing tools: ${missing[*]} (run scripts/install-deps.sh)"
}

# Runs a long command with its output in a log, printing a heartbeat so the
# user sees progress; shows the log's tail if it fails.
run_logged() {
  local log=$1; shift
  "$@" >"$log" 2>&1 &
  local pid=$! n=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1; n=$((n + 1))
    if [ $((n % 20)) -eq 0 ] && [ "$quiet" = 0 ]; then
      say "  ... still working ($(wc -l <"$log") log lines, $log)"
    fi
  done
  if ! wait "$pid"; then
    tail -n 30 "$log" >&2
    die "step failed: $* (full log: $log)"
  fi
}

# Moves a finished temporary folder into place atomically.
publish() {
  local tmp=$1 final=$2
  rm -rf "$final"
  mv "$tmp" "$final"
}

# Runs "$@" holding images/.lock, which `smolvm image prune` takes too, so an
# image is never pruned between being published and becoming the default.
with_images_lock() {
  mkdir -p "$cache/images"
  { flock 9 && "$@"; } 9>"$cache/images/.lock"
}

# The VMs using an image leave links to their folders in its used-by/
# (core/runtime/image_users.h); a link whose folder exists is a live VM.
image_users() {
  local link n=0
  for link in "$1"/used-by/*; do
    [ -d "$link" ] && n=$((n + 1))
  done
  echo "$n"
}

# Rebuilding an image in place (--force) would change the base under the
# VMs' own disks, qcow2 overlays of exactly that file: refused while any VM
# uses it.
refuse_rebuild_in_use() {
  local users
  users=$(image_users "$cache/images/$1")
  [ "$users" = 0 ] || die "image $1 is used by $users VM(s): --force would change the disk under them (delete those VMs first, or build without --force)"
}

# Publishes a freshly assembled image (if any) and points images/default, or
# with --name images/names/NAME, at it.
make_default() {
  local key=$1 out=$2
  [ -z "$out" ] || publish "$out" "$cache/images/$key"
  if [ -n "$name" ]; then
    mkdir -p "$cache/images/names"
    ln -sfn "../$key" "$cache/images/names/$name.tmp"
    mv -T "$cache/images/names/$name.tmp" "$cache/images/names/$name"
    return
  fi
  ln -sfn "$key" "$cache/images/default.tmp"
  mv -T "$cache/images/default.tmp" "$cache/images/default"
}

# A string command runs in the user's login shell (bash -l -c), so its
# start-up is on every command's path: Debian's /etc/profile forks id(1) to
# test for root where bash already knows $EUID, and root's ~/.profile runs
# mesg(1) even without a terminal. Measured in the guest under TCG: bash -l
# -c true 137 ms before, 60 ms after (bash -c true: 48 ms).
lean_login_profile() {
  local root=$1
  # Only Debian's files are known; another image's are left as they are.
  [ -f "$root/etc/profile" ] && [ -f "$root/root/.profile" ] || return 0
  sed -i 's/if \[ "$(id -u)" -eq 0 \]; then/if [ "${EUID:-$(id -u)}" -eq 0 ]; then/' "$root/etc/profile"
  sed -i 's|^mesg n 2> /dev/null \|\| true$|[ -t 0 ] \&\& mesg n 2>/dev/null \|\| true|' "$root/root/.profile"
  grep -q 'EUID' "$root/etc/profile" && grep -q '^\[ -t 0 \]' "$root/root/.profile" ||
    say "image: note: the login profile was not made lean (Debian's files changed?)"
}

# Makes a root tree a SmolVM guest: the agent as its init, the folders it
# mounts on, the hostname and a lean login profile.
make_bootable() {
  local root=$1
  # An imported image may lack any of these folders (a distroless one has
  # no /sbin); a link there (usrmerge's /sbin -> usr/sbin) is followed.
  mkdir -p "$root/sbin" "$root/etc" "$root/proc" "$root/sys" "$root/dev"
  install -m 0755 "$agent" "$root/sbin/smolvm-agent"
  # Debug info is for the host; the guest gets a small binary.
  strip --strip-all "$root/sbin/smolvm-agent" 2>/dev/null || true
  # The agent is PID 1: it mounts, configures the network from the command
  # line, then serves the host. No systemd on the boot path.
  ln -sf /sbin/smolvm-agent "$root/sbin/smolvm-init"
  mkdir -p "$root/workspace" "$root/run" "$root/tmp"
  chmod 1777 "$root/tmp"
  echo smolvm >"$root/etc/hostname"
  lean_login_profile "$root"
}
