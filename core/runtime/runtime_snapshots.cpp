// Runtime's snapshot calls (runtime.h): take, list, remove, restore.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/common/paths.h"
#include "core/common/process.h"
#include "core/network/network.h"
#include "core/runtime/guest_session.h"
#include "core/runtime/image_users.h"
#include "core/runtime/runtime.h"
#include "core/runtime/snapshots.h"
#include "core/runtime/supervisor_client.h"
#include "core/state/vm_state.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

// How long the guest's sync may take before the snapshot gives up.
constexpr uint32_t kSyncTimeoutMs = 60000;
constexpr uint32_t kRefreshTimeoutMs = 10000;
// Bytes of host entropy a restored guest's RNG is reseeded with.
constexpr size_t kReseedBytes = 64;
// How long a snapshot with stop waits for the VM to be stopped (its guest
// is forced off at once: this is the supervisor's own exit).
constexpr int kStopWaitMs = 15000;

std::string host_clock() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  char buf[48];
  std::snprintf(buf, sizeof buf, "@%lld.%09ld", static_cast<long long>(ts.tv_sec), ts.tv_nsec);
  return buf;
}

}  // namespace

Snapshot Runtime::snapshot(const std::string& id, const std::string& name, bool stop) {
  if (!name.empty() && !is_valid_snapshot_name(name)) {
    fail(SMOLVM_EINVAL,
         "name='" + name + "': must be 1-63 of a-z 0-9 . _ - starting with a letter or digit");
  }
  if (!name.empty()) {
    for (const auto& s : snapshots()) {
      if (s.name == name || s.id == name) {
        fail(SMOLVM_EEXISTS, "name='" + name + "': snapshot " + s.id + " has it already");
      }
    }
  }
  // Another snapshot of it is written first (this one then syncs again).
  const VmRecord rec = settled(id);
  // What kind of VM it is first: no state of it could be snapshotted.
  if (rec.spec.disk_mode != "isolated") {
    fail(SMOLVM_EUNSUPPORTED, "vm '" + id + "' has a shared disk (disk_mode=" + rec.spec.disk_mode +
                                  "), whose writes are thrown away: only an isolated disk can "
                                  "be snapshotted");
  }
  const auto& vmm = plugins_.get(SMOLVM_PLUGIN_VMM, rec.runtime.vmm).vtable<smolvm_vmm_vtable>();
  if (!SMOLVM_VMM_HAS(&vmm, save_state) || !SMOLVM_VMM_HAS(&vmm, launch_restore)) {
    fail(SMOLVM_EUNSUPPORTED, "the VMM plugin " + rec.runtime.vmm +
                                  " cannot snapshot a VM (it lacks save_state and "
                                  "launch_restore, plugin ABI 1.5)");
  }
  const bool running = rec.state == state_name(VmState::kRunning);
  if (!running && rec.state != state_name(VmState::kPaused)) {
    fail(SMOLVM_ESTATE,
         "vm '" + id + "' is " + rec.state + ": only a running or paused VM can be snapshotted");
  }
  // What the guest has written is on its disk before the VM stands still.
  if (running) {
    GuestSession guest(*this, id);
    ExecRequest req;
    req.argv = {"sync"};
    req.image_defaults = false;
    req.timeout_ms = kSyncTimeoutMs;
    const ExecResult r = guest.run(req, "");
    if (r.exit_code != 0) {
      fail(SMOLVM_EIO, "vm '" + id + "': sync in the guest before the snapshot exited with " +
                           std::to_string(r.exit_code) + (r.err.empty() ? "" : ": " + r.err));
    }
  }

  Snapshot s = snapshot_of(rec);
  s.name = name;
  make_dirs(snapshots_dir(state_dir_), 0700);
  StagingFolder staging;
  for (;;) {
    s.id = generate_snapshot_id();
    // The writer's pid in the name: gc removes it only once that is gone.
    staging.path = snapshots_dir(state_dir_) + "/.tmp-" + s.id + "." + std::to_string(::getpid());
    if (path_exists(snapshot_dir(state_dir_, s.id))) continue;  // drawn again
    if (::mkdir(staging.path.c_str(), 0700) == 0) break;
    if (errno != EEXIST) fail_errno(SMOLVM_EIO, "cannot create " + staging.path);
  }
  s.dir = snapshot_dir(state_dir_, s.id);
  std::string error;
  proto::VmSnapshotted done;
  const int rc = request_snapshot(rec.runtime.supervisor_socket, rec.runtime.token, staging.path,
                                  stop, done, error);
  if (rc != 0) fail(rc, "snapshot of vm '" + id + "': " + error);
  s.created_at_ms = now_ms();
  s.state_bytes = done.state_bytes;
  s.disk_bytes = done.disk_bytes;
  s.layers = rec.runtime.disk_layers;
  s.layers.push_back(snapshot_disk_file(s.dir));
  write_file_atomic(staging.path + "/manifest.json", to_json(s).dump(2) + "\n", 0600);
  // The layers below its own belong to the snapshot the source VM was
  // restored from: that one must stay while this one exists.
  if (!rec.runtime.snapshot.empty()) {
    add_folder_user(snapshot_dir(state_dir_, rec.runtime.snapshot), s.dir);
  }
  // Likewise the template a VM started from (core/runtime/templates.h).
  if (!rec.runtime.template_dir.empty()) add_folder_user(rec.runtime.template_dir, s.dir);
  add_image_user(s.rootfs_path, cache_dir_, s.dir);  // `image prune` keeps its image
  if (::rename(staging.path.c_str(), s.dir.c_str()) != 0) {
    const int e = errno;
    if (!rec.runtime.snapshot.empty()) {
      remove_folder_user(snapshot_dir(state_dir_, rec.runtime.snapshot), s.dir);
    }
    if (!rec.runtime.template_dir.empty()) remove_folder_user(rec.runtime.template_dir, s.dir);
    remove_image_user(s.rootfs_path, cache_dir_, s.dir);
    errno = e;
    fail_errno(SMOLVM_EIO, "cannot publish " + staging.path + " as " + s.dir);
  }
  staging.keep = true;
  // opts->stop: the VM is stopped when this returns, not only on its way
  // down (its supervisor records "stopped" as it exits).
  if (stop && !wait_supervisor_exit(rec, kStopWaitMs)) {
    fail(SMOLVM_ETIMEOUT, "snapshot " + s.id + " of vm '" + id +
                              "' was taken, but the VM did not stop within " +
                              std::to_string(kStopWaitMs / 1000) + " s");
  }
  return s;
}

