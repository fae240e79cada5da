#include "plugins/vmm-qemu/qemu_files.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "plugins/vmm-qemu/qemu_args.h"
#include "smolvm/sdk/process.h"

namespace smolvm_qemu {
namespace {

int open_file(const std::string& path, int flags, const char* what, std::string& error) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd < 0) error = std::string("open ") + what + " " + path + ": " + std::strerror(errno);
  return fd;
}

int listen_unix(const std::string& path, std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    error = "socket path too long (" + std::to_string(path.size()) + " bytes, at most " +
            std::to_string(sizeof addr.sun_path - 1) + "): " + path;
    return -1;
  }
  path.copy(addr.sun_path, path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  ::unlink(path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 8) != 0) {
    error = "listen on " + path + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

// Attaches to the VM's persistent TAP (made by the network plugin). vnet
// headers as QEMU would ask for them itself, for checksum offload.
int open_tap(const std::string& name, std::string& error) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    error = "tap_name='" + name + "': must be 1.." + std::to_string(IFNAMSIZ - 1) + " characters";
    return -1;
  }
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    error = std::string("open /dev/net/tun: ") + std::strerror(errno);
    return -1;
  }
  ifreq ifr{};
  name.copy(ifr.ifr_name, name.size());
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    error = "attach to TAP " + name + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

// Shared mode: writes go to a throwaway overlay. It is unlinked as soon as
// it is open, so it disappears with QEMU however QEMU ends.
int scratch_overlay(const smolvm_vmm_config& cfg, std::string& error) {
  const std::string path = std::string(cfg.vm_dir) + "/scratch.qcow2";
  if (const std::string why = create_overlay(cfg.rootfs_path, path, 0); !why.empty()) {
    error = "the shared-mode overlay: " + why;
    return -1;
  }
  const int fd = open_file(path, O_RDWR, "the shared-mode overlay", error);
  ::unlink(path.c_str());
  return fd;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

namespace {

std::string qemu_img_create(const std::string& base, const char* base_format,
                            const std::string& path, uint32_t size_mib) {
  std::vector<std::string> argv = {"qemu-img", "create",    "-q", "-f", "qcow2",
                                   "-F",       base_format, "-b", base, path};
  if (size_mib != 0) argv.push_back(std::to_string(size_mib) + "M");
  int code = 0;
  const std::string msg = smolvm::sdk::first_line_of(argv, &code);
  if (code == 0) return "";
  ::unlink(path.c_str());
  return "qemu-img create of " + path + " over " + base +
         " failed: " + (code == 127 ? "qemu-img not found (apt-get install qemu-utils)" : msg);
}

}  // namespace

std::string create_overlay(const std::string& base, const std::string& path, uint32_t size_mib) {
  return qemu_img_create(base, "raw", path, size_mib);
}

std::string create_overlay_on_layer(const std::string& layer, const std::string& path) {
  return qemu_img_create(layer, "qcow2", path, 0);
}

std::string agent_socket_path(const std::string& vm_dir) { return vm_dir + "/agent.sock"; }
std::string qmp_socket_path(const std::string& vm_dir) { return vm_dir + "/qmp.sock"; }

// The supervisor's console pipe (a copy of it, for QEMU), or the log file.
int VmmFiles::open_console(const smolvm_vmm_config& cfg, std::string& error) {
  const int pipe_fd = SMOLVM_VMM_CONSOLE_FD(&cfg);
  if (pipe_fd < 0) {
    return open_file(cfg.console_log, O_WRONLY | O_CREAT | O_TRUNC, "the console log", error);
  }
  const int fd = ::fcntl(pipe_fd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) error = std::string("duplicating the console pipe: ") + std::strerror(errno);
  return fd;
}

VmmFiles::~VmmFiles() { close_all(); }

void VmmFiles::close_all() {
  for (int* fd : {&kernel_, &base_, &disk_, &console_, &agent_, &qmp_, &tap_, &state_, &initrd_}) {
    close_fd(*fd);
  }
  for (int& fd : layers_) close_fd(fd);
  layers_.clear();
}

bool VmmFiles::open(const smolvm_vmm_config& cfg, std::string& error, int state_fd) {
  const std::string vm_dir = cfg.vm_dir;
  const bool isolated = std::string(cfg.disk_mode) == "isolated";
  const bool ok =
      (kernel_ = open_file(cfg.kernel_path, O_RDONLY, "the kernel", error)) >= 0 &&
      (base_ = open_file(cfg.rootfs_path, O_RDONLY, "the base image", error)) >= 0 &&
      (disk_ = isolated ? open_file(cfg.disk_path, O_RDWR, "the VM's disk", error)
                        : scratch_overlay(cfg, error)) >= 0 &&
      (console_ = open_console(cfg, error)) >= 0 &&
      (agent_ = listen_unix(agent_socket_path(vm_dir), error)) >= 0 &&
      (qmp_ = listen_unix(qmp_socket_path(vm_dir), error)) >= 0 &&
      (!(cfg.tap_name && *cfg.tap_name) || (tap_ = open_tap(cfg.tap_name, error)) >= 0) &&
      (state_fd < 0 || (state_ = dup_state(state_fd, error)) >= 0) && open_layers(cfg, error) &&
      (initrd_path(cfg).empty() ||
       (initrd_ = open_file(initrd_path(cfg), O_RDONLY, "the initrd", error)) >= 0);
  if (!ok) {
    if (agent_ >= 0) ::unlink(agent_socket_path(vm_dir).c_str());
    if (qmp_ >= 0) ::unlink(qmp_socket_path(vm_dir).c_str());
    close_all();
  }
  return ok;
}

int VmmFiles::dup_state(int state_fd, std::string& error) {
  const int fd = ::fcntl(state_fd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    error = std::string("duplicating the saved state's descriptor: ") + std::strerror(errno);
  return fd;
}

bool VmmFiles::open_layers(const smolvm_vmm_config& cfg, std::string& error) {
  for (uint32_t i = 0; i < layer_count(cfg); ++i) {
    const int fd =
        open_file(cfg.layer_paths[i] ? cfg.layer_paths[i] : "", O_RDONLY, "the disk layer", error);
    if (fd < 0) return false;
    layers_.push_back(fd);
  }
  return true;
}

std::vector<int> VmmFiles::pass_list() const {
  std::vector<int> fds = {kernel_, base_, disk_, console_, agent_, qmp_};
  if (tap_ >= 0) fds.push_back(tap_);
  if (state_ >= 0) fds.push_back(state_);
  fds.insert(fds.end(), layers_.begin(), layers_.end());
  if (initrd_ >= 0) fds.push_back(initrd_);
  return fds;
}

}  // namespace smolvm_qemu
