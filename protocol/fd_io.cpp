#include "protocol/fd_io.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace smolvm::proto {
namespace {

// write(), but a socket whose peer went away fails with EPIPE instead of
// raising SIGPIPE, which would kill the whole process using the library
// (a C program or a Go one does not ignore it as Python does).
ssize_t write_nosignal(int fd, const char* data, size_t len) {
  const ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
  if (n < 0 && errno == ENOTSOCK) return ::write(fd, data, len);
  return n;
}

}  // namespace

bool write_all(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = write_nosignal(fd, data.data() + off, data.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, -1) < 0 && errno != EINTR) return false;
      continue;
    }
    return false;
  }
  return true;
}

long write_some(int fd, std::string_view data) {
  for (;;) {
    const ssize_t n = write_nosignal(fd, data.data(), data.size());
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
}

long read_some(int fd, void* buf, size_t cap) {
  for (;;) {
    const ssize_t n = ::read(fd, buf, cap);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    return -1;
  }
}

bool set_nonblocking(int fd, bool on) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return false;
  return ::fcntl(fd, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK)) == 0;
}

bool set_cloexec(int fd) {
  const int flags = ::fcntl(fd, F_GETFD);
  return flags >= 0 && ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0;
}

}  // namespace smolvm::proto
