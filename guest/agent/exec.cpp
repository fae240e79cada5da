#include "guest/agent/exec.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "guest/agent/log.h"
#include "guest/agent/pty.h"
#include "guest/agent/spawn.h"
#include "protocol/fd_io.h"

namespace smolvm::agent {
namespace {

// Credits can be granted faster than they are used; cap the sum so it
// cannot overflow.
constexpr uint64_t kMaxWindow = uint64_t{1} << 40;

enum Tag { kStdinTag = 0, kStdoutTag = 1, kStderrTag = 2 };

// How long a drained pipe rests: long enough under TCG for a fast writer to
// put a frame's worth in it, short enough to go unnoticed in interactive
// output (the first bytes after a pause go out at once).
constexpr auto kCoalesce = std::chrono::milliseconds(1);

}  // namespace

std::unique_ptr<ExecStream> ExecStream::start(uint32_t id, const proto::ExecRequest& req,
                                              proto::Outbox& out, LeftoverOutput* leftovers) {
  std::unique_ptr<ExecStream> s(new ExecStream(id, out, leftovers));
  if (req.window) s->window_ = req.window;
  s->started_ = Clock::now();
  Spawned sp;
  std::string err;
  std::optional<RunAs> as;
  if (!resolve_user(req.user, as, err)) {
    out.send_error(id, "EINVAL", err);
    return nullptr;
  }
  if (command_cgroups_enabled() && !s->cgroup_.create(err)) {
    logf("command %u runs without a cgroup of its own: %s", id, err.c_str());
  }
  if (!spawn(req, as ? &*as : nullptr, s->cgroup_.dir_fd(), sp, err)) {
    out.send_error(id, errno == EAGAIN ? "EBUSY" : "EIO", err);
    return nullptr;
  }
  if (s->cgroup_.active() && !sp.in_cgroup) {
    logf("command %u runs without a cgroup of its own: clone3 into %s failed", id,
         s->cgroup_.path().c_str());
    s->cgroup_.release();
  }
  s->pid_ = sp.pid;
  s->pty_ = sp.pty;
  s->stdin_fd_ = sp.stdin_fd;
  s->out_fd_ = {sp.stdout_fd, sp.stderr_fd};
  if (req.timeout_ms) s->timeout_at_ = s->started_ + std::chrono::milliseconds(req.timeout_ms);
  if (sp.child_errno) {
    // The child has already exited 126/127; explain why the way a shell
    // would, on the command's stderr.
    const std::string msg =
        "smolvm-agent: " + sp.child_what + ": " + std::strerror(sp.child_errno) + "\n";
    out.send_data(sp.pty ? proto::Type::kStdout : proto::Type::kStderr, id, msg);
    s->window_ -= std::min<uint64_t>(s->window_, msg.size());
  }
  return s;
}

ExecStream::~ExecStream() {
  close_stdin();
  close_output(0);
  close_output(1);
}

void ExecStream::kill_group(int sig) {
  // The cgroup holds whatever the command started, also processes that made
  // sessions of their own; the process group (the command leads one, by
  // setsid) is what there is without cgroups.
  cgroup_.signal(sig);
  if (pid_ > 0) ::kill(-pid_, sig);
}

void ExecStream::abort() {
  kill_group(SIGKILL);
  close_stdin();
  close_output(0);
  close_output(1);
  cgroup_.release();
  done_ = true;
}

void ExecStream::fail(const char* code, const std::string& message) {
  out_.send_error(id_, code, message);
  abort();
}

void ExecStream::on_frame(const proto::Frame& f) {
  // Late frames for an ended stream (it is dropped after this round).
  if (done_) return;
  switch (f.type) {
    case proto::Type::kStdin:
      if (f.payload.size() > stdin_credit_) {
        return fail("EPROTO", "STDIN of " + std::to_string(f.payload.size()) +
                                  " bytes exceeds the stream's stdin credit (" +
                                  std::to_string(stdin_credit_) + " bytes)");
      }
      stdin_credit_ -= f.payload.size();
      // Input after END, or after the command closed its stdin, has nowhere
      // to go; dropping it is what a pipe would do. Its credit comes back,
      // so a client writing on is never stuck.
      if (stdin_fd_ < 0 || stdin_end_) return take_stdin(f.payload.size(), true);
      stdin_buf_.append(f.payload);
      if (f.end()) stdin_end_ = true;
      write_stdin();
      return;
    case proto::Type::kCredit: {
      uint32_t n = 0;
      if (!proto::read_u32_le(f.payload, n)) {
        return fail("EINVAL",
                    "CREDIT payload must be 4 bytes, got " + std::to_string(f.payload.size()));
      }
      window_ = std::min(kMaxWindow, window_ + n);
      return;
    }
    case proto::Type::kSignal: {
      proto::SignalMsg m;
      std::string err;
      if (!proto::parse(f.payload, m, err)) return fail("EINVAL", "SIGNAL: " + err);
      kill_group(m.signal);
      return;
    }
    case proto::Type::kResize: {
      proto::Resize size;
      std::string err;
      if (!proto::parse(f.payload, size, err)) return fail("EINVAL", err);
      if (!pty_) return fail("EINVAL", "RESIZE on a command without a terminal (EXEC \"pty\")");
      // The master lives as long as the command's output may: after that a
      // new size concerns nobody.
      if (out_fd_[0] >= 0 && !set_pty_size(out_fd_[0], size)) {
        logf("command %u: TIOCSWINSZ: %s", id_, std::strerror(errno));
      }
      return;
    }
    case proto::Type::kError:
      // The client gave up on the stream.
      return abort();
    default:
      return fail("EPROTO",
                  std::string(proto::type_name(f.type)) + " is not valid on an exec stream");
  }
}

void ExecStream::poll_requests(std::vector<PollRequest>& out, bool congested) const {
  if (stdin_fd_ >= 0 && backlog() > 0) out.push_back({stdin_fd_, POLLOUT, kStdinTag});
  // With no window left, or the channel backed up, the pipes are left to
  // fill: the command then blocks on write, which is the flow control.
  if (window_ == 0 || congested) return;
  const auto now = Clock::now();
  for (int i = 0; i < 2; ++i) {
    if (now < quiet_until_[i]) continue;
    // A pipe whose bytes a queued frame has claimed stays readable until
    // they are spliced out: polling it now would spin.
    if (out_fd_[i] >= 0 && !out_.splicing_from(out_fd_[i])) {
      out.push_back({out_fd_[i], POLLIN, kStdoutTag + i});
    }
  }
}

void ExecStream::on_ready(int tag, short revents) {
  if (tag == kStdinTag) {
    if (revents & (POLLERR | POLLHUP)) {
      close_stdin();  // the command closed its stdin or exited
    } else {
      write_stdin();
    }
  } else {
    read_output(tag - kStdoutTag);
  }
  maybe_finish();
}

void ExecStream::write_stdin() {
  if (stdin_fd_ < 0) return;
  const long n = proto::write_some(stdin_fd_, std::string_view(stdin_buf_).substr(stdin_off_));
  if (n < 0) {
    close_stdin();  // EPIPE: nobody reads it any more
    return;
  }
  stdin_off_ += static_cast<size_t>(n);
  take_stdin(static_cast<size_t>(n), stdin_off_ == stdin_buf_.size());
  if (stdin_off_ == stdin_buf_.size()) {
    stdin_buf_.clear();
    stdin_off_ = 0;
    if (stdin_end_) close_stdin();
  } else if (stdin_off_ > (1u << 20)) {
    stdin_buf_.erase(0, stdin_off_);
    stdin_off_ = 0;
  }
}

void ExecStream::take_stdin(size_t n, bool now) {
  stdin_taken_ += n;
  // A quarter window per CREDIT keeps the frames few and the client busy.
  if (stdin_taken_ == 0 || (!now && stdin_taken_ < proto::kStdinWindow / 4)) return;
  if (done_ || stdin_end_) {
    stdin_taken_ = 0;  // nothing more will be sent
    return;
  }
  const auto grant = static_cast<uint32_t>(std::min<uint64_t>(stdin_taken_, UINT32_MAX));
  stdin_taken_ -= grant;
  stdin_credit_ += grant;
  out_.send(proto::Type::kCredit, id_, proto::u32_le(grant));
}

void ExecStream::close_stdin() {
  const bool open = stdin_fd_ >= 0;
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
  // What was waiting is dropped: its credit comes back (the command may
  // run on without reading; its client must not wait forever).
  if (open && !done_ && !reaped_at_) take_stdin(stdin_buf_.size() - stdin_off_, true);
  stdin_buf_.clear();
  stdin_buf_.shrink_to_fit();
  stdin_off_ = 0;
}

void ExecStream::read_output(int which) {
  int& fd = out_fd_[which];
  if (fd < 0) return;
  size_t cap = std::min<uint64_t>(kOutputFrame, window_);
  if (drain_left_[which]) cap = std::min(cap, *drain_left_[which]);
  if (cap == 0) {
    if (drain_left_[which]) release_output(which);
    return;
  }
  const auto type = which == 0 ? proto::Type::kStdout : proto::Type::kStderr;
  // The bytes go from the pipe to the channel by splice; a read (below)
  // only finds the end, or serves a channel that takes no splice, or a
  // terminal (no pipe: it is read).
  size_t got = pty_ ? 0 : out_.send_from_pipe(type, id_, fd, cap);
  if (got == 0) {
    char buf[proto::Outbox::kMaxChunk];
    const long n = proto::read_some(fd, buf, std::min(cap, sizeof buf));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      close_output(which);  // EOF: every writer is gone
      return;
    }
    got = static_cast<size_t>(n);
    out_.send(type, id_, std::string_view(buf, got));
  }
  window_ -= got;
  if (got < cap) quiet_until_[which] = Clock::now() + kCoalesce;
  if (drain_left_[which]) {
    *drain_left_[which] -= got;
    if (*drain_left_[which] == 0) release_output(which);
  }
}

