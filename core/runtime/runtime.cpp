#include "core/runtime/runtime.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/common/paths.h"
#include "core/common/process.h"
#include "core/host/host_probe.h"
#include "core/network/network.h"
#include "core/plugins/backend_choice.h"
#include "core/runtime/executor_hooks.h"
#include "core/runtime/guest_session.h"
#include "core/runtime/image.h"
#include "core/runtime/image_users.h"
#include "core/runtime/launcher.h"
#include "core/runtime/owner_link.h"
#include "core/runtime/snapshots.h"
#include "core/runtime/supervisor_client.h"
#include "core/runtime/templates.h"
#include "core/state/vm_state.h"
#include "core/state/vm_writer.h"

namespace smolvm {
namespace {

constexpr int kCreateIdAttempts = 8;
// Beyond the graceful deadline, how long stop waits for the supervisor to
// force the VM off and exit before killing what is left itself.
constexpr int kStopGraceMs = 10000;
// How long stop waits for a starting VM's supervisor to register itself.
constexpr int kRegisterGraceMs = 5000;
// How often a call waiting for a snapshot to end looks at the record.
constexpr int kSnapshotPollMs = 20;

// By name, so that a row with a state this version does not know (a corrupt
// store) is shown as it is rather than failing `smolvm ls`.
bool is_live_state(const std::string& state) {
  for (VmState s : {VmState::kStarting, VmState::kRunning, VmState::kPaused, VmState::kStopping}) {
    if (state == state_name(s)) return true;
  }
  return false;
}

// An ephemeral VM records which process owns it (the one that created it,
// then the one that started it), so gc can delete it when that process is
// gone while no supervisor watches its link (the VM is not running).
void record_owner(VmRuntime& runtime) {
  runtime.owner_pid = static_cast<int64_t>(::getpid());
  runtime.owner_start = process_start_time(::getpid());
}

bool owner_gone(const VmRecord& rec) {
  const int64_t pid = rec.runtime.owner_pid;
  return rec.spec.delete_with_owner && pid > 0 && !process_alive(pid, rec.runtime.owner_start);
}

bool has_network(const VmRuntime& rt) { return !rt.network.empty() && rt.network != kNoNetwork; }

// The owner end of a start's link is closed unless the supervisor took it.
struct OwnerLinkGuard {
  const std::string& state_dir;
  const std::string& id;
  int supervisor_end = -1;
  bool keep = false;
  ~OwnerLinkGuard() {
    if (supervisor_end >= 0) ::close(supervisor_end);
    if (supervisor_end >= 0 && !keep) owner_link_close(state_dir, id);
  }
};

}  // namespace

Runtime::Runtime(const RuntimeOptions& opts)
    : opts_(opts),
      state_dir_(resolve_state_dir(opts.state_dir)),
      cache_dir_(resolve_cache_dir(opts.cache_dir)),
      plugins_(opts.plugin_path) {
  make_dirs(state_dir_, 0700);
  make_dirs(state_dir_ + "/vms", 0700);
  const auto& store_plugin =
      plugins_.get(SMOLVM_PLUGIN_STORE, opts.store.empty() ? SMOLVM_STORE_DEFAULT : opts.store);
  store_ = std::make_unique<Store>(store_plugin, store_path(state_dir_));
}

std::string Runtime::resolve_backend(uint32_t kind, const std::string& field,
                                     const std::string& requested, const std::string& none) {
  check_backend_name(plugins_, kind, field, requested, none);
  if (requested != "auto") return requested;
  const std::string chosen = choose_auto_backend(plugins_, kind);
  if (!chosen.empty()) return chosen;
  if (!none.empty()) return none;
  fail(SMOLVM_EPLUGIN, field + "='auto': no " + plugin_kind_name(kind) +
                           " plugin is available on this host (smolvm doctor says why)");
}

void Runtime::check_executor_network(const std::string& executor,
                                     const std::string& requested_network,
                                     const std::string& network) {
  if (network != kNoNetwork) return;
  const BackendProbe p = probe_backend(plugins_.get(SMOLVM_PLUGIN_EXECUTOR, executor));
  const auto needs = p.json.find("needs_network");
  if (needs == p.json.end() || !needs->is_boolean() || !needs->get<bool>()) return;
  fail(SMOLVM_EINVAL, "executor='" + executor + "' with network='" + requested_network +
                          (requested_network == network ? "" : "' (resolved to 'none'") +
                          "': that executor reaches the guest over its network, so the VM needs "
                          "one (network=auto, or a network plugin with one available), or use "
                          "executor=auto");
}

VmRecord Runtime::create(VmSpec spec, const Snapshot* from) {
  const bool generated = spec.vm_id.empty();
  if (generated) spec.vm_id = generate_vm_id();
  validate(spec);
  const ImagePaths image =
      resolve_image(spec.image, spec.kernel_path, spec.rootfs_path, cache_dir_);
  const ImageDefaults defaults = image_defaults_of(image.rootfs);
  spec.env = env_with_image_defaults(defaults, spec.env);
  const uint32_t disk_size_mib = disk_size_mib_for(spec.disk_size_mib, image.rootfs);

  VmRecord rec;
  rec.state = "created";
  rec.created_at_ms = now_ms();
  const std::string vmm = resolve_backend(SMOLVM_PLUGIN_VMM, "vmm", spec.vmm);
  const std::string executor = resolve_backend(SMOLVM_PLUGIN_EXECUTOR, "executor", spec.executor);
  const std::string network =
      resolve_backend(SMOLVM_PLUGIN_NETWORK, "network", spec.network, kNoNetwork);
  check_executor_network(executor, spec.network, network);
  // Load every plugin the VM needs now, so a missing one fails create, not
  // a later start.
  const auto& vmm_plugin = plugins_.get(SMOLVM_PLUGIN_VMM, vmm);
  const auto& executor_plugin = plugins_.get(SMOLVM_PLUGIN_EXECUTOR, executor);
  if (network != kNoNetwork) {
    plugins_.get(SMOLVM_PLUGIN_NETWORK, network);
    if (!has_cap_net_admin()) {
      fail(SMOLVM_EPERM, "network='" + network +
                             "': a networked VM needs CAP_NET_ADMIN to create its TAP device and "
                             "firewall rules; run as root, or use network=none (no NIC)");
    }
  }

  // Insert first: the row reserves the id before any file is made. A
  // generated id that collides is simply drawn again.
  for (int attempt = 0;; ++attempt) {
    rec.id = spec.vm_id;
    const std::string dir = vm_dir(state_dir_, rec.id);
    rec.spec = spec;
    rec.runtime = VmRuntime{};
    rec.runtime.vm_dir = dir;
    rec.runtime.kernel_path = image.kernel;
    rec.runtime.rootfs_path = image.rootfs;
    rec.runtime.image_user = defaults.user;
    rec.runtime.image_workdir = defaults.workdir;
    rec.runtime.vmm = vmm;
    rec.runtime.executor = executor;
    rec.runtime.network = network;
    rec.runtime.disk_size_mib = disk_size_mib;
    rec.runtime.console_log = dir + "/console.log";
    rec.runtime.supervisor_socket = dir + "/supervisor.sock";
    rec.runtime.token = random_hex(16);
    rec.runtime.creator_pid = static_cast<int64_t>(::getpid());
    rec.runtime.creator_start = process_start_time(::getpid());
    if (spec.delete_with_owner) record_owner(rec.runtime);
    if (from) {
      rec.runtime.snapshot = from->id;
      rec.runtime.disk_layers = from->layers;
      rec.runtime.restore_state = snapshot_state_file(from->dir);
    }
    try {
      store_->insert(rec);
      break;
    } catch (const Error& e) {
      if (e.status() != SMOLVM_EEXISTS || !generated || attempt + 1 >= kCreateIdAttempts) {
        if (e.status() == SMOLVM_EEXISTS) {
          fail(SMOLVM_EEXISTS, "vm_id='" + spec.vm_id + "': a VM with this id exists already");
        }
        throw;
      }
      spec.vm_id = generate_vm_id();
    }
  }

  const std::string dir = rec.runtime.vm_dir;
  try {
    if (path_exists(dir)) remove_tree(dir);  // a leftover of a crashed delete
    make_dirs(dir, 0700);
    add_image_user(image.rootfs, cache_dir_, dir);  // kept by `smolvm image prune`
    if (from) add_folder_user(from->dir, dir);      // kept by `smolvm snapshot rm`
    if (network != kNoNetwork) {
      // The lease is taken in the store's own transaction, so concurrent
      // creates never get the same address; deleting the row releases it.
      const Lease lease = allocate_network(*store_, rec.id);
      rec = update_record(*store_, rec.id, [&](VmRecord& r) { r.runtime.lease = lease; });
    }
    if (spec.disk_mode == "isolated") {
      // The slot came with the layers in the config (both 1.5).
      if (from && !SMOLVM_VMM_HAS(&vmm_plugin.vtable<smolvm_vmm_vtable>(), launch_restore)) {
        fail(SMOLVM_EUNSUPPORTED, "the VMM plugin " + vmm +
                                      " cannot restore a snapshot (it lacks launch_restore and "
                                      "disk layers, plugin ABI 1.5)");
      }
      const std::string disk = prepare_disk(rec, rec.runtime.disk_layers);
      rec = update_record(*store_, rec.id, [&](VmRecord& r) { r.runtime.disk_path = disk; });
    }
    // Last, with the VM's folder, lease and disk in place; what the
    // executor makes there goes with the folder if this create fails.
    const ExecutorHookResult created = executor_vm_created(executor_plugin, rec);
    rec = update_record(*store_, rec.id, [&](VmRecord& r) {
      if (created.called) r.runtime.executor_data = created.data;
      r.runtime.creator_pid = 0;
    });
  } catch (...) {
    remove_image_user(image.rootfs, cache_dir_, dir);
    if (from) remove_folder_user(from->dir, dir);
    remove_tree(dir);
    store_->remove(rec.id);
    throw;
  }
  return rec;
}

std::string Runtime::prepare_disk(const VmRecord& rec, const std::vector<std::string>& layers) {
  const VmSpec& spec = rec.spec;
  smolvm_vmm_config cfg{};
  cfg.struct_size = sizeof cfg;
  cfg.vm_id = rec.id.c_str();
  cfg.vcpu_count = spec.vcpu_count;
  cfg.mem_size_mib = spec.mem_size_mib;
  cfg.kernel_path = rec.runtime.kernel_path.c_str();
  cfg.rootfs_path = rec.runtime.rootfs_path.c_str();
  cfg.disk_mode = "isolated";
  cfg.vm_dir = rec.runtime.vm_dir.c_str();
  cfg.disk_size_mib = spec.disk_size_mib;
  std::vector<const char*> paths;
  for (const auto& layer : layers) paths.push_back(layer.c_str());
  cfg.layer_paths = paths.empty() ? nullptr : paths.data();
  cfg.layer_count = static_cast<uint32_t>(paths.size());
  char disk[4096] = {0};
  smolvm_plugin_error err{};
  const auto& vmm = plugins_.get(SMOLVM_PLUGIN_VMM, rec.runtime.vmm).vtable<smolvm_vmm_vtable>();
  const int rc = vmm.prepare_disk(&cfg, disk, sizeof disk, &err);
  if (rc != 0) fail(rc, std::string("cannot prepare the VM's disk: ") + err.message);
  return disk;
}

VmRecord Runtime::create_from_profile(const Profile& profile, const std::string& vm_id) {
  VmSpec spec = profile.spec;
  if (!vm_id.empty()) spec.vm_id = vm_id;
  for (const auto& [key, value] : profile.env) spec.env.push_back(key + "=" + value);
  if (!profile.snapshot.empty()) {
    // The loader refused what the snapshot decides (resources, image,
    // disk, backend, network and so ports): the rest is the VM's own.
    RestoreOptions o;
    o.vm_id = spec.vm_id;
    o.ttl_s = spec.ttl_s;
    o.on_ttl = spec.on_ttl;
    o.idle_timeout_s = spec.idle_timeout_s;
    o.on_idle = spec.on_idle;
    o.env = spec.env;
    o.setup = profile.setup;
    try {
      return create_from_snapshot(profile.snapshot, o);
    } catch (const Error& e) {
      fail(e.status(), profile.source_path + ": snapshot: " + e.what());
    }
  }
  spec.setup = profile.setup;
  spec.disk_size_mib = profile.disk_size_mib;
  VmRecord rec = create(spec);
  try {
    for (const auto& port : profile.ports) {
      expose(rec.id, port.guest_port, port.host_port, port.host_addr, port.protocol);
    }
  } catch (...) {
    remove(rec.id);
    throw;
  }
  return store_->get(rec.id);
}

void Runtime::run_setup(const std::string& id) {
  const VmRecord rec = store_->get(id);
  const VmSpec& spec = rec.spec;
  if (spec.setup.empty() || rec.runtime.setup_done) return;
  GuestSession guest(*this, id);
  for (size_t i = 0; i < spec.setup.size(); ++i) {
    ExecRequest req;
    req.command = spec.setup[i];
    const ExecResult r = guest.run(req, "");
    if (r.exit_code != 0) {
      fail(SMOLVM_ERROR, "setup command " + std::to_string(i + 1) + " ('" + spec.setup[i] +
                             "') exited with " + std::to_string(r.exit_code) +
                             (r.err.empty() ? "" : ": " + r.err));
    }
  }
  update_record(*store_, id, [](VmRecord& r) { r.runtime.setup_done = true; });
}

void Runtime::executor_ready(const LoadedPlugin& executor, const std::string& id) {
  const VmRecord rec = store_->get(id);
  const std::string socket = rec.runtime.supervisor_socket, token = rec.runtime.token;
  const ExecutorHookResult ready = executor_vm_ready(
      executor, rec, [&](const std::string& path, size_t max_bytes, uint32_t timeout_ms) {
        return read_guest_file(socket, token, path, max_bytes, timeout_ms);
      });
  if (ready.called) {
    update_record(*store_, id, [&](VmRecord& r) { r.runtime.executor_data = ready.data; });
  }
}

void Runtime::start(const std::string& id, uint32_t boot_timeout_ms_override) {
  start_boot(id, boot_timeout_ms_override, "");
}

void Runtime::start_boot(const std::string& id, uint32_t boot_timeout_ms_override,
                         const std::string& note) {
  VmRecord rec = reconciled(id);
  const VmState from = parse_state(rec.state);
  check_transition(id, from, VmState::kStarting);
  const VmSpec spec = rec.spec;
  // The image may have been removed since create: check before booting.
  resolve_image("", rec.runtime.kernel_path, rec.runtime.rootfs_path, cache_dir_);
  const std::string accel = resolve_accel(spec.accel);
  const auto& executor = plugins_.get(SMOLVM_PLUGIN_EXECUTOR, rec.runtime.executor);
  const KernelBoot kernel_boot = kernel_boot_for(rec.runtime.kernel_path);
  const LoadedPlugin& vmm = plugins_.get(SMOLVM_PLUGIN_VMM, rec.runtime.vmm);
  if (const std::string why =
          vmm_cannot_boot(kernel_boot, vmm.descriptor().abi_minor, rec.runtime.kernel_path);
      !why.empty()) {
    fail(SMOLVM_EUNSUPPORTED, "the VMM plugin " + vmm.name() + " " + why);
  }
  // Its idle policy hibernated it: it wakes from its own folder.
  const std::string hibernation = hibernation_dir(rec.runtime.vm_dir);
  const bool waking = rec.runtime.restore_state == snapshot_state_file(hibernation);
  // Before the transition: a failing hook leaves the VM as it was.
  const ExecutorHookResult booting = executor_vm_booting(executor, rec);
  const VmRecord before = rec;
  BootPlan plan = plan_boot(rec, accel, booting.boot_args);
  if (waking) plan.reason = "woke from hibernation (" + hibernation + ")";
  if (!note.empty()) {
    plan.before = note + "; " + plan.before;
    plan.reason = note + "; " + plan.reason;
  }
  const bool restoring = !rec.runtime.restore_state.empty();
  try {
    rec = transition(*store_, id, from, VmState::kStarting, [&](VmRecord& r) {
      r.runtime.boot = plan.boot;
      r.runtime.boot_reason = plan.reason;
      r.runtime.template_dir = rec.runtime.template_dir;
      r.runtime.disk_layers = rec.runtime.disk_layers;
      r.runtime.restore_state = rec.runtime.restore_state;
      r.runtime.disk_path = rec.runtime.disk_path;
      r.runtime.accel = accel;
      r.runtime.boot_timeout_ms = boot_timeout_ms_override;
      if (booting.called) r.runtime.executor_data = booting.data;
      std::string boot_args = "init=/sbin/smolvm-init";
      if (accel == "tcg" && !kernel_boot.args_tcg.empty()) {
        boot_args += " " + kernel_boot.args_tcg;
      }
      if (const std::string net = network_boot_args(r.runtime.lease); !net.empty()) {
        boot_args += " " + net;
      }
      if (!booting.boot_args.empty()) boot_args += " " + booting.boot_args;
      if (!spec.boot_args.empty()) boot_args += " " + spec.boot_args;
      r.runtime.boot_args = boot_args;
      r.runtime.last_error = "";
      if (spec.delete_with_owner) record_owner(r.runtime);
    });
  } catch (...) {
    unplan_boot(before, plan);
    throw;
  }

  const std::string dir = rec.runtime.vm_dir;
  OwnerLinkGuard link{state_dir_, id};
  if (spec.delete_with_owner) link.supervisor_end = owner_link_open(state_dir_, id);
  LaunchRequest req{id, state_dir_, opts_.plugin_path,
                    opts_.store.empty() ? SMOLVM_STORE_DEFAULT : opts_.store, cache_dir_,
                    dir + "/supervisor.log",
                    // The supervisor enforces the boot timeout itself; this
                    // margin only covers a supervisor that hangs.
                    static_cast<int>(boot_timeout_ms(rec)) + 15000, link.supervisor_end};
  LaunchResult res;
  try {
    res = launch_supervisor(req);
  } catch (const Error& e) {
    record_end(*store_, id, {VmState::kFailed, e.what(), ""});
    throw;
  }
  if (res.ready) {
    link.keep = true;  // the supervisor holds the other end now
    try {
      if (restoring) refresh_restored_guest(id);  // before anyone else uses it
      if (waking) remove_tree(hibernation);       // loaded: the VM runs on from it
      // Nothing has run in the guest yet: the moment a template keeps.
      if (!plan.make_dir.empty()) {
        const std::string made = make_template(id, plan.make_dir);
        update_record(*store_, id,
                      [&](VmRecord& r) { r.runtime.boot_reason = plan.before + made; });
      }
      executor_ready(executor, id);  // before setup, which runs through the executor
      run_setup(id);
    } catch (const Error& e) {
      // The VM is up, so another process may stop it while the steps above
      // run (their channel closes under them): that stop wins, and the VM
      // ends "stopped" as it said, not "failed".
      const std::string state_now = store_->get(id).state;
      if (state_now == "stopping" || state_now == "stopped") {
        stop(id, 10000, /*force=*/true);  // waits for that stop to finish
        fail(SMOLVM_ESTATE, "vm '" + id + "' was stopped while it was starting");
      }
      // A VM whose setup failed is not the VM the profile describes: stop
      // it and say why; start may be retried after fixing the profile.
      stop(id, 10000, /*force=*/true);
      const std::string why = e.what();
      try {
        transition(*store_, id, VmState::kStopped, VmState::kFailed,
                   [&](VmRecord& r) { r.runtime.last_error = why; });
      } catch (const Error& moved) {
        if (moved.status() != SMOLVM_ESTATE) throw;  // another process acted on it meanwhile
      }
      fail(e.status(), "vm '" + id + "' started but its " + why);
    }
    return;
  }

  // The supervisor cleans up after itself on every failure it sees; make
  // sure of it, and of the record, in case it could not.
  if (res.pid > 0 && !wait_process_exit(res.pid, -1, 5000)) {
    ::kill(static_cast<pid_t>(res.pid), SIGKILL);
    wait_process_exit(res.pid, -1, 5000);
  }
  VmRecord after = store_->get(id);
  // Usually the supervisor recorded the failure itself, in the same words.
  cleanup_processes(after, {VmState::kFailed, res.error, ""});
  if (after.state == "stopped") {
    // A stop arrived while the VM booted (Runtime::stop): it is stopped,
    // as that stop said, and this start did not succeed.
    fail(SMOLVM_ESTATE, "vm '" + id + "' was stopped while it was starting");
  }
  if (!plan.template_dir.empty() && after.state == "failed" && res.status == SMOLVM_EINVAL) {
    // The VMM refused the template's state (damaged in a way its sizes do
    // not show; launch_restore's EINVAL, not a timeout or a killed VMM):
    // it goes, and this start boots cold and makes a new one.
    unplan_boot(after, plan);
    const bool removed = discard_template(plan.template_dir);
    if (link.supervisor_end >= 0) {  // the next attempt opens its own
      ::close(link.supervisor_end);
      owner_link_close(state_dir_, id);
      link.supervisor_end = -1;
    }
    update_record(*store_, id, [](VmRecord& r) {
      r.runtime.disk_layers.clear();
      r.runtime.restore_state.clear();
      r.runtime.template_dir.clear();
    });
    start_boot(id, boot_timeout_ms_override,
               "template " + plan.template_dir + " did not load (" + res.error + "), " +
                   (removed ? "removed" : "kept while VMs or snapshots use its disk layer"));
    return;
  }
  // The supervisor's own status (ETIMEOUT for a guest that did not answer).
  fail(res.status, "vm '" + id + "' failed to start: " + res.error);
}

void Runtime::stop(const std::string& id, uint32_t timeout_ms, bool force) {
  if (timeout_ms == 0) timeout_ms = 10000;
  VmRecord rec = settled(id);
  if (!is_live_state(rec.state)) return;  // created, stopped, failed: nothing runs
  if (rec.state == "starting") {
    stop_starting(rec);
    return;
  }

  std::string error;
  const bool asked =
      request_stop(rec.runtime.supervisor_socket, rec.runtime.token, timeout_ms, force, error);
  // A snapshot that began after the look above is written first (the
  // supervisor stops the VM after it): its time is not the guest's. One
  // that takes too long is ended below with the rest.
  if (asked) {
    try {
      settled(id);
    } catch (const Error&) {
    }
  }
  if (asked && wait_supervisor_exit(rec, static_cast<int>(timeout_ms) + kStopGraceMs)) {
    return;  // the supervisor recorded the stop itself
  }
  // The supervisor is gone or stuck: end what it left and record it.
  rec = store_->get(id);
  if (!is_live_state(rec.state)) return;
  cleanup_processes(rec, {VmState::kStopped, asked ? "" : "stopped by force: " + error, ""});
}

bool Runtime::wait_supervisor_exit(const VmRecord& rec, int timeout_ms) {
  if (rec.runtime.supervisor_pid <= 0) return false;
  int64_t sup_start = -1;
  for (const auto& p : store_->processes(rec.id)) {
    if (p.role == "supervisor") sup_start = p.start_time;
  }
  return wait_process_exit(rec.runtime.supervisor_pid, sup_start, timeout_ms);
}

void Runtime::pause(const std::string& id) {
  change_pause(id, VmState::kRunning, VmState::kPaused);
}

void Runtime::resume(const std::string& id) {
  change_pause(id, VmState::kPaused, VmState::kRunning);
}

void Runtime::change_pause(const std::string& id, VmState from, VmState to) {
  // A snapshot that began after the look below makes the supervisor answer
  // EBUSY: the change is asked again once the snapshot is written.
  for (bool again = false;; again = true) {
    const VmRecord rec = settled(id);
    // Checked here for the message; the supervisor checks again against
    // its own state and writes the change.
    if (rec.state != state_name(from)) {
      fail(SMOLVM_ESTATE, "vm '" + id + "' is " + rec.state + ": only a " + state_name(from) +
                              " VM can be " + (to == VmState::kPaused ? "paused" : "resumed"));
    }
    std::string error;
    const int rc = request_pause(rec.runtime.supervisor_socket, rec.runtime.token,
                                 to == VmState::kPaused, error);
    if (rc == 0) return;
    if (rc != SMOLVM_EBUSY || again) fail(rc, error);
  }
}

void Runtime::stop_starting(VmRecord rec) {
  // A booting VM's supervisor opens its socket only once the guest
  // answered; until then it takes SIGTERM as the stop request. It ends the
  // boot and records "stopped", and the start waiting for it reports that.
  const int64_t deadline = monotonic_ms() + kRegisterGraceMs;
  for (;;) {
    int64_t pid = 0, start_time = -1;
    for (const auto& p : store_->processes(rec.id)) {
      if (p.role == "supervisor") pid = p.pid, start_time = p.start_time;
    }
    if (pid > 0 && process_alive(pid, start_time)) {
      ::kill(static_cast<pid_t>(pid), SIGTERM);
      if (wait_process_exit(pid, start_time, kStopGraceMs)) return;
      break;  // stuck: end it below
    }
    if (pid > 0 || monotonic_ms() >= deadline) break;
    ::usleep(20 * 1000);  // its supervisor is about to register
    rec = store_->get(rec.id);
    if (rec.state != "starting") {
      if (is_live_state(rec.state)) stop(rec.id, 0, /*force=*/true);  // it booted meanwhile
      return;
    }
  }
  // No supervisor (yet, or any more): whatever it left is ended, and a
  // supervisor that starts after this finds the VM stopped and quits.
  rec = store_->get(rec.id);
  if (!is_live_state(rec.state)) return;
  cleanup_processes(rec, {VmState::kStopped, "", ""});  // unless someone else did
}

void Runtime::remove(const std::string& id) {
  VmRecord rec = reconciled(id);
  try {
    // Everything of the VM is thrown away: no need for a clean guest shutdown.
    if (is_live_state(rec.state)) stop(id, 10000, /*force=*/true);
    // The supervisor tore the network down when the VM stopped; do it again
    // in case it could not (idempotent), before the record that names the
    // TAP and forwards is gone.
    teardown_network(rec);
  } catch (const Error& e) {
    // Another process deleted the VM while this one was stopping it.
    if (e.status() == SMOLVM_ENOTFOUND) {
      fail(SMOLVM_ENOTFOUND, "no VM with id '" + id + "' (already deleted)");
    }
    throw;
  }
  // Only the process whose delete removed the row removes the files, so two
  // concurrent deletes cannot trip over each other.
  if (!store_->remove(id)) fail(SMOLVM_ENOTFOUND, "no VM with id '" + id + "' (already deleted)");
  const std::string dir = rec.runtime.vm_dir.empty() ? vm_dir(state_dir_, id) : rec.runtime.vm_dir;
  remove_tree(dir);
  remove_image_user(rec.runtime.rootfs_path, cache_dir_, dir);
  if (!rec.runtime.snapshot.empty()) {
    remove_folder_user(snapshot_dir(state_dir_, rec.runtime.snapshot), dir);
  }
  if (!rec.runtime.template_dir.empty()) remove_folder_user(rec.runtime.template_dir, dir);
  owner_link_close(state_dir_, id);  // an ephemeral VM's, if this process owned it
}

void Runtime::detach(const std::string& id) {
  VmRecord rec = reconciled(id);
  if (!rec.spec.delete_with_owner) return;  // nothing binds it
  if (!owner_link_detach(state_dir_, id) && is_live_state(rec.state)) {
    const int64_t owner = rec.runtime.owner_pid;
    if (owner != ::getpid() && !owner_gone(rec)) {
      fail(SMOLVM_ESTATE, "vm '" + id + "' is owned by process " + std::to_string(owner) +
                              ", which started it; only that process can detach it");
    }
  }
  // An ordinary VM from now on: the next start binds it to nobody.
  update_record(*store_, id, [](VmRecord& r) { r.spec.delete_with_owner = false; });
}

VmRecord Runtime::get(const std::string& id) {
  check_vm_id(id);
  VmRecord rec = store_->get(id);
  show_as_seen(rec);
  return rec;
}

std::vector<VmRecord> Runtime::list() {
  auto all = store_->list();
  for (auto& rec : all) show_as_seen(rec);
  return all;
}

VmRecord Runtime::reconciled(const std::string& id) {
  check_vm_id(id);
  VmRecord rec = store_->get(id);
  reconcile(rec);
  return rec;
}

VmRecord Runtime::settled(const std::string& id) {
  const int64_t deadline = monotonic_ms() + kSnapshotAnswerMs;
  for (;;) {
    // Reconciled each time: a supervisor that dies mid-snapshot ends the wait.
    VmRecord rec = reconciled(id);
    if (rec.state != state_name(VmState::kPaused) || rec.runtime.paused_by != kPausedBySnapshot) {
      return rec;
    }
    if (monotonic_ms() >= deadline) {
      fail(SMOLVM_ESTATE, "vm '" + id + "' is still paused for a snapshot after " +
                              std::to_string(kSnapshotAnswerMs / 1000) +
                              " s; try again once `smolvm ls` shows it running");
    }
    ::usleep(kSnapshotPollMs * 1000);
  }
}

VmRecord Runtime::woken(const std::string& id) {
  VmRecord rec = settled(id);
  if (rec.runtime.paused_by != kHibernated) return rec;
  // While stopping (its state just written) or starting (another command
  // wakes it), it is about to be stopped or running.
  const auto wait_while = [&](const char* state, int64_t ms) {
    for (const int64_t until = monotonic_ms() + ms; rec.state == state && monotonic_ms() < until;) {
      ::usleep(kSnapshotPollMs * 1000);
      rec = reconciled(id);
    }
  };
  wait_while("stopping", kStopGraceMs);
  if (rec.state == state_name(VmState::kStopped) && rec.runtime.paused_by == kHibernated) {
    try {
      start(id, 0);
    } catch (const Error& e) {
      if (e.status() != SMOLVM_ESTATE) throw;  // another command woke it first
    }
    rec = reconciled(id);
  }
  wait_while("starting", boot_timeout_ms(rec) + kStopGraceMs);
  return rec;
}

void Runtime::cleanup_processes(const VmRecord& rec, const VmEnd& end) {
  // The supervisor's own teardown, run for it in a process of its own
  // (core/supervisor/cleanup.h): this library holds none of that code.
  CleanupRequest req;
  req.vm_id = rec.id;
  req.state_dir = state_dir_;
  req.plugin_path = opts_.plugin_path;
  req.store = opts_.store.empty() ? SMOLVM_STORE_DEFAULT : opts_.store;
  req.failed = end.state == VmState::kFailed;
  req.error = end.error;
  run_supervisor_cleanup(req);
}

std::string Runtime::supervisor_lost(const VmRecord& rec) {
  if (!is_live_state(rec.state)) return "";
  int64_t pid = 0, start_time = -1;
  for (const auto& p : store_->processes(rec.id)) {
    if (p.role == "supervisor") {
      pid = p.pid;
      start_time = p.start_time;
    }
  }
  // A VM that is starting may not have registered its supervisor yet; give
  // it its boot timeout before calling it dead.
  if (pid == 0 && rec.state == "starting") {
    const int64_t since = now_ms() - rec.updated_at_ms;
    if (since < boot_timeout_ms(rec) + 20000) return "";
  }
  if (pid > 0 && process_alive(pid, start_time)) return "";
  return "the VM's supervisor (pid " + std::to_string(pid) + ") is gone";
}

void Runtime::show_as_seen(VmRecord& rec) {
  const std::string lost = supervisor_lost(rec);
  if (lost.empty()) return;
  // What reconcile() will record, shown now; its processes and files are
  // left to the repair.
  rec.state = state_name(VmState::kFailed);
  rec.runtime.supervisor_pid = 0;
  rec.runtime.vmm_pid = 0;
  rec.runtime.last_error =
      lost + "; `smolvm gc` or the VM's next start, stop, delete or command cleans up after it";
}

bool Runtime::reconcile(VmRecord& rec) {
  const std::string lost = supervisor_lost(rec);
  if (lost.empty()) return false;
  cleanup_processes(rec, {VmState::kFailed, lost + "; the VM was cleaned up", ""});
  // As recorded, by this process or one that got there first.
  if (auto now = store_->find(rec.id)) rec = *now;
  return true;
}

namespace {

void check_port(const char* field, uint32_t port, bool zero_ok) {
  if ((port == 0 && !zero_ok) || port > 65535) {
    fail(SMOLVM_EINVAL, std::string(field) + "=" + std::to_string(port) + ": must be 1..65535" +
                            (zero_ok ? " (or 0 for any free port)" : ""));
  }
}

// Binds host_addr:port to see that it is free (port 0: the kernel picks
// one). Returns the port; throws EEXISTS naming what holds it.
uint32_t claim_host_port(const std::string& host_addr, uint32_t port, const std::string& protocol) {
  uint32_t addr = 0;
  parse_ipv4(host_addr, addr);
  const int fd =
      ::socket(AF_INET, (protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno(SMOLVM_EIO, "socket");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(addr);
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EADDRINUSE) {
      fail(SMOLVM_EEXISTS, "host_port=" + std::to_string(port) + ": " + protocol + " port " +
                               std::to_string(port) + " on " + host_addr +
                               " is in use by another program");
    }
    errno = e;
    fail_errno(SMOLVM_EINVAL, "host_addr='" + host_addr + "': cannot bind");
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

}  // namespace

uint32_t Runtime::expose(const std::string& id, uint32_t guest_port, uint32_t host_port,
                         const std::string& host_addr, const std::string& protocol) {
  check_port("guest_port", guest_port, false);
  check_port("host_port", host_port, true);
  if (protocol != "tcp" && protocol != "udp") {
    fail(SMOLVM_EINVAL, "protocol='" + protocol + "': must be one of tcp|udp");
  }
  uint32_t addr = 0;
  if (!parse_ipv4(host_addr, addr)) {
    fail(SMOLVM_EINVAL, "host_addr='" + host_addr + "': must be an IPv4 address (e.g. 127.0.0.1)");
  }
  VmRecord rec = reconciled(id);
  const std::string network = rec.runtime.network;
  if (!has_network(rec.runtime)) {
    fail(SMOLVM_EUNSUPPORTED, "vm '" + id +
                                  "' has no network (network=none): port forwarding needs a "
                                  "network backend; create the VM with network=auto");
  }
  for (const auto& f : store_->forwards("")) {
    if (f.protocol == protocol && f.host_port == host_port && host_port != 0 &&
        (f.host_addr == host_addr || f.host_addr == "0.0.0.0" || host_addr == "0.0.0.0")) {
      fail(SMOLVM_EEXISTS, "host_port=" + std::to_string(host_port) + ": " + protocol + " " +
                               f.host_addr + ":" + std::to_string(host_port) +
                               " already forwards to vm '" + f.vm_id + "'");
    }
  }
  ForwardRecord f{id, protocol, host_addr, claim_host_port(host_addr, host_port, protocol),
                  guest_port};
  store_->add_forward(f);
  // A paused VM's network is up as a running one's is.
  if (rec.state == state_name(VmState::kRunning) || rec.state == state_name(VmState::kPaused)) {
    try {
      NetworkBackend(plugins_, network).add_forward(rec.runtime.lease, f);
    } catch (...) {
      store_->remove_forward(f);
      throw;
    }
  }
  return f.host_port;
}

void Runtime::unexpose(const std::string& id, uint32_t host_port, const std::string& host_addr,
                       const std::string& protocol) {
  VmRecord rec = reconciled(id);
  for (const auto& f : store_->forwards(id)) {
    if (f.host_port != host_port || f.host_addr != host_addr || f.protocol != protocol) continue;
    if (is_live_state(rec.state)) {
      NetworkBackend(plugins_, rec.runtime.network).remove_forward(rec.runtime.lease, f);
    }
    store_->remove_forward(f);
    return;
  }
  fail(SMOLVM_ENOTFOUND, "vm '" + id + "' has no " + protocol + " forward from " + host_addr + ":" +
                             std::to_string(host_port));
}

std::vector<ForwardRecord> Runtime::ports(const std::string& id) {
  get(id);
  return store_->forwards(id);
}

void Runtime::teardown_network(const VmRecord& rec) {
  if (!has_network(rec.runtime) || rec.runtime.lease.tap.empty()) return;
  NetworkBackend(plugins_, rec.runtime.network)
      .teardown(rec.id, rec.runtime.lease, store_->forwards(rec.id));
}

uint32_t Runtime::gc() {
  uint32_t fixed = 0;
  std::set<std::string> known;
  for (auto& rec : store_->list()) {
    // A create whose process died half-way (its row but maybe no folder or
    // disk) is removed, like the create's own rollback would have.
    const int64_t creator = rec.runtime.creator_pid;
    if (rec.state == "created" && creator > 0 &&
        !process_alive(creator, rec.runtime.creator_start)) {
      remove_tree(rec.runtime.vm_dir.empty() ? vm_dir(state_dir_, rec.id) : rec.runtime.vm_dir);
      if (store_->remove(rec.id)) ++fixed;
      continue;
    }
    if (reconcile(rec)) ++fixed;
    // An ephemeral VM that is not running has no supervisor to notice its
    // owner's end: delete it here, as that supervisor would have.
    if (!is_live_state(rec.state) && owner_gone(rec)) {
      try {
        remove(rec.id);
        ++fixed;
        continue;
      } catch (const Error& e) {
        if (e.status() != SMOLVM_ENOTFOUND) throw;
        continue;  // deleted meanwhile
      }
    }
    known.insert(rec.id);
  }
  const std::string vms = state_dir_ + "/vms";
  if (DIR* d = ::opendir(vms.c_str())) {
    std::vector<std::string> orphans;
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == ".." || known.count(name)) continue;
      orphans.push_back(name);
    }
    ::closedir(d);
    for (const auto& name : orphans) {
      // A VM being created right now inserts its row before its folder, so
      // a folder without a row is a leftover.
      if (!store_->find(name)) {
        remove_tree(vms + "/" + name);
        ++fixed;
      }
    }
  }
  return fixed + gc_snapshots();
}

}  // namespace smolvm
