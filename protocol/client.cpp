#include "protocol/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "protocol/fd_io.h"
#include "protocol/messages.h"
#include "smolvm/smolvm.h"

namespace smolvm::proto {

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

int error_of(const Frame& f, std::string& message) {
  ErrorMsg e;
  std::string perr;
  if (!parse(f.payload, e, perr)) {
    message = "malformed ERROR frame: " + perr;
    return SMOLVM_EPROTO;
  }
  message = e.message;
  return status_from_code(e.code);
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

int Client::connect(const std::string& socket_path, std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    error = "supervisor socket path too long: " + socket_path;
    return SMOLVM_EINVAL;
  }
  socket_path.copy(addr.sun_path, socket_path.size());
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = "cannot reach the VM's supervisor at " + socket_path + ": " + std::strerror(errno) +
            " (is the VM running?)";
    return SMOLVM_ESTATE;
  }
  // Non-blocking, so that a write waits only as long as its caller allows
  // (send_within); the outbox holds what the socket has not taken yet.
  if (!set_nonblocking(fd_, true)) {
    error =
        std::string("cannot set the supervisor connection non-blocking: ") + std::strerror(errno);
    return SMOLVM_EIO;
  }
  streams_[0];  // the connection's own frames: HELLO_OK, ERROR, VM_STOPPING
  return 0;
}

int Client::open(const std::string& socket_path, const std::string& token,
                 const std::string& client_name, uint32_t timeout_ms, std::string& error) {
  if (const int rc = connect(socket_path, error); rc != 0) return rc;
  if (!send(Type::kHello, 0, 0, to_json(Hello{kVersion, token, client_name}))) {
    error = error_;
    return SMOLVM_EIO;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto& q = streams_[0].frames;
    while (!q.empty()) {
      Frame f = std::move(q.front());
      q.pop_front();
      if (f.type == Type::kHelloOk) return 0;
      if (f.type == Type::kError) {
        std::string why;
        const int status = error_of(f, why);
        error = "the supervisor refused the connection: " + why;
        return status;
      }
    }
    const int32_t left = ms_until(deadline);
    if (left <= 0) {
      error = "no HELLO_OK from the supervisor within " + std::to_string(timeout_ms) + " ms";
      return SMOLVM_ETIMEOUT;
    }
    const int rc = pump(left);
    if (rc != 0 && rc != SMOLVM_ETIMEOUT) {
      error = error_;
      return rc;
    }
  }
}

uint32_t Client::open_stream() {
  while (next_stream_ == 0 || streams_.count(next_stream_)) ++next_stream_;
  const uint32_t id = next_stream_++;
  streams_[id];
  return id;
}

void Client::close_stream(uint32_t id) { streams_.erase(id); }

StreamQueue* Client::queue(uint32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

bool Client::send(Type type, uint8_t flags, uint32_t stream, std::string_view payload) {
  return send_within(type, flags, stream, payload, -1) == 0;
}

int Client::send_within(Type type, uint8_t flags, uint32_t stream, std::string_view payload,
                        int32_t wait_ms) {
  if (broken()) return SMOLVM_EIO;
  // Every earlier frame was written whole (or the connection shut down), so
  // what is pending is this frame alone.
  out_.send(type, stream, payload, flags);
  const size_t whole = out_.pending();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    if (!out_.flush(fd_)) {
      error_ = std::string("lost the connection to the supervisor: ") + std::strerror(errno);
      out_.clear();
      return SMOLVM_EIO;
    }
    if (out_.pending() == 0) return 0;
    const int32_t left = wait_ms >= 0 ? ms_until(deadline) : -1;
    pollfd p{fd_, POLLOUT, 0};
    const int r = left == 0 ? 0 : ::poll(&p, 1, left);
    if (r < 0 && errno != EINTR) {
      error_ = std::string("poll on the supervisor connection: ") + std::strerror(errno);
      out_.clear();
      return SMOLVM_EIO;
    }
    if (r == 0) {
      const bool untouched = out_.pending() == whole;
      out_.clear();
      if (untouched) return SMOLVM_ETIMEOUT;
      error_ = "a frame to the supervisor was cut off by a timeout";
      ::shutdown(fd_, SHUT_RDWR);
      return SMOLVM_ETIMEOUT;
    }
  }
}

