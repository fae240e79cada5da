#include "plugins/vmm-firecracker/fc_vsock.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace smolvm_fc {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kRetryMs = 5;
// "OK " + a u32 + "\n" is 14 bytes; anything much longer is not Firecracker.
constexpr size_t kMaxAckLine = 64;

enum class Attempt { kConnected, kRetry, kFatal };

// Rounded up: a deadline 0.4 ms away has not passed.
int ms_left(Clock::time_point deadline) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms > 0 ? static_cast<int>(ms) : 0;
}

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads the acknowledgement one byte at a time: the bytes after its '\n'
// belong to the agent protocol and must stay in the socket.
Attempt read_ack(int fd, Clock::time_point deadline, std::string& line, std::string& error) {
  line.clear();
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, ms_left(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      error = "no answer to CONNECT before the deadline";
      return Attempt::kRetry;
    }
    char c;
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Closed (or reset) before "OK": nothing listens on the port yet.
      error = n == 0 ? "connection closed before OK (no guest listener yet)"
                     : std::string("read: ") + std::strerror(errno);
      return Attempt::kRetry;
    }
    if (c == '\n') break;
    line += c;
    if (line.size() > kMaxAckLine) {
      error = "unexpected answer to CONNECT: '" + line + "...'";
      return Attempt::kFatal;
    }
  }
  if (line.rfind("OK ", 0) != 0) {
    error = "unexpected answer to CONNECT: '" + line + "'";
    return Attempt::kFatal;
  }
  return Attempt::kConnected;
}

Attempt attempt(const sockaddr_un& addr, uint32_t port, Clock::time_point deadline, int& out_fd,
                std::string& error) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return Attempt::kFatal;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    error = std::string("connect: ") + std::strerror(e);
    // Not created yet (before InstanceStart) or not listening yet.
    return e == ENOENT || e == ECONNREFUSED ? Attempt::kRetry : Attempt::kFatal;
  }
  if (!write_all(fd, "CONNECT " + std::to_string(port) + "\n")) {
    error = std::string("sending CONNECT: ") + std::strerror(errno);
    ::close(fd);
    return Attempt::kRetry;
  }
  std::string line;
  const Attempt a = read_ack(fd, deadline, line, error);
  if (a != Attempt::kConnected) {
    ::close(fd);
    return a;
  }
  out_fd = fd;
  return a;
}

}  // namespace

int hybrid_vsock_connect(const std::string& uds_path, uint32_t port, uint32_t timeout_ms,
                         const std::function<bool(std::string& why)>& still_running,
                         std::string& error, bool& timed_out) {
  timed_out = false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (uds_path.size() >= sizeof addr.sun_path) {
    error = "vsock socket path is too long (" + std::to_string(uds_path.size()) +
            " bytes, the limit is " + std::to_string(sizeof addr.sun_path - 1) + "): " + uds_path;
    return -1;
  }
  uds_path.copy(addr.sun_path, uds_path.size());
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int attempts = 0;
  for (;;) {
    ++attempts;
    int fd = -1;
    std::string why;
    const Attempt a = attempt(addr, port, deadline, fd, why);
    if (a == Attempt::kConnected) return fd;
    if (a == Attempt::kFatal) {
      error = uds_path + " port " + std::to_string(port) + ": " + why;
      return -1;
    }
    std::string stopped;
    if (still_running && !still_running(stopped)) {
      error = stopped;
      return -1;
    }
    if (ms_left(deadline) <= 0) {
      timed_out = true;
      error = "vsock port " + std::to_string(port) + " via " + uds_path + " did not answer in " +
              std::to_string(timeout_ms) + " ms (" + std::to_string(attempts) +
              " attempts; last: " + why + ")";
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(kRetryMs, ms_left(deadline))));
  }
}

}  // namespace smolvm_fc
