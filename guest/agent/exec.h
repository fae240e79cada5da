// An EXEC stream: one command, its pipes, its flow-control window, its
// timeout, and the EXIT report once it is reaped and its output drained.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "guest/agent/command_cgroup.h"
#include "guest/agent/leftover_output.h"
#include "guest/agent/stream.h"
#include "protocol/messages.h"
#include "protocol/outbox.h"

namespace smolvm::agent {

// Output frames (STDOUT, STDERR) carry at most this: a quarter of the
// command's pipe (spawn.h), so a fast writer needs few frames and wakeups,
// while one frame still crosses the channel in a few milliseconds and does
// not hold up the other streams' frames for long.
inline constexpr size_t kOutputFrame = 256 * 1024;

class ExecStream final : public Stream {
 public:
  // After the command is reaped, output still in its pipes is forwarded for
  // at most this long; a background process holding a pipe open must not
  // hold the result.
  static constexpr std::chrono::milliseconds kDrainLimit{100};

  // Starts the command. On failure sends ERROR on the stream and returns null.
  // Output pipes still held open by background processes when the command
  // is done go to leftovers (NULL: they are closed).
  static std::unique_ptr<ExecStream> start(uint32_t id, const proto::ExecRequest& req,
                                           proto::Outbox& out, LeftoverOutput* leftovers = nullptr);
  ~ExecStream() override;

  void on_frame(const proto::Frame& frame) override;
  void poll_requests(std::vector<PollRequest>& out, bool congested) const override;
  void on_ready(int tag, short revents) override;
  std::optional<Clock::time_point> deadline() const override;
  void on_deadline(Clock::time_point now) override;
  bool on_child_exit(pid_t pid, int status, Clock::time_point now) override;
  size_t backlog() const override { return stdin_buf_.size() - stdin_off_; }
  bool awaiting_credit() const override {
    return window_ == 0 && (out_fd_[0] >= 0 || out_fd_[1] >= 0);
  }
  bool done() const override { return done_; }
  void abort() override;

 private:
  ExecStream(uint32_t id, proto::Outbox& out, LeftoverOutput* leftovers)
      : id_(id), out_(out), leftovers_(leftovers) {}

  // The timeout, or the drain limit once the command has exited.
  std::optional<Clock::time_point> limit_deadline() const;
  void write_stdin();
  void read_output(int which);
  void close_output(int which);
  // The command is done with this pipe, but a process it left running may
  // still write to it: hand it to leftovers_.
  void release_output(int which);
  void close_stdin();
  // Bytes of stdin are gone from the agent (written, or dropped since the
  // command's stdin is closed): grants them back to the client, in CREDIT
  // frames of a useful size (now: whatever is pending).
  void take_stdin(size_t n, bool now);
  void fail(const char* code, const std::string& message);
  void maybe_finish();
  // Signals everything the command started: its cgroup (SIGKILL through
  // cgroup.kill) and its process group.
  void kill_group(int sig);

  uint32_t id_;
  proto::Outbox& out_;
  LeftoverOutput* leftovers_;
  CommandCgroup cgroup_;
  pid_t pid_ = -1;
  bool pty_ = false;  // on a terminal: out_fd_[0] is its master
  int stdin_fd_ = -1;
  std::array<int, 2> out_fd_{-1, -1};  // stdout, stderr
  // Set at the drain deadline: bytes still to forward from each pipe, i.e.
  // what was in it then. Anything written later is dropped.
  std::array<std::optional<size_t>, 2> drain_left_;
  // A pipe just drained is not polled again before this: a command writing
  // fast then fills it a while and the agent sends one large frame rather
  // than one per write, each a wakeup across vCPUs (see kCoalesce).
  std::array<Clock::time_point, 2> quiet_until_{};

  std::string stdin_buf_;
  size_t stdin_off_ = 0;
  bool stdin_end_ = false;
  // Stdin credit: what the client may still send, and bytes taken (written
  // to the command or dropped) that are not yet granted back.
  uint64_t stdin_credit_ = proto::kStdinWindow;
  uint64_t stdin_taken_ = 0;

  uint64_t window_ = proto::kDefaultWindow;
  Clock::time_point started_;
  std::optional<Clock::time_point> timeout_at_;
  std::optional<Clock::time_point> reaped_at_;
  bool timed_out_ = false;
  int status_ = 0;
  bool done_ = false;
};

}  // namespace smolvm::agent
