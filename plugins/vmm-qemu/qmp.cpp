#include "plugins/vmm-qemu/qmp.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace smolvm_qemu {
namespace {

using Clock = std::chrono::steady_clock;

// Reads until a line containing `want` arrives (QMP answers one JSON
// object per line). eof_answers: QEMU closing the socket counts as `want`.
bool read_until(int fd, const char* want, Clock::time_point deadline, std::string& error,
                bool eof_answers = false) {
  std::string buf;
  char chunk[2048];
  for (;;) {
    if (buf.find(want) != std::string::npos) return true;
    if (buf.find("\"error\"") != std::string::npos) {
      error = "QMP error: " + buf;
      return false;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      error = "QMP did not answer in time";
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) {
      if (eof_answers) return true;
      error = "QMP closed the connection";
      return false;
    }
    buf.append(chunk, static_cast<size_t>(n));
  }
}

bool send_line(int fd, const std::string& line) {
  return write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
}

bool run(const std::string& socket_path, const std::string& command, int timeout_ms,
         bool eof_answers, std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    error = "QMP socket path too long";
    return false;
  }
  socket_path.copy(addr.sun_path, socket_path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = std::string("cannot connect to QMP: ") + std::strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  // Wait for the command's answer: QEMU drops commands it has not read yet
  // when the client hangs up first.
  const bool ok = read_until(fd, "\"QMP\"", deadline, error) &&
                  send_line(fd, "{\"execute\":\"qmp_capabilities\"}\n") &&
                  read_until(fd, "\"return\"", deadline, error) &&
                  send_line(fd, "{\"execute\":\"" + command + "\"}\n") &&
                  read_until(fd, "\"return\"", deadline, error, eof_answers);
  close(fd);
  return ok;
}

}  // namespace

bool qmp_execute(const std::string& socket_path, const std::string& command, int timeout_ms,
                 std::string& error) {
  return run(socket_path, command, timeout_ms, false, error);
}

bool qmp_quit(const std::string& socket_path, int timeout_ms, std::string& error) {
  // QEMU closes the socket as it quits: an answer to quit either way.
  return run(socket_path, "quit", timeout_ms, true, error);
}

}  // namespace smolvm_qemu
