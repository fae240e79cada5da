#include "guest/agent/channel.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "guest/agent/session.h"

namespace smolvm::agent {
namespace {

std::string read_line(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buf[256];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  std::string s = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

int fail(std::string& err, const std::string& what, int fd = -1) {
  err = what + ": " + std::strerror(errno);
  if (fd >= 0) ::close(fd);
  return -1;
}

}  // namespace

int open_virtio_port(const std::string& name, std::string& err) {
  const char* root = "/sys/class/virtio-ports";
  DIR* dir = ::opendir(root);
  if (!dir) return fail(err, std::string("opening ") + root);
  std::string dev;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    if (read_line(std::string(root) + "/" + e->d_name + "/name") == name) {
      dev = std::string("/dev/") + e->d_name;
      break;
    }
  }
  ::closedir(dir);
  if (dev.empty()) {
    err = "no virtio-serial port named '" + name + "' in " + root;
    return -1;
  }
  const int fd = ::open(dev.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return fail(err, "opening " + dev);
  return fd;
}

int listen_unix(const std::string& path, std::string& err) {
  sockaddr_un addr;
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    err = "socket path '" + path + "' is too long";
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail(err, "socket");
  ::unlink(path.c_str());  // a stale socket from an earlier run
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return fail(err, "bind " + path, fd);
  }
  if (::listen(fd, 8) != 0) return fail(err, "listen " + path, fd);
  return fd;
}

int listen_vsock(uint32_t port, std::string& err) {
  sockaddr_vm addr;
  std::memset(&addr, 0, sizeof addr);
  addr.svm_family = AF_VSOCK;
  addr.svm_port = port;
  addr.svm_cid = VMADDR_CID_ANY;
  const int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail(err, "vsock socket");
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return fail(err, "vsock bind port " + std::to_string(port), fd);
  }
  if (::listen(fd, 8) != 0) return fail(err, "vsock listen", fd);
  return fd;
}

int accept_connection(int listen_fd) {
  return ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

bool wait_readable(int fd, int signal_fd, int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int left = -1;
    if (timeout_ms >= 0) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          end - std::chrono::steady_clock::now())
                          .count();
      if (ms <= 0) return false;
      left = static_cast<int>(ms);
    }
    pollfd p[2] = {{fd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    if (::poll(p, 2, left) < 0 && errno != EINTR) return false;
    if (p[1].revents & POLLIN) {
      drain_signalfd(signal_fd);
      reap_children([](pid_t, int) {});
      if (terminate_requested()) return false;
    }
    if (fd >= 0 && p[0].revents) return true;
  }
}

}  // namespace smolvm::agent
