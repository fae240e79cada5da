#include "plugins/vmm-firecracker/fc_instance.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>

#include "plugins/vmm-firecracker/fc_api.h"
#include "plugins/vmm-firecracker/fc_jail.h"
#include "plugins/vmm-firecracker/fc_process.h"
#include "plugins/vmm-firecracker/fc_requests.h"
#include "plugins/vmm-firecracker/fc_vsock.h"

namespace smolvm_fc {
namespace {

// Firecracker opens its API socket within milliseconds; the jailer first
// copies the binary and sets up cgroups.
constexpr int kApiSocketWaitMs = 10000;
constexpr size_t kLogTail = 600;

std::string stderr_file(const std::string& vm_dir) { return vm_dir + "/vmm.stderr"; }

// What Firecracker, the jailer and the guest said before failing (the
// jailer prints its argument errors on stdout, the console).
std::string log_hint(const Instance& inst) {
  std::string hint;
  for (const std::string& path : {inst.plan.log_file, stderr_file(inst.vm_dir), inst.console_log}) {
    const std::string tail = tail_of(path, kLogTail);
    if (!tail.empty()) hint += "; " + path + " ends with:\n" + tail;
  }
  return hint;
}

bool configure(const Instance& inst, const std::vector<ApiRequest>& requests, std::string& error) {
  ApiClient api(inst.plan.api_socket);
  for (const auto& req : requests) {
    if (!api.send(req, error)) {
      error = "Firecracker refused " + error;
      return false;
    }
  }
  return true;
}

// Firecracker's logger opens its file without creating it; the console and
// logs start empty on every boot, as under QEMU, so error tails are this
// boot's.
bool create_empty(const std::string& path, std::string& error) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "creating " + path + ": " + std::strerror(errno);
    return false;
  }
  close(fd);
  return true;
}

}  // namespace

int launch_instance(Instance** out, const smolvm_vmm_config& in, const LaunchSettings& s,
                    std::string& error) {
  error.clear();
  if (!in.vm_dir || !in.console_log || !*in.console_log) {
    error = "launch: vm_dir and console_log are required";
    return SMOLVM_EINVAL;
  }
  // The jailer canonicalizes its --chroot-base-dir: use the same spelling.
  char real_dir[PATH_MAX];
  if (!realpath(in.vm_dir, real_dir)) {
    error = std::string("vm_dir ") + in.vm_dir + ": " + std::strerror(errno);
    return SMOLVM_EIO;
  }
  smolvm_vmm_config cfg = in;
  cfg.vm_dir = real_dir;

  auto inst = std::make_unique<Instance>();
  inst->vm_dir = real_dir;
  inst->console_log = cfg.console_log;
  inst->plan = plan_launch(cfg, s, error);
  if (!error.empty()) return SMOLVM_EINVAL;
  std::vector<ApiRequest> requests = config_requests(cfg, inst->plan.files, error);
  if (!error.empty()) return SMOLVM_EINVAL;
  requests.push_back(instance_start());

  const LaunchPlan& plan = inst->plan;
  // Firecracker refuses to start on a stale API socket.
  unlink(plan.api_socket.c_str());
  unlink(plan.vsock_socket.c_str());
  const int console_fd = SMOLVM_VMM_CONSOLE_FD(&cfg);
  if (!create_empty(plan.log_file, error) || !create_empty(stderr_file(inst->vm_dir), error) ||
      (console_fd < 0 && !create_empty(cfg.console_log, error))) {
    return SMOLVM_EIO;
  }
  if (!stage_jail(plan, s.uid, s.gid, error)) {
    remove_jail(plan);
    return SMOLVM_EIO;
  }
  inst->pid = spawn(plan.argv, cfg.console_log, console_fd, stderr_file(inst->vm_dir), error);
  if (inst->pid < 0) {
    error = "starting " + plan.argv[0] + ": " + error;
    remove_jail(plan);
    return SMOLVM_EIO;
  }
  if (!wait_for_socket(plan.api_socket, inst->pid, kApiSocketWaitMs, error) ||
      !configure(*inst, requests, error)) {
    // The supervisor never learns this pid: end it here.
    kill_and_reap(inst->pid);
    error += log_hint(*inst);
    unlink(plan.api_socket.c_str());
    unlink(plan.vsock_socket.c_str());
    remove_jail(plan);
    return SMOLVM_EIO;
  }
  *out = inst.release();
  return 0;
}

int connect_agent(Instance& inst, uint32_t timeout_ms, int* out_fd, std::string& error) {
  bool timed_out = false;
  const pid_t pid = inst.pid;
  const int fd = hybrid_vsock_connect(
      inst.plan.vsock_socket, kAgentVsockPort, timeout_ms,
      [pid](std::string& why) { return still_running(pid, why); }, error, timed_out);
  if (fd < 0) {
    error += log_hint(inst);
    return timed_out ? SMOLVM_ETIMEOUT : SMOLVM_EIO;
  }
  *out_fd = fd;
  return 0;
}

int set_paused(Instance& inst, bool paused, std::string& error) {
  ApiClient api(inst.plan.api_socket);
  if (!api.send(vm_state(paused), error)) return SMOLVM_EIO;
  return 0;
}

// SendCtrlAltDel would be the graceful way off on x86, but the guest kernel
// has no i8042 driver to see it, and the supervisor has already asked the
// agent to power off when it gets here. SIGKILL loses nothing Firecracker
// holds: a raw image has no metadata of its own, and the block device
// writes through to the host page cache as the guest submits.
int kill_instance(Instance& inst, std::string& error) {
  if (inst.pid <= 0) return 0;
  if (kill(inst.pid, SIGKILL) != 0 && errno != ESRCH) {
    error = std::string("kill firecracker: ") + std::strerror(errno);
    return SMOLVM_EIO;
  }
  return 0;
}

void release_instance(Instance* inst) {
  unlink(inst->plan.api_socket.c_str());
  unlink(inst->plan.vsock_socket.c_str());
  remove_jail(inst->plan);
  delete inst;
}

}  // namespace smolvm_fc
