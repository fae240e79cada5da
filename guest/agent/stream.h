// A stream of the protocol as the agent's event loop sees it: an exec, a file
// write or a file read. The session owns the streams, polls the fds they ask
// for and routes the client's frames to them; a stream reports its own
// output through the session's proto::Outbox.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

#include "protocol/frame.h"

namespace smolvm::agent {

using Clock = std::chrono::steady_clock;

struct PollRequest {
  int fd;
  short events;
  int tag;  // handed back to on_ready so a stream can tell its fds apart
};

class Stream {
 public:
  virtual ~Stream() = default;

  // A client frame on this stream (STDIN, CREDIT, SIGNAL, DATA or ERROR).
  virtual void on_frame(const proto::Frame& frame) = 0;

  // fds to poll now. congested: the channel's write queue is full, so
  // nothing should be read that would only grow it.
  virtual void poll_requests(std::vector<PollRequest>& out, bool congested) const = 0;
  virtual void on_ready(int tag, short revents) = 0;

  // Earliest time on_deadline wants to run (timeouts, drain limits).
  virtual std::optional<Clock::time_point> deadline() const { return std::nullopt; }
  virtual void on_deadline(Clock::time_point now) { (void)now; }

  // Work that needs no fd readiness (reading a regular file).
  virtual bool runnable(bool congested) const {
    (void)congested;
    return false;
  }
  virtual void run() {}

  // A child was reaped; returns true if it was this stream's process.
  virtual bool on_child_exit(pid_t pid, int status, Clock::time_point now) {
    (void)pid, (void)status, (void)now;
    return false;
  }

  // Bytes received from the client and not yet handed on (stdin backlog).
  virtual size_t backlog() const { return 0; }
  // Stalled until the client grants credit (its output window is used up).
  virtual bool awaiting_credit() const { return false; }

  // The stream has ended (its last frame is queued) and can be dropped.
  virtual bool done() const = 0;

  // The connection is gone or reset: stop everything, send nothing more.
  virtual void abort() = 0;
};

}  // namespace smolvm::agent
