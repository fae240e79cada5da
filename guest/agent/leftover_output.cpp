#include "guest/agent/leftover_output.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace smolvm::agent {

void LeftoverOutput::adopt(int fd) {
  if (fd < 0) return;
  if (fds_.size() >= kMaxPipes) close_fd(fds_.front());
  fds_.push_back(fd);
}

void LeftoverOutput::poll_requests(std::vector<PollRequest>& out) const {
  for (int fd : fds_) out.push_back({fd, POLLIN, fd});
}

void LeftoverOutput::on_ready(int fd, short revents) {
  if (std::find(fds_.begin(), fds_.end(), fd) == fds_.end()) return;
  if (revents & POLLIN) {
    char scratch[16384];
    const ssize_t n = ::read(fd, scratch, sizeof scratch);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) return;
    close_fd(fd);  // EOF: every writer is gone
    return;
  }
  if (revents & (POLLHUP | POLLERR | POLLNVAL)) close_fd(fd);
}

void LeftoverOutput::close_all() {
  for (int fd : fds_) ::close(fd);
  fds_.clear();
}

void LeftoverOutput::close_fd(int fd) {
  fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
  ::close(fd);
}

}  // namespace smolvm::agent
