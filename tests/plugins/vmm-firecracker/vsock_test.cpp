// The host side of Firecracker's hybrid vsock (specs/firecracker-vsock.md)
// against a real Unix-socket server in the test. The server plays
// Firecracker's part, because no firecracker binary runs on this host: it
// closes the connection while "no guest listener is up", as Firecracker
// does, and then answers "OK <port>\n" followed at once by agent bytes.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "plugins/vmm-firecracker/fc_vsock.h"
#include "tests/support/temp_dir.h"
#include "tests/support/unix_socket.h"

namespace {

using Clock = std::chrono::steady_clock;
using Behavior = std::function<void(int conn)>;

// Accepts one connection per behavior, reads its CONNECT line, then runs the
// behavior on it and closes it.
class FirecrackerSide {
 public:
  FirecrackerSide(const std::string& path, std::vector<Behavior> behaviors, int listen_delay_ms = 0)
      : thread_([this, path, behaviors = std::move(behaviors), listen_delay_ms] {
          if (listen_delay_ms)
            std::this_thread::sleep_for(std::chrono::milliseconds(listen_delay_ms));
          const int lfd = smolvm::test::listen_unix(path);
          if (lfd < 0) return;
          for (const auto& behave : behaviors) {
            const int conn = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
            if (conn < 0) break;
            const std::string line = smolvm::test::read_until(conn, "\n");
            {
              std::lock_guard<std::mutex> lock(mu_);
              lines_.push_back(line);
            }
            behave(conn);
            close(conn);
          }
          close(lfd);
        }) {}
  ~FirecrackerSide() { thread_.join(); }

  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
  std::thread thread_;  // last: starts after the members it uses exist
};

// No guest listener yet: Firecracker just closes the host connection.
void no_listener(int) {}

Behavior answer(const std::string& bytes) {
  return [bytes](int conn) { smolvm::test::write_all(conn, bytes); };
}

bool running(std::string&) { return true; }

std::string read_exactly(int fd, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    const ssize_t r = read(fd, out.data() + got, n - got);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

// Agent protocol bytes: a frame header, including a '\n' and NULs, so a
// reader that consumed past the OK line would be caught.
const std::string kAgentBytes = std::string("\x10\x00\x00\x00\x01\x00\x00\x00\n{}", 11);

TEST(HybridVsock, RetriesWhileNoGuestListenerThenKeepsTheAgentBytes) {
  smolvm::test::TempDir dir;
  const std::string path = dir / "fc-vsock.sock";
  std::vector<std::string> lines;
  int fd = -1;
  {
    FirecrackerSide fc(
        path, {no_listener, no_listener, no_listener, answer("OK 1073741824\n" + kAgentBytes)});
    std::string error;
    bool timed_out = true;
    fd = smolvm_fc::hybrid_vsock_connect(path, 1024, 5000, running, error, timed_out);
    ASSERT_GE(fd, 0) << error;
    EXPECT_FALSE(timed_out);
    // The first bytes after the handshake are exactly the agent's.
    EXPECT_EQ(read_exactly(fd, kAgentBytes.size()), kAgentBytes);
    lines = fc.lines();
  }
  // After the server closed: nothing else was in the stream.
  char extra;
  EXPECT_EQ(read(fd, &extra, 1), 0);
  close(fd);
  ASSERT_EQ(lines.size(), 4u);
  for (const auto& l : lines) EXPECT_EQ(l, "CONNECT 1024\n");
}

TEST(HybridVsock, WaitsForTheSocketToExist) {
  // Before InstanceStart there is no socket at all (ENOENT).
  smolvm::test::TempDir dir;
  const std::string path = dir / "fc-vsock.sock";
  FirecrackerSide fc(path, {answer("OK 52\n")}, 100);
  std::string error;
  bool timed_out = true;
  const int fd = smolvm_fc::hybrid_vsock_connect(path, 52, 5000, running, error, timed_out);
  ASSERT_GE(fd, 0) << error;
  close(fd);
  EXPECT_EQ(fc.lines(), std::vector<std::string>{"CONNECT 52\n"});
}

TEST(HybridVsock, AcceptsTheAcknowledgementInPieces) {
  smolvm::test::TempDir dir;
  const std::string path = dir / "fc-vsock.sock";
  FirecrackerSide fc(path, {[](int conn) {
                       for (const std::string& piece :
                            std::vector<std::string>{"O", "K 10", "73741824", "\n" + kAgentBytes}) {
                         smolvm::test::write_all(conn, piece);
                         std::this_thread::sleep_for(std::chrono::milliseconds(10));
                       }
                     }});
  std::string error;
  bool timed_out = true;
  const int fd = smolvm_fc::hybrid_vsock_connect(path, 1024, 5000, running, error, timed_out);
  ASSERT_GE(fd, 0) << error;
  EXPECT_EQ(read_exactly(fd, kAgentBytes.size()), kAgentBytes);
  close(fd);
}

TEST(HybridVsock, RetriesAConnectionHeldOpenAndThenDropped) {
  // Firecracker holds the host connection while the guest's vsock driver is
  // not up yet, and drops it after its connect timeout.
  smolvm::test::TempDir dir;
  const std::string path = dir / "fc-vsock.sock";
  FirecrackerSide fc(
      path,
      {[](int) { std::this_thread::sleep_for(std::chrono::milliseconds(200)); }, answer("OK 7\n")});
  std::string error;
  bool timed_out = true;
  const int fd = smolvm_fc::hybrid_vsock_connect(path, 1024, 5000, running, error, timed_out);
  ASSERT_GE(fd, 0) << error;
  close(fd);
  EXPECT_EQ(fc.lines().size(), 2u);
}

TEST(HybridVsock, GivesUpAtTheDeadline) {
  smolvm::test::TempDir dir;
  const std::string path = dir / "fc-vsock.sock";
  // Nothing ever listens: the socket never appears.
  std::string error;
  bool timed_out = false;
  const auto start = Clock::now();
  const int fd = smolvm_fc::hybrid_vsock_connect(path, 1024, 300, running, error, timed_out);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  EXPECT_EQ(fd, -1);
  EXPECT_TRUE(timed_out);
  EXPECT_GE(ms, 300);
  EXPECT_LT(ms, 1500);
  EXPECT_NE(error.find("did not answer in 300 ms"), std::string::npos) << error;
}

TEST(HybridVsock, GivesUpAtTheDeadlineWhileRefused) {
  smolvm::test::TempDir dir;
  const std::string path = dir / "fc-vsock.sock";
  const int lfd = smolvm::test::listen_unix(path);
  ASSERT_GE(lfd, 0);
  // Closes every connection after reading CONNECT, until the listener is
  // shut down.
  std::atomic<int> refused{0};
  std::thread server([&] {
    for (;;) {
      const int conn = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) return;
      smolvm::test::read_until(conn, "\n");
      close(conn);
      ++refused;
    }
  });
  std::string error;
  bool timed_out = false;
  const int fd = smolvm_fc::hybrid_vsock_connect(path, 1024, 300, running, error, timed_out);
  shutdown(lfd, SHUT_RDWR);  // wakes accept
  server.join();
  close(lfd);
  EXPECT_EQ(fd, -1);
  EXPECT_TRUE(timed_out);
  EXPECT_NE(error.find("did not answer in 300 ms"), std::string::npos) << error;
  // Retried every few milliseconds, not once.
  EXPECT_GT(refused.load(), 10);
}

TEST(HybridVsock, StopsWhenTheVmmHasExited) {
  smolvm::test::TempDir dir;
  const std::string path = dir / "fc-vsock.sock";
  std::string error;
  bool timed_out = true;
  const auto start = Clock::now();
  const int fd = smolvm_fc::hybrid_vsock_connect(
      path, 1024, 10000,
      [](std::string& why) {
        why = "firecracker exited with status 1";
        return false;
      },
      error, timed_out);
  EXPECT_EQ(fd, -1);
  EXPECT_FALSE(timed_out);
  EXPECT_EQ(error, "firecracker exited with status 1");
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));
}

TEST(HybridVsock, RefusesAnAnswerThatIsNotOk) {
  smolvm::test::TempDir dir;
  const std::string path = dir / "fc-vsock.sock";
  FirecrackerSide fc(path, {answer("ERR nobody home\n")});
  std::string error;
  bool timed_out = true;
  const int fd = smolvm_fc::hybrid_vsock_connect(path, 1024, 5000, running, error, timed_out);
  EXPECT_EQ(fd, -1);
  EXPECT_FALSE(timed_out);
  EXPECT_NE(error.find("unexpected answer to CONNECT: 'ERR nobody home'"), std::string::npos)
      << error;
}

TEST(HybridVsock, RefusesAPathOverTheSocketLimit) {
  std::string error;
  bool timed_out = true;
  const std::string path = "/tmp/" + std::string(120, 'x');
  EXPECT_EQ(smolvm_fc::hybrid_vsock_connect(path, 1024, 100, running, error, timed_out), -1);
  EXPECT_NE(error.find("too long"), std::string::npos) << error;
}

}  // namespace