void ExecStream::close_output(int which) {
  if (out_fd_[which] >= 0) ::close(out_fd_[which]);
  out_fd_[which] = -1;
}

void ExecStream::release_output(int which) {
  if (!leftovers_ || out_fd_[which] < 0) return close_output(which);
  leftovers_->adopt(out_fd_[which]);
  out_fd_[which] = -1;
}

bool ExecStream::on_child_exit(pid_t pid, int status, Clock::time_point now) {
  if (pid != pid_ || reaped_at_ || done_) return false;
  status_ = status;
  reaped_at_ = now;
  close_stdin();
  maybe_finish();
  return true;
}

std::optional<Clock::time_point> ExecStream::deadline() const {
  if (done_) return std::nullopt;
  auto d = limit_deadline();
  const auto now = Clock::now();
  for (int i = 0; i < 2; ++i) {
    const auto q = quiet_until_[i];
    if (out_fd_[i] >= 0 && q > now && (!d || q < *d)) d = q;
  }
  return d;
}

std::optional<Clock::time_point> ExecStream::limit_deadline() const {
  if (!reaped_at_) {
    if (timed_out_) return std::nullopt;
    return timeout_at_;
  }
  if (drain_left_[0] || drain_left_[1]) return std::nullopt;
  return *reaped_at_ + kDrainLimit;
}

