// Hostile or broken input: the agent answers ERROR and never crashes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "tests/guest/agent/agent_client.h"

namespace smolvm::test {
namespace {

using proto::Type;

// Expects ERROR on stream with code, then (fatal) the agent's non-zero exit.
void expect_error(AgentProcess& agent, uint32_t stream, const std::string& code, bool fatal) {
  auto f = agent.recv();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, Type::kError) << f->payload;
  EXPECT_EQ(f->stream, stream);
  proto::ErrorMsg m;
  std::string err;
  ASSERT_TRUE(proto::parse(f->payload, m, err)) << err;
  EXPECT_EQ(m.code, code) << m.message;
  if (fatal) {
    auto st = agent.wait_exit(5000);
    ASSERT_TRUE(st) << "agent did not close after a framing error";
    EXPECT_TRUE(WIFEXITED(*st)) << "agent crashed: status " << *st;
    EXPECT_NE(WEXITSTATUS(*st), 0);
  } else {
    agent.send(Type::kPing, 0, "alive");
    f = agent.recv();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->type, Type::kPong);
  }
}

std::string header(uint32_t length, uint8_t type, uint8_t flags, uint16_t reserved,
                   uint32_t stream) {
  std::string h = proto::u32_le(length);
  h.push_back(static_cast<char>(type));
  h.push_back(static_cast<char>(flags));
  h.push_back(static_cast<char>(reserved & 0xff));
  h.push_back(static_cast<char>(reserved >> 8));
  h += proto::u32_le(stream);
  return h;
}

class AgentMalformed : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(agent.hello()); }
  AgentProcess agent;
};

TEST_F(AgentMalformed, GarbageBytes) {
  agent.send_raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  expect_error(agent, 0, "EPROTO", true);
}

TEST_F(AgentMalformed, OversizedLength) {
  agent.send_raw(header(8 + proto::kMaxPayload + 1, 0x31, 0, 0, 0));
  expect_error(agent, 0, "EPROTO", true);
}

TEST_F(AgentMalformed, UndersizedLength) {
  agent.send_raw(header(7, 0x31, 0, 0, 0) + "x");
  expect_error(agent, 0, "EPROTO", true);
}

TEST_F(AgentMalformed, UnknownType) {
  agent.send_raw(header(8, 0x99, 0, 0, 0));
  expect_error(agent, 0, "EPROTO", true);
}

TEST_F(AgentMalformed, ReservedBitsAndUnknownFlags) {
  agent.send_raw(header(8, 0x31, 0, 1, 0));
  expect_error(agent, 0, "EPROTO", true);
  AgentProcess other;
  ASSERT_TRUE(other.hello());
  other.send_raw(header(8, 0x31, 0x80, 0, 0));
  expect_error(other, 0, "EPROTO", true);
}

TEST_F(AgentMalformed, BadJsonExecIsAnErrorOnItsStream) {
  agent.send(Type::kExec, 5, "{not json");
  expect_error(agent, 5, "EINVAL", false);
  agent.send(Type::kExec, 6, "[1,2]");
  expect_error(agent, 6, "EINVAL", false);
  agent.send(Type::kExec, 7, R"({"argv":"ls"})");
  expect_error(agent, 7, "EINVAL", false);
  agent.send(Type::kExec, 8, R"({"argv":["ls"],"timeout_ms":-1})");
  expect_error(agent, 8, "EINVAL", false);
  agent.send(Type::kExec, 9, R"({"argv":["ls"],"env":["NOEQUALS"]})");
  expect_error(agent, 9, "EINVAL", false);
}

TEST_F(AgentMalformed, ExecWithNeitherArgvNorShell) {
  agent.send(Type::kExec, 3, "{}");
  auto f = agent.recv();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, Type::kError);
  EXPECT_EQ(f->stream, 3u);
  EXPECT_NE(f->payload.find("argv"), std::string::npos);
  EXPECT_NE(f->payload.find("shell"), std::string::npos);
}

