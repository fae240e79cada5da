// The runtime: the VM lifecycle on top of the store and the plugins. Every
// operation reads the VM's record fresh from the store, so any number of
// processes can act on the same VMs; every write is compare-and-set
// (core/state/vm_writer.h). Reads (get, list) write nothing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config/vm_spec.h"
#include "core/plugins/loader.h"
#include "core/profile/profile.h"
#include "core/runtime/snapshots.h"
#include "core/store/store.h"

namespace smolvm {

struct VmEnd;        // core/state/vm_writer.h
enum class VmState;  // core/state/vm_state.h

// What a VM restored from a snapshot may set; 0 and "" take the snapshot's
// (anything else must equal it: check_restore_matches).
struct RestoreOptions {
  std::string vm_id;  // "": generated
  uint32_t vcpu_count = 0, mem_size_mib = 0;
  std::string kernel_path, rootfs_path;
  bool delete_with_owner = false;
  // The restored VM's own lifetimes (VmSpec's; checked there): the
  // source's are not carried over. 0: none; "": VmSpec's default action.
  uint32_t ttl_s = 0, idle_timeout_s = 0;
  std::string on_ttl, on_idle;
  // NAME=value entries after the snapshot's own (a later one wins), and
  // commands run once after the restored VM's first start (a profile's).
  std::vector<std::string> env, setup;
};

struct RuntimeOptions {
  std::string state_dir;    // "" = default
  std::string cache_dir;    // "" = default
  std::string plugin_path;  // extra plugin folders
  std::string store = SMOLVM_STORE_DEFAULT;
};

class Runtime {
 public:
  explicit Runtime(const RuntimeOptions& opts);

  const std::string& state_dir() const { return state_dir_; }
  const std::string& cache_dir() const { return cache_dir_; }
  Store& store() { return *store_; }
  PluginRegistry& plugins() { return plugins_; }

  // Validates, records and prepares a VM (state created). Rolls back
  // everything on failure. from: a VM restored from that snapshot (its
  // disk on the snapshot's layers, its first start loading its state).
  VmRecord create(VmSpec spec, const Snapshot* from = nullptr);

  // Snapshots (core/runtime/snapshots.h). snapshot: syncs the guest's file
  // systems, then the supervisor pauses the VM, saves it and its disk, and
  // lets it run on (or stops it: stop). ESTATE naming the state unless the
  // VM is running or paused; EUNSUPPORTED for a shared disk, a network or a
  // VMM without the slots. Nothing is left of a snapshot that failed.
  Snapshot snapshot(const std::string& id, const std::string& name, bool stop);
  std::vector<Snapshot> snapshots();
  Snapshot get_snapshot(const std::string& id_or_name);
  // ESTATE naming the users while VMs or snapshots are built on its layer.
  void remove_snapshot(const std::string& id_or_name);
  // A new VM (own id, token, disk overlay on the snapshot's layer) whose
  // first start loads the snapshot instead of booting.
  VmRecord create_from_snapshot(const std::string& id_or_name, const RestoreOptions& opts);
  // A VM from a profile: its spec (with env and setup), then its port
  // forwards; all rolled back if any part fails. vm_id "" keeps the
  // profile's id (or generates one).
  VmRecord create_from_profile(const Profile& profile, const std::string& vm_id);
  // Boots the VM and waits for its agent, up to boot_timeout_ms (0: the
  // spec's boot_timeout_s). On failure: state failed, no process or socket
  // left.
  // The first start of a VM that fits restores a template of a freshly
  // booted guest instead (core/runtime/templates.h), and the first that
  // finds none makes it; smolvm_vm_info.boot says which and why.
  void start(const std::string& id, uint32_t boot_timeout_ms = 0);
  // Graceful with a deadline, then forced (or forced at once). No-op when
  // not running.
  void stop(const std::string& id, uint32_t timeout_ms, bool force = false);
  // Stops a running VM's vCPUs (state paused) and lets them run again
  // (running), through its supervisor, which owns the VMM. ESTATE naming
  // the state when the VM is not running (pause) or not paused (resume);
  // EUNSUPPORTED when its VMM plugin cannot pause.
  void pause(const std::string& id);
  void resume(const std::string& id);
  // Stops if needed, then removes every file, process and row.
  void remove(const std::string& id);
  // Ends an ephemeral VM's bond to this process (core/runtime/owner_link.h):
  // it becomes an ordinary VM that outlives the process. ESTATE if another
  // live process owns it.
  void detach(const std::string& id);
  // The record as it is now, written by nobody: a live VM whose supervisor
  // died is shown failed (not running), as the next repair will record it.
  // Repair is gc's and the calls' that act on the VM (reconciled()).
  VmRecord get(const std::string& id);
  std::vector<VmRecord> list();
  // The record for a call that acts on the VM (start, stop, delete, exec):
  // a VM whose supervisor died is cleaned up and recorded failed first.
  VmRecord reconciled(const std::string& id);
  // reconciled(), once no snapshot holds the VM still: while its
  // supervisor saves it (paused by "snapshot") it cannot answer, so a call
  // that needs it waits here, up to the time a snapshot may take
  // (kSnapshotAnswerMs), then fails with ESTATE saying so.
  VmRecord settled(const std::string& id);
  // settled(), and a VM its idle policy hibernated started again (its
  // state restored), for a command: one on its way into hibernation is
  // waited for first, one another command is waking is waited for.
  VmRecord woken(const std::string& id);
  // Reconciles every VM with reality and deletes orphan folders; returns
  // how many things it repaired.
  uint32_t gc();

