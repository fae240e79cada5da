// protocol/outbox: the write queue of the guest agent and of the
// supervisor's agent channel, over a real socketpair.
#include "protocol/outbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "protocol/fd_io.h"

namespace smolvm::proto {
namespace {

struct Pair {
  int a = -1, b = -1;
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    a = sv[0];
    b = sv[1];
    set_nonblocking(a, true);
  }
  ~Pair() {
    ::close(a);
    if (b >= 0) ::close(b);
  }
};

std::vector<Frame> complete_frames(Decoder& d) {
  std::vector<Frame> frames;
  Frame f;
  while (d.next(f) == Decoder::Result::kFrame) frames.push_back(f);
  return frames;
}

std::vector<Frame> read_frames(int fd) {
  Decoder d;
  char buf[65536];
  const long n = ::read(fd, buf, sizeof buf);
  if (n > 0) d.feed(buf, static_cast<size_t>(n));
  return complete_frames(d);
}

TEST(Outbox, QueuesFramesUntilFlushed) {
  Pair p;
  Outbox out;
  out.send(Type::kPing, 0, "x");
  out.send(Type::kStdout, 3, "data", kFlagEnd);
  EXPECT_GT(out.pending(), 0u);
  ASSERT_TRUE(out.flush(p.a));
  EXPECT_EQ(out.pending(), 0u);
  const auto frames = read_frames(p.b);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].type, Type::kStdout);
  EXPECT_EQ(frames[1].stream, 3u);
  EXPECT_TRUE(frames[1].end());
  EXPECT_EQ(frames[1].payload, "data");
}

TEST(Outbox, SplitsDataIntoChunks) {
  Outbox out;
  out.send_data(Type::kStdout, 1, std::string(Outbox::kMaxChunk * 2 + 1, 'x'));
  EXPECT_EQ(out.pending(), (Outbox::kMaxChunk * 2 + 1) + 3 * kHeaderSize);
}

TEST(Outbox, KeepsWhatAFullPeerDidNotTakeAndReportsABrokenOne) {
  Pair p;
  Outbox out;
  const std::string big(8u << 20, 'y');
  out.send_data(Type::kStdout, 1, big);
  ASSERT_TRUE(out.flush(p.a));  // a full socket is not an error
  EXPECT_GT(out.pending(), 0u);
  ::close(p.b);
  p.b = -1;
  EXPECT_FALSE(out.flush(p.a));
}

