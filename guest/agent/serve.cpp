#include "guest/agent/serve.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "guest/agent/channel.h"
#include "guest/agent/init.h"
#include "guest/agent/log.h"
#include "guest/agent/session.h"
#include "protocol/fd_io.h"

namespace smolvm::agent {
namespace {

SessionEnd run_session(SessionFds fds) {
  Session s(fds);
  const SessionEnd end = s.run();
  // Disconnects are routine (the host reconnects); the rest is worth a line.
  if (end != SessionEnd::kPeerClosed && end != SessionEnd::kShutdown) {
    logf("session ended: %s", session_end_name(end));
  }
  return end;
}

// The host reads the console only for its log; "ready" marks when the agent
// began to serve, which is what a slow boot needs to be diagnosed.
void announce_ready(bool as_init) {
  if (!as_init) {
    logf("ready");
    return;
  }
  const int fd = ::open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  const char line[] = "smolvm-agent: ready\n";
  if (fd >= 0) {
    [[maybe_unused]] const ssize_t n = ::write(fd, line, sizeof line - 1);
    ::close(fd);
  } else {
    logf("ready");
  }
}

int finish(bool as_init) {
  if (as_init) power_off();
  return 0;
}

// Serves one virtio-serial port until it fails or SHUTDOWN. Returns true on
// SHUTDOWN.
bool serve_virtio_port(int fd, int signal_fd) {
  for (;;) {
    const SessionEnd end = run_session({fd, fd, signal_fd, -1});
    if (end == SessionEnd::kShutdown) return true;
    if (end == SessionEnd::kIoError) return false;
    // EOF: the host side is not connected. It sends a fresh HELLO when it
    // reconnects; until then reads return 0 at once, so pace the retries.
    if (end == SessionEnd::kPeerClosed) wait_readable(-1, signal_fd, 50);
    // After a protocol error the byte stream cannot be trusted: start afresh
    // and wait for the host's next HELLO.
  }
}

// Serves connections on a listening socket. replace: a new connection ends
// the current one (vsock: the host only reconnects when it lost the old
// one); otherwise connections wait their turn. Returns true on SHUTDOWN.
bool serve_listener(int lfd, int signal_fd, bool replace) {
  int conn = -1;
  for (;;) {
    if (terminate_requested()) break;
    if (conn < 0) {
      if (!wait_readable(lfd, signal_fd, -1)) continue;
      conn = accept_connection(lfd);
      if (conn < 0) continue;
    }
    const SessionEnd end = run_session({conn, conn, signal_fd, replace ? lfd : -1});
    ::close(conn);
    conn = -1;
    if (end == SessionEnd::kShutdown) return true;
    if (end == SessionEnd::kReplaced) conn = accept_connection(lfd);
  }
  if (conn >= 0) ::close(conn);
  return true;
}

}  // namespace

bool parse_channel_spec(const std::string& text, ChannelSpec& out, std::string& err) {
  if (text == "virtio-serial") {
    out = ChannelSpec{};
    return true;
  }
  if (text.rfind("vsock:", 0) == 0) {
    const std::string p = text.substr(6);
    char* end = nullptr;
    errno = 0;
    const unsigned long port = std::strtoul(p.c_str(), &end, 10);
    if (!p.empty() && *end == '\0' && errno == 0 && port > 0 && port <= 0xffffffffUL) {
      out.kind = ChannelSpec::Kind::kVsock;
      out.port = static_cast<uint32_t>(port);
      return true;
    }
  }
  err = "channel '" + text + "': must be virtio-serial or vsock:PORT";
  return false;
}

int serve_stdio(int signal_fd) {
  proto::set_nonblocking(0, true);
  proto::set_nonblocking(1, true);
  const SessionEnd end = run_session({0, 1, signal_fd, -1});
  return end == SessionEnd::kPeerClosed || end == SessionEnd::kShutdown ? 0 : 1;
}

int serve_unix(const std::string& path, int signal_fd) {
  std::string err;
  const int lfd = listen_unix(path, err);
  if (lfd < 0) {
    logf("%s", err.c_str());
    return 1;
  }
  announce_ready(false);
  serve_listener(lfd, signal_fd, false);
  ::close(lfd);
  ::unlink(path.c_str());
  return 0;
}

int serve_guest(const ChannelSpec& channel, bool as_init, int signal_fd) {
  bool announced = false;
  std::string last_err;
  for (;;) {
    if (terminate_requested()) return 0;
    std::string err;
    const int fd = channel.kind == ChannelSpec::Kind::kVirtioSerial
                       ? open_virtio_port(kAgentPortName, err)
                       : listen_vsock(channel.port, err);
    if (fd < 0) {
      // The device may still be probing: retry, logging each new reason once.
      if (err != last_err) logf("%s; retrying", err.c_str());
      last_err = err;
      wait_readable(-1, signal_fd, 100);
      continue;
    }
    last_err.clear();
    if (!announced) announce_ready(as_init);
    announced = true;
    const bool shutdown = channel.kind == ChannelSpec::Kind::kVirtioSerial
                              ? serve_virtio_port(fd, signal_fd)
                              : serve_listener(fd, signal_fd, true);
    ::close(fd);
    if (shutdown) return finish(as_init);
    wait_readable(-1, signal_fd, 100);
  }
}

}  // namespace smolvm::agent
