#include "plugins/executor-ssh/session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "plugins/executor-ssh/remote.h"
#include "smolvm/smolvm.h"

namespace smolvm_ssh {
namespace {

using Clock = std::chrono::steady_clock;

// Readiness poll interval: short, so a command runs as soon as sshd
// listens, not a fixed sleep later.
constexpr int kPollMs = 10;
// How long a single SSH step (opening a channel, a helper command) may take
// before the connection counts as dead.
constexpr int kStepMs = 30000;

int64_t ms_left(Clock::time_point deadline) {
  return std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
}

// A TCP connection to ip:port within wait_ms; -1 with error set.
int tcp_connect(const std::string& ip, uint16_t port, int64_t wait_ms, std::string& error) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) {
    error = "guest_ip='" + ip + "' is not an IPv4 address";
    return -1;
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int err = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(wait_ms)) == 1) {
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      } else {
        err = ETIMEDOUT;
      }
    }
  }
  if (err != 0) {
    error = std::string(std::strerror(err));
    ::close(fd);
    return -1;
  }
  const int one = 1;  // commands are small request/response exchanges
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

Session::~Session() {
  if (session_) {
    if (!broken()) {
      libssh2_session_set_blocking(session_, 1);
      libssh2_session_set_timeout(session_, 500);
      libssh2_session_disconnect(session_, "bye");
    }
    libssh2_session_free(session_);
  }
  if (fd_ >= 0) ::close(fd_);
}

std::string Session::last_error() {
  char* msg = nullptr;
  int len = 0;
  libssh2_session_last_error(session_, &msg, &len, 0);
  return msg && len > 0 ? std::string(msg, static_cast<size_t>(len)) : "unknown libssh2 error";
}

bool Session::check_fatal(int rc) {
  switch (rc) {
    case LIBSSH2_ERROR_SOCKET_NONE:
    case LIBSSH2_ERROR_BANNER_RECV:
    case LIBSSH2_ERROR_BANNER_SEND:
    case LIBSSH2_ERROR_KEX_FAILURE:
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_TIMEOUT:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_DECRYPT:
      if (broken_.empty()) broken_ = last_error();
      if (broken_.empty()) broken_ = "connection lost";
      return true;
    default:
      return false;
  }
}

bool Session::wait(int32_t wait_ms) {
  const int dir = libssh2_session_block_directions(session_);
  pollfd p{fd_, 0, 0};
  if (dir & LIBSSH2_SESSION_BLOCK_INBOUND) p.events |= POLLIN;
  if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND) p.events |= POLLOUT;
  if (p.events == 0) p.events = POLLIN;
  const int r = ::poll(&p, 1, wait_ms);
  return r > 0 || (r < 0 && errno == EINTR);
}

int Session::open(const Target& t, uint32_t timeout_ms, std::string& error) {
  static std::once_flag init;
  std::call_once(init, [] { libssh2_init(0); });
  vm_id_ = t.vm_id;
  const std::string expected = key_blob(t.host_key);
  if (expected.empty()) {
    error = "vm '" + t.vm_id +
            "' has no pinned SSH host key (it is learned through the agent when the VM starts); "
            "refusing an unverified connection";
    return SMOLVM_EPERM;
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string why;
  for (;;) {
    fd_ = tcp_connect(t.ip, t.port, std::max<int64_t>(1, ms_left(deadline)), why);
    if (fd_ >= 0) {
      session_ = libssh2_session_init();
      libssh2_session_method_pref(session_, LIBSSH2_METHOD_HOSTKEY, "ssh-ed25519");
      libssh2_session_set_blocking(session_, 1);
      // The caller's limit is for sshd to appear; once it answers, key
      // exchange and login get kStepMs (over a second under TCG, more on a
      // loaded host), so a slow but live guest is not a failure.
      libssh2_session_set_timeout(session_, std::max<int64_t>(kStepMs, ms_left(deadline)));
      if (libssh2_session_handshake(session_, fd_) == 0) break;
      // sshd accepted but did not finish the handshake (restarting,
      // overloaded): try again while there is time.
      why = "SSH handshake: " + last_error();
      libssh2_session_free(session_);
      session_ = nullptr;
      ::close(fd_);
      fd_ = -1;
    }
    if (ms_left(deadline) <= 0) {
      error = "cannot reach sshd of vm '" + t.vm_id + "' at " + t.ip + ":" +
              std::to_string(t.port) + " within " + std::to_string(timeout_ms) + " ms: " + why;
      return SMOLVM_ETIMEOUT;
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min<int64_t>(kPollMs, ms_left(deadline))));
  }

  size_t len = 0;
  int type = 0;
  const char* key = libssh2_session_hostkey(session_, &len, &type);
  const std::string got = key ? std::string(key, len) : std::string();
  if (got != expected) {
    error = "host key mismatch for vm '" + t.vm_id + "': expected " + fingerprint(expected) +
            " (pinned at first boot), got " + (got.empty() ? "none" : fingerprint(got)) + " from " +
            t.ip + "; refusing to connect";
    broken_ = error;
    return SMOLVM_EPERM;
  }
  const std::string pub = t.key_path + ".pub";
  if (libssh2_userauth_publickey_fromfile_ex(session_, "root", 4, pub.c_str(), t.key_path.c_str(),
                                             "") != 0) {
    error = "SSH public key login as root to vm '" + t.vm_id + "' with " + t.key_path +
            " failed: " + last_error();
    broken_ = error;
    return SMOLVM_EPERM;
  }
  libssh2_session_set_blocking(session_, 0);
  libssh2_session_set_timeout(session_, 0);
  return 0;
}

