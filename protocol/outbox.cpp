#include "protocol/outbox.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "protocol/fd_io.h"
#include "protocol/messages.h"

namespace smolvm::proto {
namespace {

// The pipe's identity, or 0 if fd is no open file.
uint64_t pipe_id(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

}  // namespace

Outbox::PipeEnd& Outbox::PipeEnd::operator=(PipeEnd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

Outbox::PipeEnd::~PipeEnd() {
  if (fd_ >= 0) ::close(fd_);
}

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

bool Outbox::open_relay() {
  if (relay_r_.get() >= 0) return true;
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return false;
  relay_r_ = PipeEnd(p[0]);
  relay_w_ = PipeEnd(p[1]);
  relay_bytes_ = 0;
  // Room for a whole frame, so one frame needs one splice each way (a
  // smaller relay works too, in more steps).
  ::fcntl(p[0], F_SETPIPE_SZ, static_cast<int>(kMaxPayload));
  return true;
}

size_t Outbox::send_from_pipe(Type type, uint32_t stream, int pipe_fd, size_t max) {
  if (splice_refused_ || max == 0) return 0;
  const uint64_t pipe = pipe_id(pipe_fd);
  int avail = 0;
  if (pipe == 0 || ::ioctl(pipe_fd, FIONREAD, &avail) != 0 || avail <= 0) return 0;
  size_t claimed = 0;
  for (const Splice& s : splices_) {
    if (s.pipe == pipe) claimed += s.to_relay;
  }
  if (static_cast<size_t>(avail) <= claimed || !open_relay()) return 0;
  const size_t n = std::min({static_cast<size_t>(avail) - claimed, max, kMaxPayload});
  const int dup = ::fcntl(pipe_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return 0;
  append_header(buf_, type, 0, stream, n);
  splices_.push_back(Splice{buf_.size(), n, n, pipe, PipeEnd(dup)});
  spliced_left_ += n;
  return n;
}

bool Outbox::splicing_from(int pipe_fd) const {
  if (splices_.empty()) return false;
  const uint64_t pipe = pipe_id(pipe_fd);
  return std::any_of(splices_.begin(), splices_.end(),
                     [&](const Splice& s) { return s.pipe == pipe && s.to_relay > 0; });
}

void Outbox::shift_splices(size_t from_at, long by) {
  for (Splice& s : splices_) {
    if (s.at >= from_at) s.at = static_cast<size_t>(static_cast<long>(s.at) + by);
  }
}

bool Outbox::inline_splice() {
  Splice& s = splices_.front();
  std::string bytes;
  char chunk[16384];
  // What is still in the command's pipe first joins the relay's share.
  for (int from : {relay_r_.get(), s.fd.get()}) {
    size_t want = from == relay_r_.get() ? relay_bytes_ : s.to_relay;
    while (want > 0) {
      const long n = read_some(from, chunk, std::min(want, sizeof chunk));
      if (n <= 0) {
        // The bytes were there when claimed and nobody else reads them.
        if (n == 0) errno = EIO;
        return false;
      }
      bytes.append(chunk, static_cast<size_t>(n));
      want -= static_cast<size_t>(n);
    }
  }
  relay_bytes_ = 0;
  spliced_left_ -= s.left;
  const size_t at = s.at;
  splices_.pop_front();
  buf_.insert(at, bytes);
  shift_splices(at, static_cast<long>(bytes.size()));
  return true;
}

bool Outbox::flush_splice(int fd, bool& progressed) {
  progressed = false;
  Splice& s = splices_.front();
  if (s.to_relay > 0) {
    const ssize_t n = ::splice(s.fd.get(), nullptr, relay_w_.get(), nullptr, s.to_relay,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      s.to_relay -= static_cast<size_t>(n);
      relay_bytes_ += static_cast<size_t>(n);
      progressed = true;
      return true;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      if (n == 0) errno = EIO;  // the claimed bytes are gone
      return false;
    }
    // The relay is full: send what it holds first.
  }
  if (relay_bytes_ == 0) return true;
  // All of the relay, never less (see relay_r_).
  const ssize_t n = ::splice(relay_r_.get(), nullptr, fd, nullptr, relay_bytes_,
                             SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
  if (n < 0 && errno == EINVAL) {
    // This connection takes no splice: copy from now on.
    splice_refused_ = true;
    progressed = true;
    return inline_splice();
  }
  if (n <= 0) {
    if (n == 0) errno = EIO;
    return false;
  }
  relay_bytes_ -= static_cast<size_t>(n);
  s.left -= static_cast<size_t>(n);
  spliced_left_ -= static_cast<size_t>(n);
  if (s.left == 0) splices_.pop_front();
  progressed = true;
  return true;
}

bool Outbox::flush(int fd) {
  while (pending() > 0) {
    const size_t end = splices_.empty() ? buf_.size() : splices_.front().at;
    if (off_ < end) {
      const long n = write_some(fd, std::string_view(buf_).substr(off_, end - off_));
      if (n < 0) return false;
      if (n == 0) break;
      off_ += static_cast<size_t>(n);
      continue;
    }
    bool progressed = false;
    if (!flush_splice(fd, progressed)) return false;
    if (!progressed) break;
  }
  if (off_ == buf_.size() && splices_.empty()) {
    buf_.clear();
    off_ = 0;
  } else if (off_ > (1u << 20) && off_ * 2 > buf_.size()) {
    buf_.erase(0, off_);
    shift_splices(0, -static_cast<long>(off_));
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
  splices_.clear();
  spliced_left_ = 0;
  // A relay holding part of a dropped frame is dropped with it.
  relay_r_ = PipeEnd(-1);
  relay_w_ = PipeEnd(-1);
  relay_bytes_ = 0;
}

}  // namespace smolvm::proto
