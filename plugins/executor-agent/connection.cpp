#include "plugins/executor-agent/connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <thread>

#include "protocol/fd_io.h"
#include "protocol/messages.h"
#include "smolvm/smolvm.h"

namespace smolvm_agent_exec {

using smolvm::proto::Frame;
using smolvm::proto::Type;

int32_t ms_until(std::chrono::steady_clock::time_point deadline) {
  return static_cast<int32_t>(std::clamp<int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                            std::chrono::steady_clock::now())
          .count(),
      0, INT32_MAX));
}

int status_from_code(const std::string& code) {
  static const std::pair<const char*, int> kCodes[] = {{"EINVAL", SMOLVM_EINVAL},
                                                       {"ENOTFOUND", SMOLVM_ENOTFOUND},
                                                       {"ESTATE", SMOLVM_ESTATE},
                                                       {"ETIMEOUT", SMOLVM_ETIMEOUT},
                                                       {"EEXISTS", SMOLVM_EEXISTS},
                                                       {"EIO", SMOLVM_EIO},
                                                       {"EPERM", SMOLVM_EPERM},
                                                       {"EBUSY", SMOLVM_EBUSY},
                                                       {"EPROTO", SMOLVM_EPROTO},
                                                       {"ENOMEM", SMOLVM_ENOMEM},
                                                       {"EUNSUPPORTED", SMOLVM_EUNSUPPORTED}};
  for (const auto& [name, status] : kCodes) {
    if (code == name) return status;
  }
  return SMOLVM_ERROR;
}

Connection::~Connection() {
  if (fd_ >= 0) close(fd_);
}

int Connection::open(const std::string& socket_path, const std::string& token, uint32_t timeout_ms,
                     std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    error = "supervisor socket path too long: " + socket_path;
    return SMOLVM_EINVAL;
  }
  socket_path.copy(addr.sun_path, socket_path.size());
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = "cannot reach the VM's supervisor at " + socket_path + ": " + std::strerror(errno) +
            " (is the VM running?)";
    return SMOLVM_ESTATE;
  }
  if (!send(Type::kHello, 0, 0,
            smolvm::proto::to_json(
                smolvm::proto::Hello{smolvm::proto::kVersion, token, "executor-agent"}))) {
    error = error_;
    return SMOLVM_EIO;
  }
  streams_[0];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto& q = streams_[0].frames;
    while (!q.empty()) {
      Frame f = std::move(q.front());
      q.pop_front();
      if (f.type == Type::kHelloOk) return 0;
      if (f.type == Type::kError) {
        smolvm::proto::ErrorMsg e;
        std::string perr;
        smolvm::proto::parse(f.payload, e, perr);
        error = "the supervisor refused the connection: " + e.message;
        return status_from_code(e.code);
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      error = "no HELLO_OK from the supervisor within " + std::to_string(timeout_ms) + " ms";
      return SMOLVM_ETIMEOUT;
    }
    const int rc = pump(static_cast<int32_t>(left));
    if (rc != 0 && rc != SMOLVM_ETIMEOUT) {
      error = error_;
      return rc;
    }
  }
}

uint32_t Connection::open_stream() {
  while (next_stream_ == 0 || streams_.count(next_stream_)) ++next_stream_;
  const uint32_t id = next_stream_++;
  streams_[id];
  return id;
}

void Connection::close_stream(uint32_t id) { streams_.erase(id); }

StreamQueue* Connection::queue(uint32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

bool Connection::send(Type type, uint8_t flags, uint32_t stream, std::string_view payload) {
  if (broken()) return false;
  std::string out;
  out.reserve(smolvm::proto::kHeaderSize + payload.size());
  smolvm::proto::append_frame(out, type, flags, stream, payload);
  if (!smolvm::proto::write_all(fd_, out)) {
    error_ = std::string("lost the connection to the supervisor: ") + std::strerror(errno);
    return false;
  }
  return true;
}

int Connection::send_within(Type type, uint8_t flags, uint32_t stream, std::string_view payload,
                            int32_t wait_ms) {
  if (broken()) return SMOLVM_EIO;
  std::string out;
  out.reserve(smolvm::proto::kHeaderSize + payload.size());
  smolvm::proto::append_frame(out, type, flags, stream, payload);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  size_t off = 0;
  while (off < out.size()) {
    const ssize_t n = ::send(fd_, out.data() + off, out.size() - off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      error_ = std::string("lost the connection to the supervisor: ") + std::strerror(errno);
      return SMOLVM_EIO;
    }
    const int32_t left = wait_ms >= 0 ? ms_until(deadline) : -1;
    pollfd p{fd_, POLLOUT, 0};
    const int r = left == 0 ? 0 : ::poll(&p, 1, left);
    if (r < 0 && errno != EINTR) {
      error_ = std::string("poll on the supervisor connection: ") + std::strerror(errno);
      return SMOLVM_EIO;
    }
    if (r == 0) {
      if (off == 0) return SMOLVM_ETIMEOUT;
      error_ = "a frame to the supervisor was cut off by a timeout";
      ::shutdown(fd_, SHUT_RDWR);
      return SMOLVM_ETIMEOUT;
    }
  }
  return 0;
}

int Connection::pump(int32_t wait_ms) {
  if (broken()) return SMOLVM_EIO;
  pollfd p{fd_, POLLIN, 0};
  const int r = poll(&p, 1, wait_ms);
  if (r == 0) return SMOLVM_ETIMEOUT;
  if (r < 0) return errno == EINTR ? SMOLVM_ETIMEOUT : SMOLVM_EIO;
  char buf[65536];
  const long n = smolvm::proto::read_some(fd_, buf, sizeof buf);
  if (n <= 0) {
    error_ = n == 0 ? "the VM's supervisor closed the connection (the VM stopped?)"
                    : std::string("read from the supervisor: ") + std::strerror(errno);
    return SMOLVM_EIO;
  }
  decoder_.feed(buf, static_cast<size_t>(n));
  Frame f;
  for (;;) {
    const auto res = decoder_.next(f);
    if (res == smolvm::proto::Decoder::Result::kNeedMore) break;
    if (res == smolvm::proto::Decoder::Result::kError) {
      error_ = "protocol error from the supervisor: " + decoder_.error();
      return SMOLVM_EPROTO;
    }
    auto it = streams_.find(f.stream);
    if (it != streams_.end()) {
      it->second.frames.push_back(std::move(f));
    } else if (f.stream == 0 && f.type == Type::kError) {
      smolvm::proto::ErrorMsg e;
      std::string perr;
      smolvm::proto::parse(f.payload, e, perr);
      error_ = "the supervisor reported: " + e.message;
      return status_from_code(e.code);
    }
    // Frames for streams we already closed are dropped.
  }
  return 0;
}

}  // namespace smolvm_agent_exec