// A command's output pipe: the agent reads the non-blocking read end.
struct CommandPipe {
  int r = -1, w = -1;
  CommandPipe() {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    r = p[0];
    w = p[1];
  }
  ~CommandPipe() {
    if (r >= 0) ::close(r);
    ::close(w);
  }
  void write(const std::string& bytes) const {
    ASSERT_EQ(::write(w, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
};

// Flushes out into fd until it is empty, reading what the peer got from
// `peer` as it goes (-1: fd is a file, which the caller reads).
std::vector<Frame> drain(Outbox& out, int fd, int peer) {
  Decoder d;
  char buf[65536];
  for (int round = 0; out.pending() > 0 && round < 10000; ++round) {
    EXPECT_TRUE(out.flush(fd));
    for (long n; peer >= 0 && (n = ::recv(peer, buf, sizeof buf, MSG_DONTWAIT)) > 0;) {
      d.feed(buf, static_cast<size_t>(n));
    }
  }
  EXPECT_EQ(out.pending(), 0u);
  return complete_frames(d);
}

TEST(Outbox, MovesPipeBytesInFramesWithoutReadingThem) {
  Pair p;
  CommandPipe cmd;
  Outbox out;
  std::string bytes;
  for (int i = 0; i < 300000; ++i) bytes.push_back(static_cast<char>('a' + i % 26));
  std::thread writer([&] {
    // The command writes more than one pipeful while the agent frames.
    size_t off = 0;
    while (off < bytes.size()) {
      pollfd pf{cmd.w, POLLOUT, 0};
      ::poll(&pf, 1, 1000);
      const ssize_t n =
          ::write(cmd.w, bytes.data() + off, std::min<size_t>(8192, bytes.size() - off));
      if (n > 0) off += static_cast<size_t>(n);
    }
  });
  std::string got;
  Decoder d;
  char buf[65536];
  out.send(Type::kPing, 0, "before");
  size_t claimed = 0;
  while (got.size() < bytes.size()) {
    if (!out.splicing_from(cmd.r)) claimed += out.send_from_pipe(Type::kStdout, 7, cmd.r, 100000);
    ASSERT_TRUE(out.flush(p.a));
    for (long n; (n = ::recv(p.b, buf, sizeof buf, MSG_DONTWAIT)) > 0;) {
      d.feed(buf, static_cast<size_t>(n));
    }
    Frame f;
    while (d.next(f) == Decoder::Result::kFrame) {
      if (f.type == Type::kPing) {
        EXPECT_EQ(f.payload, "before");
        EXPECT_TRUE(got.empty());
        continue;
      }
      EXPECT_EQ(f.type, Type::kStdout);
      EXPECT_EQ(f.stream, 7u);
      EXPECT_LE(f.payload.size(), 100000u);
      got += f.payload;
    }
  }
  writer.join();
  EXPECT_EQ(claimed, bytes.size());
  EXPECT_EQ(got, bytes);
  EXPECT_EQ(out.pending(), 0u);
}

TEST(Outbox, ClaimsPipeBytesOnceAndKeepsFrameOrder) {
  Pair p;
  CommandPipe cmd;
  Outbox out;
  cmd.write("0123456789");
  EXPECT_EQ(out.send_from_pipe(Type::kStdout, 1, cmd.r, 4), 4u);
  EXPECT_TRUE(out.splicing_from(cmd.r));
  out.send(Type::kStderr, 1, "between");
  // The next frame takes the bytes after the four claimed ones.
  EXPECT_EQ(out.send_from_pipe(Type::kStdout, 1, cmd.r, 100), 6u);
  EXPECT_EQ(out.send_from_pipe(Type::kStdout, 1, cmd.r, 100), 0u);
  EXPECT_EQ(out.pending(), 3 * kHeaderSize + 10 + 7);
  const auto frames = drain(out, p.a, p.b);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].payload, "0123");
  EXPECT_EQ(frames[1].payload, "between");
  EXPECT_EQ(frames[2].payload, "456789");
  EXPECT_FALSE(out.splicing_from(cmd.r));
}

TEST(Outbox, CopiesWhenTheConnectionRefusesSplice) {
  // splice(2) into a file opened O_APPEND fails with EINVAL, as into a
  // connection that takes none: the frames must come out whole all the same.
  char path[] = "/tmp/outbox-test-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fcntl(fd, F_SETFL, O_APPEND), 0);
  CommandPipe cmd;
  Outbox out;
  cmd.write("first");
  EXPECT_EQ(out.send_from_pipe(Type::kStdout, 2, cmd.r, 100), 5u);
  out.send(Type::kExit, 2, "{}", kFlagEnd);
  drain(out, fd, -1);
  // Once refused, the caller is told to read the pipe itself.
  cmd.write("second");
  EXPECT_EQ(out.send_from_pipe(Type::kStdout, 2, cmd.r, 100), 0u);
  std::string text(4096, '\0');
  const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
  ::close(fd);
  ::unlink(path);
  ASSERT_GT(n, 0);
  Decoder d;
  d.feed(text.data(), static_cast<size_t>(n));
  Frame f;
  ASSERT_EQ(d.next(f), Decoder::Result::kFrame);
  EXPECT_EQ(f.payload, "first");
  ASSERT_EQ(d.next(f), Decoder::Result::kFrame);
  EXPECT_EQ(f.type, Type::kExit);
  EXPECT_EQ(d.next(f), Decoder::Result::kNeedMore);
}

TEST(Outbox, ClearDropsClaimedBytesAndStartsAfresh) {
  Pair p;
  CommandPipe cmd;
  Outbox out;
  cmd.write(std::string(5000, 'z'));
  EXPECT_EQ(out.send_from_pipe(Type::kStdout, 1, cmd.r, 100000), 5000u);
  out.clear();
  EXPECT_EQ(out.pending(), 0u);
  EXPECT_FALSE(out.splicing_from(cmd.r));
  out.send(Type::kPing, 0, "after");
  const auto frames = drain(out, p.a, p.b);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, "after");
}

}  // namespace
}  // namespace smolvm::proto
