#include "plugins/vmm-qemu/qmp.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace smolvm_qemu {
namespace {

using Clock = std::chrono::steady_clock;

// How often wait_migration asks QEMU how far the migration is.
constexpr int kMigrationPollMs = 5;

bool send_line(int fd, const std::string& line) {
  return write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
}

int connect_unix(const std::string& socket_path, std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    error = "QMP socket path too long";
    return -1;
  }
  socket_path.copy(addr.sun_path, socket_path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = std::string("cannot connect to QMP: ") + std::strerror(errno);
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

// The string value of "key" in a flat QMP answer line ("" when absent).
std::string string_field(const std::string& line, const std::string& key) {
  const std::string quoted = "\"" + key + "\": \"";
  auto at = line.find(quoted);
  size_t skip = quoted.size();
  if (at == std::string::npos) {
    const std::string tight = "\"" + key + "\":\"";
    at = line.find(tight);
    skip = tight.size();
  }
  if (at == std::string::npos) return "";
  const size_t from = at + skip;
  const size_t to = line.find('"', from);
  return to == std::string::npos ? "" : line.substr(from, to - from);
}

}  // namespace

bool qmp_execute(const std::string& socket_path, const std::string& command, int timeout_ms,
                 std::string& error) {
  // The answer is awaited even when the caller wants none: QEMU drops
  // commands it has not read yet when the client hangs up first.
  QmpSession qmp;
  std::string answer;
  return qmp.open(socket_path, timeout_ms, error) &&
         qmp.execute("{\"execute\":\"" + command + "\"}", timeout_ms, answer, error);
}

bool qmp_quit(const std::string& socket_path, int timeout_ms, std::string& error) {
  // QEMU closes the socket as it quits: an answer to quit either way.
  QmpSession qmp;
  std::string answer;
  return qmp.open(socket_path, timeout_ms, error) &&
         qmp.execute("{\"execute\":\"quit\"}", timeout_ms, answer, error,
                     /*eof_answers=*/true);
}

QmpSession::~QmpSession() {
  if (fd_ >= 0) close(fd_);
}

bool QmpSession::open(const std::string& socket_path, int timeout_ms, std::string& error) {
  fd_ = connect_unix(socket_path, error);
  if (fd_ < 0) return false;
  std::string line;
  // The greeting ({"QMP": ...}) first, then capabilities negotiation.
  return read_line("\"QMP\"", timeout_ms, line, error, false) &&
         execute("{\"execute\":\"qmp_capabilities\"}", timeout_ms, line, error);
}

bool QmpSession::read_line(const char* want, int timeout_ms, std::string& answer,
                           std::string& error, bool eof_answers) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  char chunk[4096];
  for (;;) {
    size_t nl;
    while ((nl = buf_.find('\n')) != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (line.find(want) != std::string::npos) {
        answer = std::move(line);
        return true;
      }
      if (line.find("\"error\"") != std::string::npos) {
        const std::string desc = string_field(line, "desc");
        error = "QMP error: " + (desc.empty() ? line : desc);
        return false;
      }
      // "event" lines (STOP, RESUME, MIGRATION...): skipped.
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      error = "QMP did not answer in time";
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = read(fd_, chunk, sizeof chunk);
    if (n <= 0) {
      if (eof_answers) return true;
      error = "QMP closed the connection";
      return false;
    }
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

bool QmpSession::execute(const std::string& command_json, int timeout_ms, std::string& answer,
                         std::string& error, bool eof_answers) {
  if (!send_line(fd_, command_json + "\n")) {
    error = std::string("writing to QMP: ") + std::strerror(errno);
    return false;
  }
  return read_line("\"return\"", timeout_ms, answer, error, eof_answers);
}

bool QmpSession::send_fd(int fd, const std::string& name, int timeout_ms, std::string& error) {
  const std::string line = "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"" + name + "\"}}\n";
  iovec iov{const_cast<char*>(line.data()), line.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (sendmsg(fd_, &msg, MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    error = std::string("passing a descriptor to QMP: ") + std::strerror(errno);
    return false;
  }
  std::string answer;
  return read_line("\"return\"", timeout_ms, answer, error, false);
}

bool QmpSession::wait_migration(int timeout_ms, std::string& error) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    std::string answer;
    if (!execute("{\"execute\":\"query-migrate\"}", timeout_ms, answer, error)) return false;
    const std::string status = string_field(answer, "status");
    if (status == "completed") return true;
    if (status == "failed" || status == "cancelled") {
      const std::string desc = string_field(answer, "error-desc");
      error = "the migration " + status + (desc.empty() ? "" : ": " + desc);
      return false;
    }
    if (Clock::now() >= deadline) {
      error = "the migration did not complete within " + std::to_string(timeout_ms) +
              " ms (status '" + status + "')";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kMigrationPollMs));
  }
}

}  // namespace smolvm_qemu
