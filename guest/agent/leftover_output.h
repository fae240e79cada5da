// Output pipes of finished commands that processes they left in the
// background still hold open. The agent keeps reading them and throws the
// bytes away until every writer is gone, so that a server a command
// started with `&` (`python3 -m http.server &`, which logs each request)
// keeps running instead of dying of SIGPIPE at its next write. Bounded:
// past kMaxPipes the oldest pipe is closed (its writers then get EPIPE, as
// every writer did before).
#pragma once

#include <deque>
#include <vector>

#include "guest/agent/stream.h"

namespace smolvm::agent {

class LeftoverOutput {
 public:
  static constexpr size_t kMaxPipes = 64;

  LeftoverOutput() = default;
  ~LeftoverOutput() { close_all(); }
  LeftoverOutput(const LeftoverOutput&) = delete;
  LeftoverOutput& operator=(const LeftoverOutput&) = delete;

  // Takes over fd, the read end of a command's stdout or stderr pipe.
  void adopt(int fd);
  // One request per pipe; tag is the fd.
  void poll_requests(std::vector<PollRequest>& out) const;
  // Reads and drops what fd holds; closes it at EOF (no writer left).
  void on_ready(int fd, short revents);
  void close_all();
  size_t size() const { return fds_.size(); }

 private:
  void close_fd(int fd);
  std::deque<int> fds_;  // oldest first
};

}  // namespace smolvm::agent