  // Port forwarding: host_addr:host_port -> the guest's guest_port.
  // host_port 0 picks a free port. Stored (and so restored on every start)
  // and applied at once if the VM runs. Returns the host port.
  uint32_t expose(const std::string& id, uint32_t guest_port, uint32_t host_port,
                  const std::string& host_addr, const std::string& protocol);
  void unexpose(const std::string& id, uint32_t host_port, const std::string& host_addr,
                const std::string& protocol);
  std::vector<ForwardRecord> ports(const std::string& id);

  // Resolved plugin names for a spec ("auto" -> a concrete one).
  // requested, checked against the installed plugins of kind, or what
  // "auto" stands for; none: the name that means "no plugin" ("" for
  // kinds that always need one).
  std::string resolve_backend(uint32_t kind, const std::string& field, const std::string& requested,
                              const std::string& none = "");
  // EINVAL when the executor's probe says it needs a network and the VM
  // has none.
  void check_executor_network(const std::string& executor, const std::string& requested_network,
                              const std::string& network);

 private:
  // How a start gets its guest (core/runtime/templates.h).
  struct BootPlan {
    std::string boot, reason;
    std::string before;        // what happened to an earlier template, ending "; " (or "")
    std::string template_dir;  // restored from this template
    std::string make_dir;      // no template yet: make it here after the boot
    Snapshot from;             // the template restored (when template_dir is set)
  };
  // start(), with note: why an earlier attempt of this start did not use
  // its template (kept in the boot reason).
  void start_boot(const std::string& id, uint32_t boot_timeout_ms, const std::string& note);
  // Decides, and for a template restore puts the VM's disk on the
  // template's layer (rec's disk fields say so on return).
  BootPlan plan_boot(VmRecord& rec, const std::string& accel,
                     const std::string& executor_boot_args);
  // Undoes plan_boot's disk change: the VM's disk on its image again.
  void unplan_boot(const VmRecord& rec, const BootPlan& plan);
  // Saves the freshly booted VM id as the template plan.make_dir. Returns
  // how it went, in words for the boot reason; never throws (a start
  // that booted is not failed by its template).
  std::string make_template(const std::string& id, const std::string& dir);
  // The isolated disk of rec on layers (none: on its image); its path.
  std::string prepare_disk(const VmRecord& rec, const std::vector<std::string>& layers);
  // Why a live VM's supervisor counts as dead; "" while it lives (or, for a
  // VM starting, may still register).
  std::string supervisor_lost(const VmRecord& rec);
  // get()'s view: a lost supervisor shown in rec, nothing written.
  void show_as_seen(VmRecord& rec);
  // Marks a VM whose supervisor died failed and cleans its leftovers; rec
  // becomes the record as stored. Returns true if it found one to repair.
  bool reconcile(VmRecord& rec);
  // The executor's vm_ready hook (core/runtime/executor_hooks.h), with the
  // guest's files read through the VM's supervisor; stores what it sets.
  void executor_ready(const LoadedPlugin& executor, const std::string& id);
  // Removes what snapshots whose process died left: folders being written
  // (.tmp-<id>.<pid>) or removed (.rm-<id>). Returns how many.
  uint32_t gc_snapshots();
  // A VM restored from a snapshot wakes with its source's RNG state and
  // clock: reseed the kernel's RNG with host entropy, set the clock.
  void refresh_restored_guest(const std::string& id);
  // The profile's setup commands, once, after the first successful boot.
  void run_setup(const std::string& id);
  // Ends what a dead or stuck supervisor left (its processes, cgroup,
  // network, sockets) and records the VM's end, unless another process
  // recorded it first: runs `smolvm-supervisor --cleanup`.
  void cleanup_processes(const VmRecord& rec, const VmEnd& end);
  // pause() and resume(): from `from` to `to` through the supervisor.
  void change_pause(const std::string& id, VmState from, VmState to);
  // stop() of a VM that is still booting.
  void stop_starting(VmRecord rec);
  // Waits up to timeout_ms for the VM's supervisor (as rec names it) to
  // exit; true once it has.
  bool wait_supervisor_exit(const VmRecord& rec, int timeout_ms);
  void teardown_network(const VmRecord& rec);

  RuntimeOptions opts_;
  std::string state_dir_, cache_dir_;
  PluginRegistry plugins_;
  std::unique_ptr<Store> store_;
};

}  // namespace smolvm
