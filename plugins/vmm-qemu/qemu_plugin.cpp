// vmm-qemu: QEMU's microvm machine. KVM where the host has hardware KVM,
// TCG otherwise (the supervisor passes the resolved accel). The agent
// channel is a virtio-serial port backed by a host Unix socket, because
// hosts without vhost-vsock (like PVM ones) cannot offer vsock to QEMU.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "plugins/vmm-qemu/qemu_args.h"
#include "plugins/vmm-qemu/qemu_files.h"
#include "plugins/vmm-qemu/qmp.h"
#include "smolvm/plugin_sdk.h"
#include "smolvm/sdk/json.h"
#include "smolvm/sdk/path.h"
#include "smolvm/sdk/process.h"

namespace {

using smolvm::sdk::set_error;

// The plugin's tag: its slot functions take it first (smolvm/sdk/vtables.h).
struct Qemu {};

struct Instance {
  pid_t pid = -1;
  std::string agent_socket;
  std::string qmp_socket;
  std::string vm_dir;
};

// How long a migration (save or load of a VM's state) may take: a 512 MiB
// guest saves in about 250 ms on this host, a 16 GiB one under TCG on a
// busy host may take many seconds.
constexpr int kMigrationTimeoutMs = 120000;
constexpr int kQmpAnswerMs = 5000;

std::string qemu_binary() {
  const char* env = std::getenv("SMOLVM_QEMU");
  return env && *env ? env : "qemu-system-x86_64";
}

void probe(Qemu, char* out_json, size_t cap, smolvm_plugin_error*) {
  const std::string bin = smolvm::sdk::which(qemu_binary());
  std::string version, reason;
  if (bin.empty()) {
    reason = qemu_binary() + " not found on PATH (apt-get install qemu-system-x86)";
  } else {
    version = smolvm::sdk::first_line_of({bin, "--version"});
  }
  const std::string img = smolvm::sdk::which("qemu-img");
  if (!bin.empty() && img.empty()) reason = "qemu-img not found (apt-get install qemu-utils)";
  const bool ok = reason.empty();
  using smolvm::sdk::json_quote;
  // Rank 10: vmm=auto prefers a backend of higher rank where one runs
  // (Firecracker), and takes QEMU, which runs everywhere (TCG), otherwise.
  // Memory beyond the guest's RAM (the VM's cgroup limit adds it): QEMU's
  // heap and device state, and under TCG the translated-code cache, capped
  // by tb-size=64 (uncapped it grows towards 1 GiB and the group OOM-kills
  // QEMU). Measured with TCG, a 256 MiB guest running a memory hog then 12
  // python3 runs: anon memory levels off at 342-351 MiB.
  const std::string json =
      std::string("{\"available\":") + (ok ? "true" : "false") + ",\"binary\":" + json_quote(bin) +
      ",\"version\":" + json_quote(version) + ",\"reason\":" + json_quote(reason) +
      ",\"fix\":\"apt-get install qemu-system-x86 qemu-utils\",\"accels\":[\"kvm\",\"tcg\"]"
      ",\"rank\":10,\"memory_overhead_mib\":{\"kvm\":64,\"tcg\":192}}";
  smolvm::sdk::copy_out(out_json, cap, json, "probe JSON");
}

// Isolated disks are qcow2 overlays on the read-only base: created in
// milliseconds whatever the base's size, and only what the guest writes
// takes space.
int prepare_disk(Qemu, const smolvm_vmm_config* cfg, char* out_path, size_t cap,
                 smolvm_plugin_error* err) {
  if (!cfg->vm_dir || !cfg->rootfs_path) {
    return set_error(err, SMOLVM_EINVAL, "prepare_disk: vm_dir and rootfs_path are required");
  }
  const std::string disk = std::string(cfg->vm_dir) + "/disk.qcow2";
  smolvm::sdk::copy_out(out_path, cap, disk, "the disk path");
  // A larger virtual size than the base: the guest's root file system grows
  // into it at boot; the file still holds only what the guest writes. On
  // snapshot layers, the size is the last layer's (the guest's file system
  // already fills it).
  const uint32_t size_mib = SMOLVM_VMM_CONFIG_HAS(cfg, disk_size_mib) ? cfg->disk_size_mib : 0;
  const uint32_t layers = smolvm_qemu::layer_count(*cfg);
  if (const std::string why =
          layers > 0 ? smolvm_qemu::create_overlay_on_layer(cfg->layer_paths[layers - 1], disk)
                     : smolvm_qemu::create_overlay(cfg->rootfs_path, disk, size_mib);
      !why.empty()) {
    return set_error(err, SMOLVM_EIO, why);
  }
  return 0;
}

// Starts QEMU: booting the kernel, or (state_fd >= 0) loading a saved state.
int spawn_qemu(void** out_instance, const smolvm_vmm_config* cfg, int state_fd,
               smolvm_plugin_error* err) {
  std::string problem;
  const std::vector<std::string> args =
      smolvm_qemu::build_args(*cfg, qemu_binary(), problem, state_fd >= 0);
  if (!problem.empty()) return set_error(err, SMOLVM_EINVAL, problem);
  smolvm_qemu::VmmFiles files;
  if (!files.open(*cfg, problem, state_fd)) return set_error(err, SMOLVM_EIO, problem);
  const std::string log = std::string(cfg->vm_dir) + "/vmm.log";
  const int logfd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (logfd < 0) return set_error(err, SMOLVM_EIO, "open " + log + ": " + std::strerror(errno));
  smolvm::sdk::SpawnRequest req;
  req.argv = args;
  req.stdout_fd = logfd;
  req.stderr_fd = logfd;
  req.pass_fds = files.pass_list();
  if (SMOLVM_VMM_CONFIG_HAS(cfg, run_as_gid)) {
    req.uid = cfg->run_as_uid;
    req.gid = cfg->run_as_gid;
  }
  const pid_t pid = smolvm::sdk::spawn(req, problem);
  close(logfd);
  if (pid < 0) return set_error(err, SMOLVM_EIO, "starting QEMU: " + problem);
  auto* inst = new Instance;
  inst->pid = pid;
  inst->agent_socket = smolvm_qemu::agent_socket_path(cfg->vm_dir);
  inst->qmp_socket = smolvm_qemu::qmp_socket_path(cfg->vm_dir);
  inst->vm_dir = cfg->vm_dir;
  *out_instance = inst;
  return 0;
}

int launch(Qemu, void** out_instance, const smolvm_vmm_config* cfg, smolvm_plugin_error* err) {
  return spawn_qemu(out_instance, cfg, -1, err);
}

// The end of what QEMU wrote to vmm.log: why it refused a state.
std::string vmm_log_tail(const std::string& vm_dir) {
  std::string text;
  if (FILE* f = std::fopen((vm_dir + "/vmm.log").c_str(), "r")) {
    char buf[4096];
    const size_t n = std::fread(buf, 1, sizeof buf, f);
    std::fclose(f);
    text.assign(buf, n);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  return text.size() > 600 ? text.substr(text.size() - 600) : text;
}

// QEMU loads the state from the descriptor as it starts (-incoming fd:N);
// the source was paused when saved, so the loaded VM stays paused until
// cont. A state that does not load (truncated, corrupt, another machine)
// makes QEMU exit: its reason is in vmm.log.
int launch_restore(Qemu, void** out_instance, const smolvm_vmm_config* cfg, int state_fd,
                   smolvm_plugin_error* err) {
  if (state_fd < 0) return set_error(err, SMOLVM_EINVAL, "launch_restore: state_fd is required");
  void* opened = nullptr;
  if (const int rc = spawn_qemu(&opened, cfg, state_fd, err); rc != 0) return rc;
  auto* inst = static_cast<Instance*>(opened);
  smolvm_qemu::QmpSession qmp;
  std::string error, answer;
  const bool ok = qmp.open(inst->qmp_socket, kQmpAnswerMs, error) &&
                  qmp.wait_migration(kMigrationTimeoutMs, error) &&
                  qmp.execute("{\"execute\":\"cont\"}", kQmpAnswerMs, answer, error);
  if (ok) {
    *out_instance = inst;
    return 0;
  }
  ::kill(inst->pid, SIGKILL);
  waitpid(inst->pid, nullptr, 0);
  const std::string said = vmm_log_tail(inst->vm_dir);
  unlink(inst->agent_socket.c_str());
  unlink(inst->qmp_socket.c_str());
  delete inst;
  return set_error(err, SMOLVM_EINVAL,
                   "QEMU could not load the saved state (" + error + ")" +
                       (said.empty() ? "" : "; it said: " + said));
}

// The VM is paused (core pauses it first). QEMU migrates to the file
// through a descriptor handed over QMP; when the migration completes QEMU
// has flushed and released the disk (its block layer is inactive), so the
// caller can copy the disk as it is; cont takes it back.
int save_state(Qemu, void* instance, int state_fd, smolvm_plugin_error* err) {
  auto* inst = static_cast<Instance*>(instance);
  smolvm_qemu::QmpSession qmp;
  std::string error, answer;
  const bool ok =
      qmp.open(inst->qmp_socket, kQmpAnswerMs, error) &&
      qmp.send_fd(state_fd, "smolvm-state", kQmpAnswerMs, error) &&
      qmp.execute("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"fd:smolvm-state\"}}",
                  kQmpAnswerMs, answer, error) &&
      qmp.wait_migration(kMigrationTimeoutMs, error);
  if (!ok) return set_error(err, SMOLVM_EIO, "saving the VM's state: " + error);
  return 0;
}

int64_t pid(Qemu, void* instance) { return static_cast<Instance*>(instance)->pid; }

int agent_connect(Qemu, void* instance, int* out_fd, uint32_t timeout_ms,
                  smolvm_plugin_error* err) {
  auto* inst = static_cast<Instance*>(instance);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (inst->agent_socket.size() >= sizeof addr.sun_path) {
    return set_error(err, SMOLVM_EINVAL, "agent socket path too long: " + inst->agent_socket);
  }
  inst->agent_socket.copy(addr.sun_path, inst->agent_socket.size());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return set_error(err, SMOLVM_EIO, std::string("socket: ") + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      *out_fd = fd;
      return 0;
    }
    const int e = errno;
    close(fd);
    // The plugin made the listening socket before QEMU started, so this
    // normally connects at once; if QEMU died and took the socket with it,
    // say so rather than waiting out the deadline.
    if (waitpid(inst->pid, nullptr, WNOHANG) == inst->pid || ::kill(inst->pid, 0) != 0) {
      return set_error(err, SMOLVM_EIO, "QEMU exited before opening " + inst->agent_socket);
    }
    if ((e != ENOENT && e != ECONNREFUSED) || std::chrono::steady_clock::now() >= deadline) {
      return set_error(err, SMOLVM_ETIMEOUT,
                       "cannot connect to " + inst->agent_socket + ": " + std::strerror(e));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

int kill(Qemu, void* instance, smolvm_plugin_error* err) {
  auto* inst = static_cast<Instance*>(instance);
  if (inst->pid <= 0) return 0;
  // QMP quit lets QEMU flush its block layer (the qcow2 overlay) before
  // exiting; SIGKILL is the fallback when QMP does not answer.
  std::string qmp_error;
  if (!smolvm_qemu::qmp_quit(inst->qmp_socket, 1000, qmp_error)) {
    if (::kill(inst->pid, SIGKILL) != 0 && errno != ESRCH) {
      return set_error(err, SMOLVM_EIO, "kill QEMU: " + std::string(std::strerror(errno)));
    }
  }
  return 0;
}

// QMP stop returns once every vCPU stands still; cont lets them run. The
// agent channel's socket stays connected meanwhile.
int set_running(Instance& inst, bool run, smolvm_plugin_error* err) {
  const char* command = run ? "cont" : "stop";
  std::string error;
  if (!smolvm_qemu::qmp_execute(inst.qmp_socket, command, 5000, error)) {
    return set_error(err, SMOLVM_EIO, std::string("QMP ") + command + ": " + error);
  }
  return 0;
}

int pause(Qemu, void* instance, smolvm_plugin_error* err) {
  return set_running(*static_cast<Instance*>(instance), false, err);
}

int resume(Qemu, void* instance, smolvm_plugin_error* err) {
  return set_running(*static_cast<Instance*>(instance), true, err);
}

void release(Qemu, void* instance) {
  auto* inst = static_cast<Instance*>(instance);
  unlink(inst->agent_socket.c_str());
  unlink(inst->qmp_socket.c_str());
  delete inst;
}

// What a QEMU whose supervisor died leaves in its folder: the sockets the
// plugin made for it (release() removes them when the supervisor lives).
void cleanup(Qemu, const smolvm_vmm_config* cfg, smolvm_plugin_error*) {
  unlink(smolvm_qemu::agent_socket_path(cfg->vm_dir).c_str());
  unlink(smolvm_qemu::qmp_socket_path(cfg->vm_dir).c_str());
}

}  // namespace

SMOLVM_PLUGIN_DEFINE_CXX(vmm, qemu, SMOLVM_PLUGIN_VERSION,
                         "QEMU microvm (KVM or TCG), agent over virtio-serial", Qemu)