uint32_t Runtime::gc_snapshots() {
  uint32_t fixed = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(snapshots_dir(state_dir_), ec)) {
    const std::string name = e.path().filename().string();
    bool leftover = name.rfind(".rm-", 0) == 0;
    if (name.rfind(".tmp-", 0) == 0) {
      const auto dot = name.rfind('.');
      const int64_t pid = dot > 0 ? std::atoll(name.c_str() + dot + 1) : 0;
      leftover = pid <= 0 || !process_alive(pid, -1);
    }
    if (leftover && remove_tree(e.path().string())) ++fixed;
  }
  return fixed;
}

std::vector<Snapshot> Runtime::snapshots() { return list_snapshots(state_dir_); }

Snapshot Runtime::get_snapshot(const std::string& id_or_name) {
  return find_snapshot(state_dir_, id_or_name);
}

void Runtime::remove_snapshot(const std::string& id_or_name) {
  const Snapshot s = get_snapshot(id_or_name);
  const std::vector<std::string> users = folder_users(s.dir);
  if (!users.empty()) {
    std::string names;
    for (const auto& u : users) names += (names.empty() ? "" : ", ") + u;
    fail(SMOLVM_ESTATE, "snapshot " + s.id + " is in use: its disk layer is under " + names +
                            " (delete those first)");
  }
  // Renamed first, so no reader sees half a snapshot.
  const std::string doomed = snapshots_dir(state_dir_) + "/.rm-" + s.id;
  if (::rename(s.dir.c_str(), doomed.c_str()) != 0) {
    fail_errno(SMOLVM_EIO, "cannot remove " + s.dir);
  }
  for (const auto& other : snapshots()) {
    remove_folder_user(other.dir, s.dir);  // its mark on the snapshot it was built on
  }
  // And on a template, when its layers start on one (the folder holding a
  // layer; a no-op for its own and the snapshots' above).
  for (const auto& layer : s.layers)
    remove_folder_user(fs::path(layer).parent_path().string(), s.dir);
  remove_image_user(s.rootfs_path, cache_dir_, s.dir);
  if (!remove_tree(doomed)) fail(SMOLVM_EIO, "cannot remove " + doomed);
}

