#include "protocol/outbox.h"

#include <poll.h>

#include <chrono>

#include "protocol/fd_io.h"
#include "protocol/messages.h"

namespace smolvm::proto {

void Outbox::send(Type type, uint32_t stream, std::string_view payload, uint8_t flags) {
  append_frame(buf_, type, flags, stream, payload);
}

void Outbox::send_data(Type type, uint32_t stream, std::string_view data) {
  while (!data.empty()) {
    const size_t n = data.size() < kMaxChunk ? data.size() : kMaxChunk;
    send(type, stream, data.substr(0, n));
    data.remove_prefix(n);
  }
}

void Outbox::send_error(uint32_t stream, std::string_view code, std::string_view message) {
  // Messages can quote client input (paths, argv): keep them bounded.
  std::string msg(message.substr(0, 4096));
  send(Type::kError, stream, to_json(ErrorMsg{std::string(code), msg}));
}

bool Outbox::flush(int fd) {
  while (pending() > 0) {
    const long n = write_some(fd, std::string_view(buf_).substr(off_));
    if (n < 0) return false;
    if (n == 0) break;
    off_ += static_cast<size_t>(n);
  }
  if (off_ == buf_.size()) {
    buf_.clear();
    off_ = 0;
  } else if (off_ > (1u << 20) && off_ * 2 > buf_.size()) {
    buf_.erase(0, off_);
    off_ = 0;
  }
  return true;
}

void Outbox::flush_for(int fd, int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (pending() > 0) {
    if (!flush(fd)) return;
    if (pending() == 0) return;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          end - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(left)) == 0) return;
  }
}

void Outbox::clear() {
  buf_.clear();
  off_ = 0;
}

}  // namespace smolvm::proto
