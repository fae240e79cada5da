// protocol/outbox: the write queue of the guest agent and of the
// supervisor's agent channel, over a real socketpair.
#include "protocol/outbox.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
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

std::vector<Frame> read_frames(int fd) {
  std::vector<Frame> frames;
  Decoder d;
  char buf[65536];
  const long n = ::read(fd, buf, sizeof buf);
  if (n > 0) d.feed(buf, static_cast<size_t>(n));
  Frame f;
  while (d.next(f) == Decoder::Result::kFrame) frames.push_back(f);
  return frames;
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

}  // namespace
}  // namespace smolvm::proto
