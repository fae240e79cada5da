#include "core/common/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "core/common/error.h"
#include "core/common/process.h"

namespace smolvm {
namespace {

sockaddr_un make_addr(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    fail(SMOLVM_EINVAL, "socket path '" + path + "' is " + std::to_string(path.size()) +
                            " bytes; Unix sockets allow at most " +
                            std::to_string(sizeof(addr.sun_path) - 1) +
                            " (use a shorter SMOLVM_STATE_DIR)");
  }
  path.copy(addr.sun_path, path.size());
  return addr;
}

}  // namespace

int listen_unix(const std::string& path, unsigned mode) {
  const sockaddr_un addr = make_addr(path);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno(SMOLVM_EIO, "socket");
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::chmod(path.c_str(), mode) != 0 || ::listen(fd, 64) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    fail_errno(SMOLVM_EIO, "cannot listen on '" + path + "'");
  }
  return fd;
}

int connect_unix(const std::string& path, int timeout_ms) {
  const sockaddr_un addr = make_addr(path);
  const int64_t deadline = monotonic_ms() + timeout_ms;
  for (;;) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_errno(SMOLVM_EIO, "socket");
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return fd;
    const int saved = errno;
    ::close(fd);
    const bool retry = saved == ENOENT || saved == ECONNREFUSED || saved == EAGAIN;
    if (!retry || monotonic_ms() >= deadline) {
      errno = saved;
      fail_errno(saved == ENOENT || saved == ECONNREFUSED ? SMOLVM_ENOTFOUND : SMOLVM_EIO,
                 "cannot connect to '" + path + "'");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace smolvm
