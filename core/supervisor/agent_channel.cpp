#include "core/supervisor/agent_channel.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "protocol/fd_io.h"

namespace smolvm {

void AgentChannel::attach(int fd) {
  close();
  fd_ = fd;
  decoder_ = proto::Decoder();
  why_.clear();
  proto::set_nonblocking(fd_, true);
}

void AgentChannel::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  out_.clear();
}

bool AgentChannel::send(proto::Type type, uint8_t flags, uint32_t stream,
                        std::string_view payload) {
  out_.send(type, stream, payload, flags);
  return flush();
}

bool AgentChannel::flush() {
  if (fd_ < 0 || out_.pending() == 0) return true;
  if (!out_.flush(fd_)) {
    why_ = std::string("write: ") + std::strerror(errno);
    return false;
  }
  return true;
}

AgentChannel::Read AgentChannel::fill() {
  char buf[65536];
  const long n = proto::read_some(fd_, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Read::kAgain;
  if (n <= 0) {
    why_ = n == 0 ? "closed" : std::strerror(errno);
    return Read::kLost;
  }
  decoder_.feed(buf, static_cast<size_t>(n));
  return Read::kFrames;
}

proto::Decoder::Result AgentChannel::next(proto::Frame& f) {
  const auto res = decoder_.next(f);
  if (res == proto::Decoder::Result::kError) why_ = "protocol error: " + decoder_.error();
  return res;
}

}  // namespace smolvm
