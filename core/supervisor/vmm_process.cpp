#include "core/supervisor/vmm_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/common/process.h"
#include "core/runtime/image.h"
#include "core/supervisor/log.h"

namespace smolvm {

void VmmProcess::launch(const VmRecord& rec, bool with_tap, uint64_t memory_overhead_mib) {
  const VmRuntime& rt = rec.runtime;
  const VmSpec& spec = rec.spec;
  cgroup_.prepare(rec.id, limits_for(spec.vcpu_count, spec.mem_size_mib, memory_overhead_mib));
  if (!cgroup_.json().value("enabled", false)) {
    supervisor_log("no cgroup limits: %s", cgroup_.json().value("reason", std::string()).c_str());
  }
  user_.acquire();

  // The config points into rec, which outlives the launch call.
  const std::string& tap = rt.lease.tap;
  smolvm_vmm_config cfg{};
  cfg.struct_size = sizeof cfg;
  cfg.vm_id = rec.id.c_str();
  cfg.vcpu_count = spec.vcpu_count;
  cfg.mem_size_mib = spec.mem_size_mib;
  cfg.kernel_path = rt.kernel_path.c_str();
  cfg.rootfs_path = rt.rootfs_path.c_str();
  cfg.disk_mode = spec.disk_mode.c_str();
  cfg.disk_path = rt.disk_path.empty() ? nullptr : rt.disk_path.c_str();
  cfg.accel = rt.accel.c_str();
  cfg.boot_args = rt.boot_args.c_str();
  cfg.vm_dir = rt.vm_dir.c_str();
  cfg.console_log = rt.console_log.c_str();
  cfg.tap_name = with_tap && !tap.empty() ? tap.c_str() : nullptr;
  cfg.mac = rt.lease.mac.empty() ? nullptr : rt.lease.mac.c_str();
  cfg.run_as_uid = user_.uid();
  cfg.run_as_gid = user_.gid();
  console_ = std::make_unique<ConsoleLog>(rt.console_log);
  cfg.console_fd = console_->write_fd();
  std::vector<const char*> layers;
  for (const auto& layer : rt.disk_layers) layers.push_back(layer.c_str());
  cfg.layer_paths = layers.empty() ? nullptr : layers.data();
  cfg.layer_count = static_cast<uint32_t>(layers.size());
  // The image is immutable, so its manifest says now what it said at start
  // (where core checked that this plugin can boot such a kernel).
  const KernelBoot boot = kernel_boot_for(rt.kernel_path);
  cfg.initrd_path = boot.initrd.empty() ? nullptr : boot.initrd.c_str();
  cfg.kernel_acpi = boot.acpi ? 1 : 0;
  smolvm_plugin_error err{};
  int rc;
  if (rt.restore_state.empty()) {
    rc = vmm_.launch(&inst_, &cfg, &err);
  } else {
    rc = launch_restore(rt.restore_state, cfg, err);
  }
  console_->close_write_end();
  console_->start();
  if (rc != 0) fail(rc, err.message);
  pid_ = vmm_.pid(inst_);
  cgroup_.add(pid_);
}

int VmmProcess::connect_agent(uint32_t timeout_ms, int& fd, std::string& message) {
  smolvm_plugin_error err{};
  const int rc = vmm_.agent_connect(inst_, &fd, timeout_ms, &err);
  if (rc != 0) message = err.message;
  return rc;
}

int VmmProcess::launch_restore(const std::string& state_path, const smolvm_vmm_config& cfg,
                               smolvm_plugin_error& err) {
  if (!can_snapshot()) {
    std::snprintf(err.message, sizeof err.message,
                  "the VMM plugin cannot restore a snapshot (it lacks launch_restore, plugin ABI "
                  "1.5)");
    return SMOLVM_EUNSUPPORTED;
  }
  const int fd = ::open(state_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::snprintf(err.message, sizeof err.message, "cannot open the snapshot's state %s: %s",
                  state_path.c_str(), std::strerror(errno));
    return SMOLVM_ENOTFOUND;
  }
  const int rc = vmm_.launch_restore(&inst_, &cfg, fd, &err);
  ::close(fd);
  return rc;
}

bool VmmProcess::can_snapshot() const {
  return SMOLVM_VMM_HAS(&vmm_, save_state) && SMOLVM_VMM_HAS(&vmm_, launch_restore);
}

int VmmProcess::save_state(int state_fd, std::string& message) {
  if (!inst_ || !can_snapshot()) {
    message = "the VMM cannot save a VM's state";
    return SMOLVM_EUNSUPPORTED;
  }
  smolvm_plugin_error err{};
  const int rc = vmm_.save_state(inst_, state_fd, &err);
  if (rc != 0) message = err.message;
  return rc;
}

bool VmmProcess::can_pause() const {
  return SMOLVM_VMM_HAS(&vmm_, pause) && SMOLVM_VMM_HAS(&vmm_, resume);
}

int VmmProcess::set_paused(bool paused, std::string& message) {
  if (!inst_ || !can_pause()) {
    message = "the VMM cannot pause";
    return SMOLVM_EUNSUPPORTED;
  }
  smolvm_plugin_error err{};
  const int rc = (paused ? vmm_.pause : vmm_.resume)(inst_, &err);
  if (rc != 0) message = err.message;
  return rc;
}

void VmmProcess::kill() {
  if (exited_ || !inst_) return;
  smolvm_plugin_error err{};
  if (vmm_.kill(inst_, &err) != 0) supervisor_log("VMM kill: %s", err.message);
}

void VmmProcess::sigkill() {
  if (pid_ > 0) ::kill(static_cast<pid_t>(pid_), SIGKILL);
}

void VmmProcess::kill_and_wait(int grace_ms) {
  if (!inst_ || exited_) return;
  kill();
  if (!wait_process_exit(pid_, -1, grace_ms)) sigkill();
  int status = 0;
  ::waitpid(static_cast<pid_t>(pid_), &status, 0);
  exited_ = true;
}

std::optional<int> VmmProcess::reap_children() {
  std::optional<int> vmm_status;
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid == pid_) vmm_status = status;
  }
  return vmm_status;
}

std::optional<int> VmmProcess::reap_vmm() {
  int status = 0;
  if (pid_ > 0 && ::waitpid(static_cast<pid_t>(pid_), &status, WNOHANG) == pid_) return status;
  return std::nullopt;
}

void VmmProcess::mark_exited(int) { exited_ = true; }

std::string VmmProcess::describe_exit(int status) const {
  std::string how;
  if (WIFEXITED(status)) {
    how = "exited with status " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    how = "was killed by signal " + std::to_string(WTERMSIG(status));
  } else {
    how = "ended (status " + std::to_string(status) + ")";
  }
  // A SIGKILL from the VM's own memory limit should say so, not leave the
  // user guessing who sent signal 9.
  if (const auto oom = cgroup_.oom_report();
      WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && oom.kills > 0) {
    how += " by the out-of-memory killer of its cgroup (memory limit " +
           std::to_string(oom.limit_bytes >> 20) + " MiB)";
  }
  return how;
}

std::string VmmProcess::output_hint(const std::string& vm_dir) {
  std::string tail = tail_file(vm_dir + "/vmm.log", 600);
  for (char& c : tail) {
    if (c != '\n' && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)) c = ' ';
  }
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
  if (tail.empty()) return "";
  return "; it said: " + tail;
}

void VmmProcess::release() {
  if (inst_) vmm_.release(inst_);
  inst_ = nullptr;
  console_.reset();
}

}  // namespace smolvm
