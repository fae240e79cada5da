// LeftoverOutput with real pipes: what a writer sends is read and dropped,
// the pipe is closed once every writer is gone, and no more than kMaxPipes
// are held (the oldest goes first).
#include "guest/agent/leftover_output.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <csignal>

namespace smolvm::agent {
namespace {

struct Pipe {
  int read = -1, write = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) read = fds[0], write = fds[1];
  }
};

// Polls leftovers once the way the session does, and hands every event on.
void pump(LeftoverOutput& l) {
  std::vector<PollRequest> reqs;
  l.poll_requests(reqs);
  std::vector<pollfd> pfds;
  for (const auto& r : reqs) pfds.push_back({r.fd, r.events, 0});
  ASSERT_GE(::poll(pfds.data(), pfds.size(), 100), 0);
  for (const auto& p : pfds) {
    if (p.revents) l.on_ready(p.fd, p.revents);
  }
}

TEST(LeftoverOutput, AWriterKeepsWritingUntilItClosesThenThePipeGoes) {
  std::signal(SIGPIPE, SIG_IGN);  // a write to a closed pipe fails with EPIPE instead
  LeftoverOutput l;
  Pipe p;
  l.adopt(p.read);
  const std::string chunk(8192, 'x');
  for (int i = 0; i < 64; ++i) {  // 512 KiB: far more than the pipe holds
    ssize_t n;
    while ((n = ::write(p.write, chunk.data(), chunk.size())) < 0 && errno == EAGAIN) pump(l);
    ASSERT_EQ(n, static_cast<ssize_t>(chunk.size())) << "write " << i << ": " << strerror(errno);
  }
  EXPECT_EQ(l.size(), 1u);
  ::close(p.write);
  for (int i = 0; i < 10 && l.size() > 0; ++i) pump(l);
  EXPECT_EQ(l.size(), 0u) << "the pipe was kept after its writer left";
}

TEST(LeftoverOutput, HoldsAtMostKMaxPipesAndLetsTheOldestGo) {
  std::signal(SIGPIPE, SIG_IGN);
  LeftoverOutput l;
  std::vector<Pipe> pipes(LeftoverOutput::kMaxPipes + 1);
  for (auto& p : pipes) l.adopt(p.read);
  EXPECT_EQ(l.size(), LeftoverOutput::kMaxPipes);
  // The oldest pipe's reader is gone: its writer now gets EPIPE.
  EXPECT_EQ(::write(pipes.front().write, "x", 1), -1);
  EXPECT_EQ(errno, EPIPE);
  EXPECT_EQ(::write(pipes.back().write, "x", 1), 1);
  for (auto& p : pipes) ::close(p.write);
}

}  // namespace
}  // namespace smolvm::agent
