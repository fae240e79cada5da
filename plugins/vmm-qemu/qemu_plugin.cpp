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
#include "plugins/vmm-qemu/qmp.h"
#include "smolvm/plugin.h"

namespace {

struct Instance {
  pid_t pid = -1;
  std::string agent_socket;
  std::string qmp_socket;
};

int set_err(smolvm_plugin_error* err, int status, const std::string& msg) {
  if (err) std::snprintf(err->message, sizeof err->message, "%s", msg.c_str());
  return status;
}

std::string qemu_binary() {
  const char* env = std::getenv("SMOLVM_QEMU");
  return env && *env ? env : "qemu-system-x86_64";
}

// Resolves a command name through PATH the way execvp would.
std::string which(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    const std::string candidate = p.substr(start, end - start) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

// Runs a command and returns its first output line (for --version).
std::string first_line_of(const std::vector<std::string>& argv, int* exit_code) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return "";
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  const auto nl = out.find('\n');
  return nl == std::string::npos ? out : out.substr(0, nl);
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += c;
    }
  }
  return out;
}

int probe(char* out_json, size_t cap, smolvm_plugin_error* err) {
  const std::string bin = which(qemu_binary());
  std::string version, reason;
  if (bin.empty()) {
    reason = qemu_binary() + " not found on PATH (apt-get install qemu-system-x86)";
  } else {
    version = first_line_of({bin, "--version"}, nullptr);
  }
  const std::string img = which("qemu-img");
  if (!bin.empty() && img.empty()) reason = "qemu-img not found (apt-get install qemu-utils)";
  const bool ok = reason.empty();
  const std::string json = std::string("{\"available\":") + (ok ? "true" : "false") +
                           ",\"binary\":\"" + json_escape(bin) + "\",\"version\":\"" +
                           json_escape(version) + "\",\"reason\":\"" + json_escape(reason) +
                           "\",\"accels\":[\"kvm\",\"tcg\"]}";
  if (json.size() + 1 > cap) return set_err(err, SMOLVM_EINVAL, "probe buffer too small");
  std::memcpy(out_json, json.c_str(), json.size() + 1);
  return 0;
}

// Isolated disks are qcow2 overlays on the read-only base: created in
// milliseconds whatever the base's size, and only what the guest writes
// takes space (bench/README.md has the measurement against a sparse copy).
int prepare_disk(const smolvm_vmm_config* cfg, char* out_path, size_t cap,
                 smolvm_plugin_error* err) {
  if (!cfg || !cfg->vm_dir || !cfg->rootfs_path) {
    return set_err(err, SMOLVM_EINVAL, "prepare_disk: vm_dir and rootfs_path are required");
  }
  const std::string disk = std::string(cfg->vm_dir) + "/disk.qcow2";
  if (disk.size() + 1 > cap) return set_err(err, SMOLVM_EINVAL, "disk path too long");
  int code = 0;
  const std::string msg = first_line_of(
      {"qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", cfg->rootfs_path, disk},
      &code);
  if (code != 0) {
    unlink(disk.c_str());
    return set_err(err, SMOLVM_EIO,
                   "qemu-img create of " + disk + " over " + cfg->rootfs_path + " failed: " +
                       (code == 127 ? "qemu-img not found (apt-get install qemu-utils)" : msg));
  }
  std::memcpy(out_path, disk.c_str(), disk.size() + 1);
  return 0;
}

int launch(void** out_instance, const smolvm_vmm_config* cfg, smolvm_plugin_error* err) {
  std::string problem;
  const std::vector<std::string> args = smolvm_qemu::build_args(*cfg, qemu_binary(), problem);
  if (!problem.empty()) return set_err(err, SMOLVM_EINVAL, problem);
  auto* inst = new Instance;
  inst->agent_socket = std::string(cfg->vm_dir) + "/agent.sock";
  inst->qmp_socket = std::string(cfg->vm_dir) + "/qmp.sock";
  unlink(inst->agent_socket.c_str());
  unlink(inst->qmp_socket.c_str());
  const std::string log = std::string(cfg->vm_dir) + "/vmm.log";
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    delete inst;
    return set_err(err, SMOLVM_EIO, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // QEMU must never outlive its supervisor: a VM nobody owns would leak.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int devnull = open("/dev/null", O_RDWR);
    const int logfd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(devnull, 0);
    dup2(logfd >= 0 ? logfd : devnull, 1);
    dup2(logfd >= 0 ? logfd : devnull, 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  inst->pid = pid;
  *out_instance = inst;
  return 0;
}

int64_t instance_pid(void* instance) { return static_cast<Instance*>(instance)->pid; }

int agent_connect(void* instance, int* out_fd, uint32_t timeout_ms, smolvm_plugin_error* err) {
  auto* inst = static_cast<Instance*>(instance);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (inst->agent_socket.size() >= sizeof addr.sun_path) {
    return set_err(err, SMOLVM_EINVAL, "agent socket path too long: " + inst->agent_socket);
  }
  inst->agent_socket.copy(addr.sun_path, inst->agent_socket.size());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return set_err(err, SMOLVM_EIO, std::string("socket: ") + std::strerror(errno));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      *out_fd = fd;
      return 0;
    }
    const int e = errno;
    close(fd);
    // QEMU creates the socket a few milliseconds after it starts; if it
    // died instead, say so rather than waiting out the deadline.
    if (waitpid(inst->pid, nullptr, WNOHANG) == inst->pid || kill(inst->pid, 0) != 0) {
      return set_err(err, SMOLVM_EIO, "QEMU exited before opening " + inst->agent_socket);
    }
    if ((e != ENOENT && e != ECONNREFUSED) || std::chrono::steady_clock::now() >= deadline) {
      return set_err(err, SMOLVM_ETIMEOUT,
                     "cannot connect to " + inst->agent_socket + ": " + std::strerror(e));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

int kill_vm(void* instance, smolvm_plugin_error* err) {
  auto* inst = static_cast<Instance*>(instance);
  if (inst->pid <= 0) return 0;
  // QMP quit lets QEMU flush its block layer (the qcow2 overlay) before
  // exiting; SIGKILL is the fallback when QMP does not answer.
  std::string qmp_error;
  if (!smolvm_qemu::qmp_quit(inst->qmp_socket, 1000, qmp_error)) {
    if (kill(inst->pid, SIGKILL) != 0 && errno != ESRCH) {
      return set_err(err, SMOLVM_EIO, "kill QEMU: " + std::string(std::strerror(errno)));
    }
  }
  return 0;
}

void release(void* instance) {
  auto* inst = static_cast<Instance*>(instance);
  unlink(inst->agent_socket.c_str());
  unlink(inst->qmp_socket.c_str());
  delete inst;
}

const smolvm_vmm_vtable kVtable = {
    sizeof(smolvm_vmm_vtable),
    probe,
    prepare_disk,
    launch,
    instance_pid,
    agent_connect,
    kill_vm,
    release,
};

const smolvm_plugin_descriptor kDescriptor = {
    SMOLVM_PLUGIN_ABI_MAJOR,
    SMOLVM_PLUGIN_ABI_MINOR,
    SMOLVM_PLUGIN_VMM,
    "qemu",
    "QEMU microvm (KVM or TCG), agent over virtio-serial",
    &kVtable,
};

}  // namespace

extern "C" SMOLVM_PLUGIN_EXPORT const smolvm_plugin_descriptor* smolvm_plugin_entry(void) {
  return &kDescriptor;
}
