#include "guest/agent/session.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "guest/agent/command_cgroup.h"
#include "guest/agent/exec.h"
#include "guest/agent/files.h"
#include "guest/agent/log.h"
#include "protocol/fd_io.h"
#include "protocol/messages.h"

#ifndef SMOLVM_VERSION
#define SMOLVM_VERSION "0.0.0"
#endif

namespace smolvm::agent {
namespace {

// Output is read from commands only while less than this waits for the
// channel, so memory stays bounded whatever the windows add up to.
constexpr size_t kOutboxHigh = 1u << 20;
// The channel is not read while the replies (PONG...) waiting to go out, or
// the stdin waiting for commands, exceed these: a client that floods without
// reading is slowed down, not allowed to fill the guest's memory.
constexpr size_t kOutboxReadLimit = 4u << 20;
constexpr size_t kBacklogReadLimit = 16u << 20;
constexpr size_t kReadChunk = 256 * 1024;

}  // namespace

const char* session_end_name(SessionEnd end) {
  switch (end) {
    case SessionEnd::kPeerClosed:
      return "peer closed";
    case SessionEnd::kProtocolError:
      return "protocol error";
    case SessionEnd::kIoError:
      return "channel error";
    case SessionEnd::kShutdown:
      return "shutdown";
    case SessionEnd::kReplaced:
      return "replaced by a new connection";
  }
  return "?";
}

namespace {
bool g_terminate = false;
}

bool terminate_requested() { return g_terminate; }

void drain_signalfd(int fd) {
  signalfd_siginfo si;
  while (::read(fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    if (si.ssi_signo != SIGCHLD) g_terminate = true;
  }
}

Session::Session(SessionFds fds) : fds_(fds) {}

Session::~Session() { abort_all(); }

void Session::abort_all() {
  for (auto& [id, s] : streams_) s->abort();
  streams_.clear();
  ++epoch_;
}

bool Session::congested() const { return out_.pending() >= kOutboxHigh; }

bool Session::may_read_channel() const {
  if (out_.pending() >= kOutboxReadLimit) return false;
  // Stdin has credit (kStdinWindow a stream), so a client that keeps to it
  // never gets here with fewer than 16 streams; past the limit the channel
  // is paused until commands consume their input. Except when every command
  // holding input is itself waiting for CREDIT: that credit can only come
  // from further down the channel, and pausing would deadlock.
  size_t backlog = 0;
  bool could_progress = false;
  for (const auto& [id, s] : streams_) {
    const size_t b = s->backlog();
    backlog += b;
    could_progress = could_progress || (b > 0 && !s->awaiting_credit());
  }
  return backlog < kBacklogReadLimit || !could_progress;
}

void Session::protocol_error(uint32_t stream, const char* code, const std::string& message) {
  logf("protocol error: %s", message.c_str());
  out_.send_error(stream, code, message);
  end_ = SessionEnd::kProtocolError;
}

void Session::reap() {
  const auto now = Clock::now();
  reap_children([&](pid_t pid, int status) {
    for (auto& [id, s] : streams_) {
      if (s->on_child_exit(pid, status, now)) return;
    }
    // Not ours: an orphan re-parented to us (PID 1 or subreaper), or a
    // command of a session that has gone.
  });
  sweep_command_cgroups();
}

void Session::read_channel() {
  char buf[kReadChunk];
  const long n = proto::read_some(fds_.in, buf, sizeof buf);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    logf("channel read: %s", std::strerror(errno));
    end_ = SessionEnd::kIoError;
    return;
  }
  if (n == 0) {
    end_ = SessionEnd::kPeerClosed;
    return;
  }
  decoder_.feed(buf, static_cast<size_t>(n));
  proto::Frame f;
  while (!end_) {
    const auto r = decoder_.next(f);
    if (r == proto::Decoder::Result::kNeedMore) break;
    if (r == proto::Decoder::Result::kError) {
      protocol_error(0, "EPROTO", "bad frame: " + decoder_.error());
      break;
    }
    dispatch(f);
  }
}

void Session::on_hello(const proto::Frame& f) {
  proto::Hello h;
  std::string err;
  if (!proto::parse(f.payload, h, err)) return protocol_error(0, "EINVAL", "HELLO: " + err);
  if (h.version != proto::kVersion) {
    return protocol_error(0, "EUNSUPPORTED",
                          "protocol version " + std::to_string(h.version) +
                              " is not supported: this agent speaks version " +
                              std::to_string(proto::kVersion));
  }
  // A second HELLO means the host reconnected without us seeing EOF
  // (possible on virtio-serial): start afresh, as after a disconnect.
  if (hello_) abort_all();
  hello_ = true;
  out_.send(proto::Type::kHelloOk, 0,
            proto::to_json(proto::HelloOk{proto::kVersion, SMOLVM_VERSION,
                                          static_cast<uint32_t>(proto::kMaxPayload), h.epoch}));
}

void Session::open_stream(proto::Frame& f) {
  const char* name = proto::type_name(f.type);
  if (f.stream == 0) {
    out_.send_error(0, "EPROTO", std::string(name) + " needs a non-zero stream id");
    return;
  }
  if (auto it = streams_.find(f.stream); it != streams_.end() && it->second->done()) {
    // Ended earlier in this batch of frames (e.g. the client's own ERROR).
    streams_.erase(it);
    ++epoch_;
  }
  if (auto it = streams_.find(f.stream); it != streams_.end()) {
    // The ERROR ends the stream for the client, so the old one goes too:
    // otherwise its frames would arrive on a stream the client thinks over.
    it->second->abort();
    streams_.erase(it);
    ++epoch_;
    out_.send_error(f.stream, "EINVAL",
                    "stream " + std::to_string(f.stream) + " is already in use");
    return;
  }
  if (streams_.size() >= kMaxStreams) {
    out_.send_error(f.stream, "EBUSY",
                    "too many streams at once (limit " + std::to_string(kMaxStreams) + ")");
    return;
  }
  std::string err;
  std::unique_ptr<Stream> s;
  if (f.type == proto::Type::kExec) {
    proto::ExecRequest req;
    if (!proto::parse(f.payload, req, err)) {
      out_.send_error(f.stream, "EINVAL", "EXEC: " + err);
      return;
    }
    s = ExecStream::start(f.stream, req, out_, &leftovers_);
  } else if (f.type == proto::Type::kFileWrite) {
    proto::FileWrite req;
    if (!proto::parse(f.payload, req, err)) {
      out_.send_error(f.stream, "EINVAL", "FILE_WRITE: " + err);
      return;
    }
    s = FileWriteStream::start(f.stream, req, f.end(), out_);
  } else {
    proto::FileRead req;
    if (!proto::parse(f.payload, req, err)) {
      out_.send_error(f.stream, "EINVAL", "FILE_READ: " + err);
      return;
    }
    s = FileReadStream::start(f.stream, req, out_);
  }
  if (s && !s->done()) streams_.emplace(f.stream, std::move(s));
}

void Session::dispatch(proto::Frame& f) {
  if (f.type == proto::Type::kHello) return on_hello(f);
  if (!hello_) {
    return protocol_error(0, "EPROTO",
                          std::string("expected HELLO first, got ") + proto::type_name(f.type));
  }
  switch (f.type) {
    case proto::Type::kPing:
      out_.send(proto::Type::kPong, f.stream, f.payload);
      return;
    case proto::Type::kPong:
      return;  // the agent sends no PING; nothing to match
    case proto::Type::kShutdown:
      end_ = SessionEnd::kShutdown;
      return;
    case proto::Type::kExec:
    case proto::Type::kFileWrite:
    case proto::Type::kFileRead:
      return open_stream(f);
    case proto::Type::kStdin:
    case proto::Type::kSignal:
    case proto::Type::kResize:
    case proto::Type::kCredit:
    case proto::Type::kData:
    case proto::Type::kError: {
      if (f.stream == 0) {
        if (f.type == proto::Type::kError) {
          logf("client error: %.200s", f.payload.c_str());
          return;
        }
        out_.send_error(0, "EPROTO", std::string(proto::type_name(f.type)) + " needs a stream");
        return;
      }
      auto it = streams_.find(f.stream);
      // A stream that has just ended can still receive the client's STDIN,
      // CREDIT or SIGNAL sent before it saw the end: not an error.
      if (it == streams_.end()) return;
      it->second->on_frame(f);
      return;
    }
    default:
      out_.send_error(f.stream, "EPROTO",
                      std::string(proto::type_name(f.type)) + " is not a frame the agent accepts");
      return;
  }
}

SessionEnd Session::run() {
  reap();
  std::vector<pollfd> pfds;
  // For each pollfd past the fixed ones: which stream asked, and its tag.
  std::vector<std::pair<uint32_t, int>> owners;
  std::vector<PollRequest> reqs;
  const bool shared_fd = fds_.in == fds_.out;

  while (!end_) {
    pfds.clear();
    owners.clear();
    const bool reading = may_read_channel();
    const bool writing = out_.pending() > 0;
    // Slot 0: channel in (and out when it is the same fd); slot 1: channel
    // out when separate; slot 2: signals; slot 3: listener. A shared fd stays
    // in the set even with no events so that a hang-up is still seen; a
    // separate one is left out when idle, or its POLLERR would spin the loop.
    const bool poll_in = reading || shared_fd;
    pfds.push_back(
        {poll_in ? fds_.in : -1,
         static_cast<short>((reading ? POLLIN : 0) | (shared_fd && writing ? POLLOUT : 0)), 0});
    pfds.push_back({!shared_fd && writing ? fds_.out : -1, POLLOUT, 0});
    pfds.push_back({fds_.signal, POLLIN, 0});
    pfds.push_back({fds_.listen, POLLIN, 0});
    const size_t fixed = pfds.size();
    const uint64_t epoch = epoch_;

    const bool busy = congested();
    std::optional<Clock::time_point> wake;
    bool run_now = false;
    for (auto& [id, s] : streams_) {
      reqs.clear();
      s->poll_requests(reqs, busy);
      for (const auto& r : reqs) {
        pfds.push_back({r.fd, r.events, 0});
        owners.emplace_back(id, r.tag);
      }
      if (auto d = s->deadline(); d && (!wake || *d < *wake)) wake = d;
      run_now = run_now || s->runnable(busy);
    }
    const size_t leftover_at = pfds.size();
    reqs.clear();
    leftovers_.poll_requests(reqs);
    for (const auto& r : reqs) pfds.push_back({r.fd, r.events, 0});
    int timeout = -1;
    if (run_now) {
      timeout = 0;
    } else if (wake) {
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*wake - Clock::now()).count();
      timeout = static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
    }

    const int n = ::poll(pfds.data(), pfds.size(), timeout);
    if (n < 0 && errno != EINTR) {
      logf("poll: %s", std::strerror(errno));
      return SessionEnd::kIoError;
    }

    if (pfds[2].revents & POLLIN) {
      drain_signalfd(fds_.signal);
      reap();
      if (terminate_requested()) {
        end_ = SessionEnd::kShutdown;
        break;
      }
    }
    if (fds_.listen >= 0 && (pfds[3].revents & POLLIN)) {
      end_ = SessionEnd::kReplaced;
      break;
    }
    // A hang-up is read even when backpressure paused reading: the read
    // returns what is left, then EOF. (A failed separate write side shows
    // up as the flush's error below.)
    if (pfds[0].revents & (POLLIN | POLLHUP | POLLERR)) read_channel();

    // If a frame above dropped streams (HELLO again, a reused id), an fd in
    // this poll set may now belong to another stream: skip this round; poll
    // is level-triggered, so nothing is lost.
    for (size_t i = fixed; i < leftover_at && !end_ && epoch == epoch_; ++i) {
      if (!pfds[i].revents) continue;
      auto it = streams_.find(owners[i - fixed].first);
      if (it == streams_.end()) continue;
      it->second->on_ready(owners[i - fixed].second, pfds[i].revents);
    }
    // Leftover pipes were adopted before this poll, so their fds are still
    // theirs (a pipe adopted above is polled next round).
    for (size_t i = leftover_at; i < pfds.size(); ++i) {
      if (pfds[i].revents) leftovers_.on_ready(pfds[i].fd, pfds[i].revents);
    }
    const auto now = Clock::now();
    for (auto& [id, s] : streams_) {
      if (auto d = s->deadline(); d && *d <= now) s->on_deadline(now);
      if (s->runnable(congested())) s->run();
    }
    std::erase_if(streams_, [](const auto& kv) { return kv.second->done(); });

    if (out_.pending() > 0 && !out_.flush(fds_.out)) {
      if (errno != EPIPE && errno != ECONNRESET) logf("channel write: %s", std::strerror(errno));
      return errno == EPIPE || errno == ECONNRESET ? SessionEnd::kPeerClosed : SessionEnd::kIoError;
    }
  }
  // Let a final ERROR out before the caller drops the channel. After EOF
  // only what fits now: a disconnected virtio port never becomes writable.
  if (*end_ == SessionEnd::kProtocolError || *end_ == SessionEnd::kShutdown) {
    out_.flush_for(fds_.out, 1000);
  } else if (*end_ == SessionEnd::kPeerClosed) {
    out_.flush(fds_.out);
  }
  abort_all();
  return *end_;
}

}  // namespace smolvm::agent