int Client::pump(int32_t wait_ms) {
  if (broken()) return SMOLVM_EIO;
  pollfd p{fd_, POLLIN, 0};
  const int r = ::poll(&p, 1, wait_ms);
  if (r == 0) return SMOLVM_ETIMEOUT;
  if (r < 0) return errno == EINTR ? SMOLVM_ETIMEOUT : SMOLVM_EIO;
  char buf[65536];
  const long n = read_some(fd_, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  if (n <= 0) {
    closed_by_peer_ = n == 0;
    error_ = n == 0 ? "the VM's supervisor closed the connection (the VM stopped?)"
                    : std::string("read from the supervisor: ") + std::strerror(errno);
    return SMOLVM_EIO;
  }
  decoder_.feed(buf, static_cast<size_t>(n));
  Frame f;
  for (;;) {
    const auto res = decoder_.next(f);
    if (res == Decoder::Result::kNeedMore) break;
    if (res == Decoder::Result::kError) {
      error_ = "protocol error from the supervisor: " + decoder_.error();
      return SMOLVM_EPROTO;
    }
    auto it = streams_.find(f.stream);
    if (it != streams_.end() && f.stream != 0 && f.type == Type::kCredit) {
      uint32_t n = 0;
      if (read_u32_le(f.payload, n)) it->second.stdin_credit += n;
    } else if (it != streams_.end()) {
      if (f.type == Type::kExit || f.type == Type::kError || f.type == Type::kDone) {
        it->second.ended = true;
      }
      it->second.frames.push_back(std::move(f));
    } else if (f.stream == 0 && f.type == Type::kError) {
      std::string why;
      const int status = error_of(f, why);
      error_ = "the supervisor reported: " + why;
      return status;
    }
    // Frames for streams already closed are dropped.
  }
  return 0;
}

int Client::claim_stdin_credit(uint32_t stream, size_t want, size_t& got, int32_t wait_ms,
                               std::string& error) {
  got = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    auto* q = queue(stream);
    if (!q || q->ended) return 0;
    if (q->stdin_credit > 0) {
      got = static_cast<size_t>(std::min<uint64_t>(want, q->stdin_credit));
      q->stdin_credit -= got;
      return 0;
    }
    const int rc = pump(wait_ms >= 0 ? ms_until(deadline) : -1);
    if (rc == SMOLVM_ETIMEOUT) {
      if (wait_ms >= 0 && std::chrono::steady_clock::now() >= deadline) {
        error = "the command took no stdin within " + std::to_string(wait_ms) + " ms";
        return SMOLVM_ETIMEOUT;
      }
      continue;
    }
    if (rc != 0) {
      error = error_;
      return rc;
    }
  }
}

int Client::next_frame(uint32_t stream, Frame& out, int32_t wait_ms, std::string& error) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    auto* q = queue(stream);
    if (q && !q->frames.empty()) {
      out = std::move(q->frames.front());
      q->frames.pop_front();
      return 0;
    }
    if (broken()) {
      error = error_;
      return SMOLVM_EIO;
    }
    const int rc = pump(wait_ms >= 0 ? ms_until(deadline) : -1);
    if (rc == SMOLVM_ETIMEOUT) {
      if (wait_ms >= 0 && std::chrono::steady_clock::now() >= deadline) {
        error = "no event within " + std::to_string(wait_ms) + " ms";
        return SMOLVM_ETIMEOUT;
      }
      continue;
    }
    if (rc != 0) {
      error = error_;
      return rc;
    }
  }
}

int Client::read_file(const std::string& guest_path,
                      const std::function<int(const uint8_t*, size_t)>& sink, uint32_t timeout_ms,
                      std::string& error) {
  const uint32_t id = open_stream();
  if (!send(Type::kFileRead, 0, id, to_json(FileRead{guest_path, kClientWindow}))) {
    close_stream(id);
    error = error_;
    return SMOLVM_EIO;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto cancel = [&](int status) {
    send(Type::kError, 0, id, to_json(ErrorMsg{"EIO", "read stopped by the client"}));
    close_stream(id);
    return status;
  };
  uint32_t unacked = 0;
  Frame f;
  for (;;) {
    const int32_t wait = timeout_ms > 0 ? ms_until(deadline) : -1;
    const int rc = next_frame(id, f, wait, error);
    if (rc == SMOLVM_ETIMEOUT) {
      error = "reading " + guest_path + " took longer than " + std::to_string(timeout_ms) + " ms";
      return cancel(SMOLVM_ETIMEOUT);
    }
    if (rc != 0) {
      close_stream(id);
      return rc;
    }
    if (f.type == Type::kError) {
      close_stream(id);
      std::string why;
      const int status = error_of(f, why);
      error = "cannot read " + guest_path + ": " + why;
      return status;
    }
    if (f.type != Type::kData) continue;
    if (!f.payload.empty()) {
      const int stop = sink(reinterpret_cast<const uint8_t*>(f.payload.data()), f.payload.size());
      if (stop != 0) {
        error = "reading " + guest_path + " was stopped";
        return cancel(stop);
      }
    }
    if (f.end()) break;
    unacked += static_cast<uint32_t>(f.payload.size());
    if (unacked >= kClientCreditStep) {
      send(Type::kCredit, 0, id, u32_le(unacked));
      unacked = 0;
    }
  }
  close_stream(id);
  return 0;
}

}  // namespace smolvm::proto
