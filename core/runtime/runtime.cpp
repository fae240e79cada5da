#include "core/runtime/runtime.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <set>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/common/paths.h"
#include "core/common/process.h"
#include "core/host/host_probe.h"
#include "core/runtime/image.h"
#include "core/runtime/launcher.h"
#include "core/runtime/supervisor_client.h"
#include "core/state/vm_state.h"

namespace smolvm {
namespace {

constexpr int kCreateIdAttempts = 8;
// Beyond the graceful deadline, how long stop waits for the supervisor to
// force the VM off and exit before killing what is left itself.
constexpr int kStopGraceMs = 10000;

bool is_live_state(const std::string& state) {
  return state == "starting" || state == "running" || state == "stopping";
}

}  // namespace

Runtime::Runtime(const RuntimeOptions& opts)
    : opts_(opts),
      state_dir_(resolve_state_dir(opts.state_dir)),
      cache_dir_(resolve_cache_dir(opts.cache_dir)),
      plugins_(opts.plugin_path) {
  make_dirs(state_dir_, 0700);
  make_dirs(state_dir_ + "/vms", 0700);
  const auto& store_plugin =
      plugins_.get(SMOLVM_PLUGIN_STORE, opts.store.empty() ? "sqlite" : opts.store);
  store_ = std::make_unique<Store>(store_plugin, store_path(state_dir_));
}

std::string Runtime::resolve_vmm(const std::string& requested) {
  if (requested != "auto") return requested;
  // Firecracker joins "auto" once its backend lands (it needs hardware KVM).
  return "qemu";
}

std::string Runtime::resolve_executor(const std::string& requested) {
  return requested == "auto" ? "agent" : requested;
}

std::string Runtime::resolve_network(const std::string& requested) {
  return requested == "auto" ? "none" : requested;
}

VmRecord Runtime::create(VmSpec spec) {
  const bool generated = spec.vm_id.empty();
  if (generated) spec.vm_id = generate_vm_id();
  validate(spec);
  const ImagePaths image = resolve_image(spec.kernel_path, spec.rootfs_path, cache_dir_);

  VmRecord rec;
  rec.state = "created";
  rec.created_at_ms = now_ms();
  const std::string vmm = resolve_vmm(spec.vmm);
  const std::string executor = resolve_executor(spec.executor);
  const std::string network = resolve_network(spec.network);
  // Load every plugin the VM needs now, so a missing one fails create, not
  // a later start.
  const auto& vmm_plugin = plugins_.get(SMOLVM_PLUGIN_VMM, vmm);
  plugins_.get(SMOLVM_PLUGIN_EXECUTOR, executor);
  if (network != "none") plugins_.get(SMOLVM_PLUGIN_NETWORK, network);

  // Insert first: the row reserves the id before any file is made. A
  // generated id that collides is simply drawn again.
  for (int attempt = 0;; ++attempt) {
    rec.id = spec.vm_id;
    const std::string dir = vm_dir(state_dir_, rec.id);
    rec.spec = to_json(spec);
    rec.runtime = {{"vm_dir", dir},
                   {"kernel_path", image.kernel},
                   {"rootfs_path", image.rootfs},
                   {"vmm", vmm},
                   {"executor", executor},
                   {"network", network},
                   {"accel", ""},
                   {"disk_path", ""},
                   {"console_log", dir + "/console.log"},
                   {"supervisor_socket", dir + "/supervisor.sock"},
                   {"token", random_hex(16)},
                   {"supervisor_pid", 0},
                   {"vmm_pid", 0},
                   {"started_at_ms", 0},
                   {"last_error", ""}};
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

  const std::string dir = rec.runtime["vm_dir"];
  try {
    if (path_exists(dir)) remove_tree(dir);  // a leftover of a crashed delete
    make_dirs(dir, 0700);
    if (spec.disk_mode == "isolated") {
      const std::string kernel = image.kernel, rootfs = image.rootfs;
      smolvm_vmm_config cfg{};
      cfg.struct_size = sizeof cfg;
      cfg.vm_id = rec.id.c_str();
      cfg.vcpu_count = spec.vcpu_count;
      cfg.mem_size_mib = spec.mem_size_mib;
      cfg.kernel_path = kernel.c_str();
      cfg.rootfs_path = rootfs.c_str();
      cfg.disk_mode = "isolated";
      cfg.vm_dir = dir.c_str();
      char disk[4096] = {0};
      smolvm_plugin_error err{};
      const int rc =
          vmm_plugin.vtable<smolvm_vmm_vtable>().prepare_disk(&cfg, disk, sizeof disk, &err);
      if (rc != 0) fail(rc, std::string("cannot prepare the VM's disk: ") + err.message);
      rec.runtime["disk_path"] = disk;
      store_->update(rec.id, "", nullptr, &rec.runtime, "");
    }
  } catch (...) {
    remove_tree(dir);
    store_->remove(rec.id);
    throw;
  }
  return rec;
}

void Runtime::start(const std::string& id) {
  VmRecord rec = get(id);
  check_transition(id, parse_state(rec.state), VmState::kStarting);
  const VmSpec spec = spec_from_json(rec.spec);
  // The image may have been removed since create: check before booting.
  resolve_image(rec.runtime.value("kernel_path", std::string()),
                rec.runtime.value("rootfs_path", std::string()), cache_dir_);
  nlohmann::json runtime = rec.runtime;
  runtime["accel"] = resolve_accel(spec.accel);
  std::string boot_args = "init=/sbin/smolvm-init";
  if (!spec.boot_args.empty()) boot_args += " " + spec.boot_args;
  runtime["boot_args"] = boot_args;
  runtime["last_error"] = "";
  store_->update(id, "starting", nullptr, &runtime, states_leading_to(VmState::kStarting));

  const std::string dir = runtime["vm_dir"];
  LaunchRequest req{id, state_dir_, opts_.plugin_path, opts_.store.empty() ? "sqlite" : opts_.store,
                    dir + "/supervisor.log",
                    // The supervisor enforces the boot timeout itself; this
                    // margin only covers a supervisor that hangs.
                    static_cast<int>(spec.boot_timeout_s) * 1000 + 15000};
  LaunchResult res;
  try {
    res = launch_supervisor(req);
  } catch (const Error& e) {
    runtime["last_error"] = e.what();
    store_->update(id, "failed", nullptr, &runtime, "");
    throw;
  }
  if (res.ready) return;

  // The supervisor cleans up after itself on every failure it sees; make
  // sure of it, and of the record, in case it could not.
  if (res.pid > 0 && !wait_process_exit(res.pid, -1, 5000)) {
    ::kill(static_cast<pid_t>(res.pid), SIGKILL);
    wait_process_exit(res.pid, -1, 5000);
  }
  VmRecord after = store_->get(id);
  cleanup_processes(after);
  after.runtime["last_error"] = res.error;
  after.runtime["supervisor_pid"] = 0;
  after.runtime["vmm_pid"] = 0;
  store_->update(id, "failed", nullptr, &after.runtime, "");
  ::unlink(after.runtime.value("supervisor_socket", std::string()).c_str());
  fail(
      res.error.find("did not answer within") != std::string::npos ? SMOLVM_ETIMEOUT : SMOLVM_ERROR,
      "vm '" + id + "' failed to start: " + res.error);
}

void Runtime::stop(const std::string& id, uint32_t timeout_ms, bool force) {
  if (timeout_ms == 0) timeout_ms = 10000;
  VmRecord rec = get(id);
  if (!is_live_state(rec.state)) return;  // created, stopped, failed: nothing runs

  const int64_t sup_pid = rec.runtime.value("supervisor_pid", int64_t{0});
  std::string error;
  const bool asked =
      request_stop(rec.runtime.value("supervisor_socket", std::string()),
                   rec.runtime.value("token", std::string()), timeout_ms, force, error);
  int64_t sup_start = -1;
  for (const auto& p : store_->processes(id)) {
    if (p.role == "supervisor") sup_start = p.start_time;
  }
  if (asked && sup_pid > 0 &&
      wait_process_exit(sup_pid, sup_start, static_cast<int>(timeout_ms) + kStopGraceMs)) {
    return;  // the supervisor recorded the stop itself
  }
  // The supervisor is gone or stuck: end what it left and record it.
  rec = store_->get(id);
  if (!is_live_state(rec.state)) return;
  cleanup_processes(rec);
  rec.runtime["supervisor_pid"] = 0;
  rec.runtime["vmm_pid"] = 0;
  rec.runtime["last_error"] = asked ? "" : "stopped by force: " + error;
  store_->update(id, "stopped", nullptr, &rec.runtime, "");
}

void Runtime::remove(const std::string& id) {
  VmRecord rec = get(id);
  // Everything of the VM is thrown away: no need for a clean guest shutdown.
  if (is_live_state(rec.state)) stop(id, 10000, /*force=*/true);
  // Only the process whose delete removed the row removes the files, so two
  // concurrent deletes cannot trip over each other.
  if (!store_->remove(id)) fail(SMOLVM_ENOTFOUND, "no VM with id '" + id + "' (already deleted)");
  remove_tree(rec.runtime.value("vm_dir", vm_dir(state_dir_, id)));
}

VmRecord Runtime::get(const std::string& id) {
  check_vm_id(id);
  VmRecord rec = store_->get(id);
  reconcile(rec);
  return rec;
}

std::vector<VmRecord> Runtime::list() {
  auto all = store_->list();
  for (auto& rec : all) reconcile(rec);
  return all;
}

void Runtime::cleanup_processes(const VmRecord& rec) {
  // The VMM first: it must not outlive the supervisor that owns it.
  auto procs = store_->processes(rec.id);
  for (const auto& p : procs) {
    if (p.role != "supervisor") kill_process(p.pid, p.start_time);
  }
  for (const auto& p : procs) {
    if (p.role == "supervisor") kill_process(p.pid, p.start_time);
  }
  store_->clear_processes(rec.id, "");
  for (const char* sock : {"/supervisor.sock", "/agent.sock", "/qmp.sock"}) {
    ::unlink((rec.runtime.value("vm_dir", std::string()) + sock).c_str());
  }
}

bool Runtime::reconcile(VmRecord& rec) {
  if (!is_live_state(rec.state)) return false;
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
    if (since < int64_t{rec.spec.value("boot_timeout_s", 120u)} * 1000 + 20000) return false;
  }
  if (pid > 0 && process_alive(pid, start_time)) return false;
  cleanup_processes(rec);
  rec.runtime["supervisor_pid"] = 0;
  rec.runtime["vmm_pid"] = 0;
  rec.runtime["last_error"] =
      "the VM's supervisor (pid " + std::to_string(pid) + ") is gone; the VM was cleaned up";
  try {
    store_->update(rec.id, "failed", nullptr, &rec.runtime, rec.state);
    rec.state = "failed";
  } catch (const Error& e) {
    if (e.status() != SMOLVM_ESTATE) throw;
    rec = store_->get(rec.id);  // someone else moved it on meanwhile
  }
  return true;
}

uint32_t Runtime::gc() {
  uint32_t fixed = 0;
  std::set<std::string> known;
  for (auto& rec : store_->list()) {
    known.insert(rec.id);
    if (reconcile(rec)) ++fixed;
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
  return fixed;
}

}  // namespace smolvm