TEST_F(AgentMalformed, ExecOnStreamZero) {
  agent.send(Type::kExec, 0, R"({"argv":["true"]})");
  expect_error(agent, 0, "EPROTO", false);
}

TEST_F(AgentMalformed, FramesTheAgentDoesNotAccept) {
  agent.send(Type::kStdout, 4, "x");
  expect_error(agent, 4, "EPROTO", false);
  agent.send(Type::kVmStop, 0, "{}");
  expect_error(agent, 0, "EPROTO", false);
}

TEST_F(AgentMalformed, DuplicateLiveStreamId) {
  proto::ExecRequest req;
  req.argv = {"sleep", "30"};
  agent.send(Type::kExec, 1, proto::to_json(req));
  agent.send(Type::kExec, 1, proto::to_json(req));
  expect_error(agent, 1, "EINVAL", false);
}

TEST_F(AgentMalformed, BadCreditAndSignalPayloads) {
  proto::ExecRequest req;
  req.argv = {"sleep", "30"};
  agent.send(Type::kExec, 1, proto::to_json(req));
  agent.send(Type::kCredit, 1, "abc");
  expect_error(agent, 1, "EINVAL", false);
  agent.send(Type::kExec, 2, proto::to_json(req));
  agent.send(Type::kSignal, 2, R"({"signal":0})");
  expect_error(agent, 2, "EINVAL", false);
}

TEST_F(AgentMalformed, TooManyStreamsIsEBUSY) {
  TempDir dir;
  // Open file writes are the cheapest streams to hold open.
  for (uint32_t i = 1; i <= 256; ++i) {
    agent.send(Type::kFileWrite, i,
               proto::to_json(proto::FileWrite{dir.path() + "/f" + std::to_string(i), 0644}));
  }
  agent.send(Type::kFileWrite, 257, proto::to_json(proto::FileWrite{dir.path() + "/x", 0644}));
  expect_error(agent, 257, "EBUSY", false);
}

TEST_F(AgentMalformed, SplitFramesByteByByte) {
  std::string frames;
  proto::append_frame(frames, Type::kPing, 0, 0, "one");
  proto::append_frame(frames, Type::kPing, 0, 0, "two");
  for (char c : frames) agent.send_raw(std::string_view(&c, 1));
  auto f = agent.recv();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "one");
  f = agent.recv();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "two");
}

TEST(AgentMalformedRandom, RandomValidlyFramedTrafficNeverCrashes) {
  // Well-framed but meaningless frames of every type: each gets an answer
  // or is ignored; the agent stays up.
  AgentProcess agent;
  ASSERT_TRUE(agent.hello());
  const std::string noise = random_bytes(64 * 1024, 99);
  size_t pos = 0;
  const uint8_t types[] = {0x03, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x20,
                           0x21, 0x22, 0x23, 0x31, 0x32, 0x40, 0x41};
  for (int i = 0; i < 400; ++i) {
    const auto r = static_cast<uint8_t>(noise[pos++ % noise.size()]);
    const uint8_t type = types[r % sizeof types];
    const uint32_t stream = 1000 + static_cast<uint8_t>(noise[pos++ % noise.size()]) % 8;
    const size_t len = static_cast<uint8_t>(noise[pos++ % noise.size()]) % 64;
    std::string payload = noise.substr(pos % (noise.size() - 64), len);
    // Requests that fail cleanly: no file is touched on the host.
    if (type == 0x20) payload = R"({"path":"relative/x"})";
    if (type == 0x21) payload = R"({"path":"/nonexistent-smolvm/x"})";
    agent.send(static_cast<Type>(type), stream, payload, r & 1);
  }
  agent.send(Type::kPing, 0, "end");
  for (;;) {
    auto f = agent.recv(10000);
    ASSERT_TRUE(f) << "agent died or stalled";
    if (f->type == Type::kPong && f->payload == "end") break;
  }
}

}  // namespace
}  // namespace smolvm::test
