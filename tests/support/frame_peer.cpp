#include "tests/support/frame_peer.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "tests/support/unix_socket.h"

namespace smolvm::test {

FramePeer::~FramePeer() { close(); }

void FramePeer::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::optional<proto::Frame> FramePeer::recv(int timeout_ms) {
  proto::Frame f;
  char buf[4096];
  for (;;) {
    const auto r = decoder_.next(f);
    if (r == proto::Decoder::Result::kFrame) return f;
    if (r == proto::Decoder::Result::kError || fd_ < 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    decoder_.feed(buf, static_cast<size_t>(n));
  }
}

std::optional<proto::Frame> FramePeer::recv_type(proto::Type type, int timeout_ms) {
  for (;;) {
    auto f = recv(timeout_ms);
    if (!f || f->type == type) return f;
  }
}

void FramePeer::hold_open(int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          end - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0 || !recv(static_cast<int>(left))) return;
  }
}

bool FramePeer::send(proto::Type type, uint32_t stream, std::string_view payload, uint8_t flags) {
  std::string out;
  proto::append_frame(out, type, flags, stream, payload);
  return send_raw(out);
}

bool FramePeer::send_file(uint32_t stream, std::string_view contents, size_t chunk) {
  do {
    const std::string_view part = contents.substr(0, chunk);
    contents.remove_prefix(part.size());
    if (!send(proto::Type::kData, stream, part, contents.empty() ? proto::kFlagEnd : 0)) {
      return false;
    }
  } while (!contents.empty());
  return true;
}

bool FramePeer::send_raw(std::string_view bytes) {
  return fd_ >= 0 && write_all(fd_, std::string(bytes));
}

OneConnectionServer::OneConnectionServer(const std::string& path,
                                         std::function<void(FramePeer&)> serve)
    : listen_fd_(listen_unix(path)) {
  thread_ = std::thread([fd = listen_fd_, serve = std::move(serve)] {
    if (fd < 0) return;
    const int conn = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return;  // shut down by the destructor: nobody came
    FramePeer peer(conn);
    serve(peer);
  });
}

OneConnectionServer::~OneConnectionServer() {
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
  thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

}  // namespace smolvm::test
