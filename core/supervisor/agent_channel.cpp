#include "core/supervisor/agent_channel.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "protocol/fd_io.h"
#include "protocol/messages.h"

namespace smolvm {

void AgentChannel::attach(int fd, uint32_t epoch) {
  close();
  fd_ = fd;
  decoder_ = proto::Decoder();
  why_.clear();
  epoch_ = epoch;
  stale_frames_ = 0;
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
  for (;;) {
    const auto res = decoder_.next(f);
    if (epoch_ == 0 || res == proto::Decoder::Result::kNeedMore) {
      if (res == proto::Decoder::Result::kError) why_ = "protocol error: " + decoder_.error();
      return res;
    }
    if (res == proto::Decoder::Result::kError) {
      ++stale_frames_;
      decoder_.resync_to(proto::Type::kHelloOk);
      continue;
    }
    if (f.stream == 0 && f.type == proto::Type::kError) return res;
    if (f.stream == 0 && f.type == proto::Type::kHelloOk) {
      proto::HelloOk ok;
      std::string err;
      if (proto::parse(f.payload, ok, err) && ok.epoch == epoch_) {
        epoch_ = 0;
        return res;
      }
    }
    ++stale_frames_;
  }
}

}  // namespace smolvm
