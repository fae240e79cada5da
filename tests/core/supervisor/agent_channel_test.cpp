#include "core/supervisor/agent_channel.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "protocol/fd_io.h"

namespace smolvm {
namespace {

using proto::Decoder;
using proto::Frame;
using proto::Type;

struct Pair {
  int ours = -1, agent = -1;
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ours = sv[0];
    agent = sv[1];
  }
  ~Pair() {
    if (agent >= 0) ::close(agent);
  }
};

TEST(AgentChannel, SendsFramesAndDecodesTheAnswers) {
  Pair p;
  AgentChannel ch;
  ch.attach(p.ours);
  ASSERT_TRUE(ch.connected());
  ASSERT_TRUE(ch.send(Type::kPing, 0, 0, "hi"));
  EXPECT_FALSE(ch.wants_write());

  char buf[256];
  const long n = ::read(p.agent, buf, sizeof buf);
  ASSERT_GT(n, 0);
  Decoder d;
  d.feed(buf, static_cast<size_t>(n));
  Frame f;
  ASSERT_EQ(d.next(f), Decoder::Result::kFrame);
  EXPECT_EQ(f.type, Type::kPing);
  EXPECT_EQ(f.payload, "hi");

  std::string answer;
  proto::append_frame(answer, Type::kPong, 0, 0, "hi");
  proto::append_frame(answer, Type::kData, 0, 7, "out");
  ASSERT_TRUE(proto::write_all(p.agent, answer));
  EXPECT_EQ(ch.fill(), AgentChannel::Read::kFrames);
  ASSERT_EQ(ch.next(f), Decoder::Result::kFrame);
  EXPECT_EQ(f.type, Type::kPong);
  ASSERT_EQ(ch.next(f), Decoder::Result::kFrame);
  EXPECT_EQ(f.stream, 7u);
  EXPECT_EQ(f.payload, "out");
  EXPECT_EQ(ch.next(f), Decoder::Result::kNeedMore);
  EXPECT_EQ(ch.fill(), AgentChannel::Read::kAgain);  // non-blocking: nothing more yet
}

TEST(AgentChannel, SaysWhyItWasLost) {
  Pair p;
  AgentChannel ch;
  ch.attach(p.ours);
  ::close(p.agent);
  p.agent = -1;
  EXPECT_EQ(ch.fill(), AgentChannel::Read::kLost);
  EXPECT_EQ(ch.why(), "closed");
  ch.close();
  EXPECT_FALSE(ch.connected());
}

TEST(AgentChannel, NamesAProtocolError) {
  Pair p;
  AgentChannel ch;
  ch.attach(p.ours);
  const std::string garbage(64, '\xff');
  ASSERT_TRUE(proto::write_all(p.agent, garbage));
  ASSERT_EQ(ch.fill(), AgentChannel::Read::kFrames);
  Frame f;
  ASSERT_EQ(ch.next(f), Decoder::Result::kError);
  EXPECT_EQ(ch.why().rfind("protocol error: ", 0), 0u) << ch.why();
}

}  // namespace
}  // namespace smolvm