LIBSSH2_CHANNEL* Session::open_exec(const std::string& cmd, std::string& error) {
  if (broken()) {
    error = "the SSH connection to vm '" + vm_id_ + "' is lost: " + broken_;
    return nullptr;
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(kStepMs);
  LIBSSH2_CHANNEL* ch = nullptr;
  int rc = 0;
  while (!(ch = libssh2_channel_open_session(session_))) {
    rc = libssh2_session_last_errno(session_);
    if (rc != LIBSSH2_ERROR_EAGAIN || ms_left(deadline) == 0) break;
    wait(static_cast<int32_t>(ms_left(deadline)));
  }
  if (ch) {
    while ((rc = libssh2_channel_exec(ch, cmd.c_str())) == LIBSSH2_ERROR_EAGAIN &&
           ms_left(deadline) > 0) {
      wait(static_cast<int32_t>(ms_left(deadline)));
    }
    if (rc == 0) return ch;
  }
  if (rc == LIBSSH2_ERROR_EAGAIN) {
    broken_ = "sshd did not answer within " + std::to_string(kStepMs / 1000) + " s";
  }
  check_fatal(rc);
  error = "cannot start a command over SSH in vm '" + vm_id_ +
          "': " + (broken() ? broken_ : last_error());
  if (ch) free_channel(ch);
  return nullptr;
}

void Session::free_channel(LIBSSH2_CHANNEL* ch) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(2000);
  while (!broken() && libssh2_channel_free(ch) == LIBSSH2_ERROR_EAGAIN) {
    if (ms_left(deadline) == 0) return;  // freed with the session
    wait(static_cast<int32_t>(ms_left(deadline)));
  }
  // A broken session frees its channels when it is freed itself.
}

int Session::run(const std::string& cmd, std::string_view input,
                 const std::function<int(const char*, size_t)>& out, std::string& error,
                 uint32_t total_ms) {
  LIBSSH2_CHANNEL* ch = open_exec(cmd, error);
  if (!ch) return broken() ? SMOLVM_EIO : SMOLVM_ERROR;
  // A limit on silence, and (total_ms) one on the whole run.
  auto deadline = Clock::now() + std::chrono::milliseconds(kStepMs);
  const auto end_by = Clock::now() + std::chrono::milliseconds(total_ms);
  auto stop = [&](int status, const std::string& why) {
    error = why;
    free_channel(ch);  // sshd hangs up on the command
    return status;
  };
  std::string err_text;
  char buf[65536];
  size_t sent = 0;
  bool eof_sent = false;
  int status = 0;
  for (;;) {
    bool progress = false;
    // Feed stdin while draining output, so neither side's window stalls.
    if (sent < input.size()) {
      const ssize_t n = libssh2_channel_write(ch, input.data() + sent, input.size() - sent);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        progress = true;
      } else if (n != LIBSSH2_ERROR_EAGAIN) {
        status = static_cast<int>(n);
        break;
      }
    } else if (!eof_sent) {
      const int rc = libssh2_channel_send_eof(ch);
      if (rc == 0) eof_sent = progress = true;
      if (rc != 0 && rc != LIBSSH2_ERROR_EAGAIN) {
        status = rc;
        break;
      }
    }
    for (int stream : {0, SSH_EXTENDED_DATA_STDERR}) {
      const ssize_t n = libssh2_channel_read_ex(ch, stream, buf, sizeof buf);
      if (n > 0) {
        progress = true;
        if (stream == 0) {
          if (const int rc = out(buf, static_cast<size_t>(n)); rc != 0) {
            return stop(rc, "the reader stopped the command");
          }
        } else if (err_text.size() < 8192) {
          err_text.append(buf, static_cast<size_t>(n));
        }
      } else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
        status = static_cast<int>(n);
      }
    }
    if (status != 0) break;
    if (progress) deadline = Clock::now() + std::chrono::milliseconds(kStepMs);
    if (!progress && libssh2_channel_eof(ch)) {
      const int rc = libssh2_channel_wait_closed(ch);
      if (rc == 0) break;
      if (rc != LIBSSH2_ERROR_EAGAIN) {
        status = rc;
        break;
      }
    }
    if (total_ms > 0 && ms_left(end_by) == 0) {
      return stop(SMOLVM_ETIMEOUT, "the command took longer than " + std::to_string(total_ms) +
                                       " ms and was stopped");
    }
    if (!progress) {
      if (ms_left(deadline) == 0) {
        status = LIBSSH2_ERROR_TIMEOUT;
        break;
      }
      int64_t wait_ms = ms_left(deadline);
      if (total_ms > 0) wait_ms = std::min(wait_ms, ms_left(end_by));
      wait(static_cast<int32_t>(wait_ms));
    }
  }
  if (status != 0) {
    check_fatal(status);
    error = "SSH command in vm '" + vm_id_ + "' failed: " + (broken() ? broken_ : last_error());
    free_channel(ch);
    return SMOLVM_EIO;
  }
  const int code = libssh2_channel_get_exit_status(ch);
  free_channel(ch);
  while (!err_text.empty() && err_text.back() == '\n') err_text.pop_back();
  error = err_text;
  return code;
}

}  // namespace smolvm_ssh