void ExecStream::on_deadline(Clock::time_point now) {
  if (done_) return;
  if (!reaped_at_) {
    if (timeout_at_ && now >= *timeout_at_ && !timed_out_) {
      timed_out_ = true;
      kill_group(SIGKILL);
    }
    return;
  }
  if (now < *reaped_at_ + kDrainLimit || drain_left_[0] || drain_left_[1]) return;
  // Drain limit reached: forward what the pipes hold now (it may still be
  // waiting for credit) and nothing written after.
  for (int i = 0; i < 2; ++i) {
    if (out_fd_[i] < 0) continue;
    int avail = 0;
    if (::ioctl(out_fd_[i], FIONREAD, &avail) != 0 || avail <= 0) {
      release_output(i);
    } else {
      drain_left_[i] = static_cast<size_t>(avail);
    }
  }
  maybe_finish();
}

void ExecStream::maybe_finish() {
  if (done_ || !reaped_at_ || out_fd_[0] >= 0 || out_fd_[1] >= 0) return;
  proto::ExitStatus st;
  if (WIFSIGNALED(status_)) {
    st.signal = WTERMSIG(status_);
    st.exit_code = 128 + st.signal;
  } else {
    st.exit_code = WEXITSTATUS(status_);
  }
  st.timed_out = timed_out_;
  st.duration_us = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(*reaped_at_ - started_).count());
  out_.send(proto::Type::kExit, id_, proto::to_json(st), proto::kFlagEnd);
  // Background processes that outlive the command keep the group until
  // they end; it is removed then.
  cgroup_.release();
  done_ = true;
}

}  // namespace smolvm::agent