VmRecord Runtime::create_from_snapshot(const std::string& id_or_name, const RestoreOptions& opts) {
  const Snapshot s = get_snapshot(id_or_name);
  check_restore_matches(s, opts.vcpu_count, opts.mem_size_mib, opts.kernel_path, opts.rootfs_path);
  check_snapshot_files(s);
  VmSpec spec = spec_from_json(s.spec);
  spec.vm_id = opts.vm_id;
  spec.vcpu_count = s.vcpu_count;
  spec.mem_size_mib = s.mem_size_mib;
  // The snapshot's own files, wherever the source's image name leads now.
  spec.image.clear();
  spec.kernel_path = s.kernel_path;
  spec.rootfs_path = s.rootfs_path;
  spec.vmm = s.vmm;
  spec.executor = s.executor;
  spec.accel = s.accel;  // a restore runs under the accelerator it was saved from
  // The snapshot's network plugin: create() leases the restore an address of
  // its own, and its start sets up its own TAP and rules as a cold start's
  // does; refresh_restored_guest() moves the guest onto them.
  spec.network = s.network;
  spec.disk_mode = "isolated";
  spec.setup = opts.setup;  // the source's ran in the source already
  spec.env.insert(spec.env.end(), opts.env.begin(), opts.env.end());
  // The source's time limits are not carried over: a restored VM has those
  // it is given (README "Snapshots and restore"); create() checks them.
  const VmSpec plain;
  spec.ttl_s = opts.ttl_s;
  spec.on_ttl = opts.on_ttl.empty() ? plain.on_ttl : opts.on_ttl;
  spec.idle_timeout_s = opts.idle_timeout_s;
  spec.on_idle = opts.on_idle.empty() ? plain.on_idle : opts.on_idle;
  spec.delete_with_owner = opts.delete_with_owner;
  return create(spec, &s);
}

void Runtime::refresh_restored_guest(const std::string& id) {
  // RNDRESEEDCRNG (_IO('R', 7)) after mixing host bytes in: the guest's
  // next random bytes no longer follow from its source's state. perl-base
  // is in every Debian image; `date -s` takes the host's clock.
  const std::string entropy = random_hex(kReseedBytes);
  // A networked restore has its own lease and TAP; its guest still has the
  // source's MAC and address until told otherwise.
  const Lease lease = store_->get(id).runtime.lease;
  const std::string network = guest_network_commands(lease);
  GuestSession guest(*this, id);
  ExecRequest req;
  // The clock first: perl's start alone takes 150-200 ms under TCG (more
  // on a busy host), which the clock would otherwise lag the host's by.
  req.argv = {"/bin/sh",
              "-c",
              "date -u -s \"$2\" >/dev/null && " + (network.empty() ? "" : network + " && ") +
                  "perl -e 'open(my $f, \">\", \"/dev/urandom\") or die \"urandom: $!\\n\"; "
                  "syswrite($f, pack(\"H*\", $ARGV[0])) or die \"write: $!\\n\"; "
                  "ioctl($f, 0x5207, 0) or die \"RNDRESEEDCRNG: $!\\n\"' \"$1\"",
              "refresh",
              entropy,
              host_clock()};
  req.timeout_ms = kRefreshTimeoutMs;
  req.image_defaults = false;
  const ExecResult r = guest.run(req, "");
  if (r.exit_code != 0) {
    std::string said = r.err;
    while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
    // Read after "vm '…' started but its ".
    fail(SMOLVM_EIO, "refresh after the restore failed: the guest could not set its clock" +
                         (network.empty() ? "" : ", move its network to " + lease.ip) +
                         " and reseed its RNG (exit " + std::to_string(r.exit_code) +
                         (said.empty() ? "" : ": " + said) + ")");
  }
}

}  // namespace smolvm
