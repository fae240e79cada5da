#include "core/supervisor/agent_channel.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "protocol/fd_io.h"
#include "protocol/messages.h"

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

// A fake agent, because a replay cannot be caused on demand for real: a
// restored VM's agent sends what it had queued for the connection before
// the snapshot only when the snapshot caught it mid-write. It sends the
// rest of a cut frame, an EXIT and a HELLO_OK of that connection, then the
// answer to our HELLO and a frame of the new connection: only the last two
// come through.
TEST(AgentChannel, DropsEveryFrameOfAnEarlierConnection) {
  Pair p;
  AgentChannel ch;
  ch.attach(p.ours, 4242);
  EXPECT_TRUE(ch.handshaking());
  std::string replay;
  proto::append_frame(replay, Type::kStdout, 0, 3, std::string(100, 'x'));
  replay.erase(0, 30);  // the first 30 bytes went to the old connection
  proto::append_frame(replay, Type::kExit, proto::kFlagEnd, 1, R"({"exit_code":0})");
  proto::append_frame(replay, Type::kHelloOk, 0, 0,
                      proto::to_json(proto::HelloOk{proto::kVersion, "old", 1 << 20, 17}));
  proto::append_frame(replay, Type::kHelloOk, 0, 0,
                      proto::to_json(proto::HelloOk{proto::kVersion, "new", 1 << 20, 4242}));
  proto::append_frame(replay, Type::kExit, proto::kFlagEnd, 1, R"({"exit_code":5})");
  // Byte by byte, read as it comes: the header being looked for arrives in
  // pieces.
  std::vector<Frame> got;
  Frame f;
  for (const char c : replay) {
    ASSERT_TRUE(proto::write_all(p.agent, std::string(1, c)));
    while (ch.fill() == AgentChannel::Read::kFrames) {
      for (;;) {
        const auto res = ch.next(f);
        ASSERT_NE(res, Decoder::Result::kError) << ch.why();
        if (res == Decoder::Result::kNeedMore) break;
        got.push_back(f);
      }
    }
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, Type::kHelloOk);
  EXPECT_NE(got[0].payload.find("\"new\""), std::string::npos) << got[0].payload;
  EXPECT_EQ(got[1].type, Type::kExit);
  EXPECT_EQ(got[1].payload, R"({"exit_code":5})");
  EXPECT_FALSE(ch.handshaking());
  EXPECT_GE(ch.stale_frames(), 2u);
}

TEST(AgentChannel, LetsARefusedHelloThroughWhileHandshaking) {
  Pair p;
  AgentChannel ch;
  ch.attach(p.ours, 9);
  std::string answer;
  proto::append_frame(answer, Type::kError, 0, 0,
                      proto::to_json(proto::ErrorMsg{"EUNSUPPORTED", "version 3"}));
  ASSERT_TRUE(proto::write_all(p.agent, answer));
  ASSERT_EQ(ch.fill(), AgentChannel::Read::kFrames);
  Frame f;
  ASSERT_EQ(ch.next(f), Decoder::Result::kFrame);
  EXPECT_EQ(f.type, Type::kError);
  EXPECT_TRUE(ch.handshaking());
}

}  // namespace
}  // namespace smolvm
