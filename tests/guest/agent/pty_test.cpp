// EXEC "pty": the command on a terminal that is its controlling terminal,
// RESIZE and SIGWINCH, one output stream, job control in an interactive
// shell, and the refusals.
#include <gtest/gtest.h>

#include <chrono>

#include "tests/guest/agent/agent_client.h"

namespace smolvm::test {
namespace {

using proto::Type;
using Clock = std::chrono::steady_clock;

class AgentPty : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(agent.hello()); }
  AgentProcess agent;
};

proto::ExecRequest on_terminal(const std::string& cmd, uint32_t rows = 24, uint32_t cols = 80) {
  proto::ExecRequest r;
  r.shell = cmd;
  r.shell_mode = proto::kShellRaw;
  r.pty = proto::PtyRequest{{rows, cols}, "xterm-256color"};
  return r;
}

// Handles frames until the stream's output holds `text` (or it ends).
bool wait_for_output(Collector& c, uint32_t stream, const std::string& text, int timeout_ms) {
  const auto until = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (c[stream].out.find(text) == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0 || c[stream].ended() || !c.step(static_cast<int>(left))) return false;
  }
  return true;
}

TEST_F(AgentPty, TheCommandHasAControllingTerminalOfTheAskedSize) {
  auto r = run(agent,
               on_terminal("tty; stty size; echo TERM=$TERM; echo err >&2; "
                           "[ $(ps -o tpgid= -p $$) -eq $(ps -o pgid= -p $$) ] && echo foreground",
                           33, 121),
               1, std::nullopt);
  ASSERT_TRUE(r.exit) << (r.error ? r.error->message : "");
  EXPECT_EQ(r.exit->exit_code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("/dev/pts/", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("33 121\r\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TERM=xterm-256color\r\n"), std::string::npos) << r.out;
  // One stream: stderr is the terminal too.
  EXPECT_NE(r.out.find("err\r\n"), std::string::npos) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_NE(r.out.find("foreground"), std::string::npos) << r.out;
}

TEST_F(AgentPty, ResizeReachesTheProgramAsSigwinch) {
  Collector c(agent);
  c.track(1);
  agent.send(
      Type::kExec, 1,
      proto::to_json(on_terminal("trap 'echo winch $(stty size)' WINCH; echo ready; "
                                 "i=0; while [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done")));
  ASSERT_TRUE(wait_for_output(c, 1, "ready", 10000)) << c[1].out;
  agent.send(Type::kResize, 1, proto::to_json(proto::Resize{50, 132}));
  EXPECT_TRUE(wait_for_output(c, 1, "winch 50 132", 10000)) << c[1].out;
  agent.send(Type::kSignal, 1, proto::to_json(proto::SignalMsg{SIGKILL}));
  ASSERT_TRUE(c.wait_all(10000));
}

TEST_F(AgentPty, StdinIsTypedIntoTheTerminalAndJobControlWorks) {
  Collector c(agent);
  c.track(1);
  proto::ExecRequest req;
  req.argv = {"bash", "--norc", "--noprofile", "-i"};
  req.pty = proto::PtyRequest{{24, 80}, "dumb"};
  req.env = {"PS1=$ "};
  agent.send(Type::kExec, 1, proto::to_json(req));
  ASSERT_TRUE(send_stdin(agent, c, 1, "sleep 30 &\njobs\n", false));
  EXPECT_TRUE(wait_for_output(c, 1, "Running", 10000)) << c[1].out;
  ASSERT_TRUE(send_stdin(agent, c, 1, "kill %1; wait; exit 3\n", false));
  ASSERT_TRUE(c.wait_all(10000)) << c[1].out;
  ASSERT_TRUE(c[1].exit);
  EXPECT_EQ(c[1].exit->exit_code, 3) << c[1].out;
}

TEST_F(AgentPty, BadTerminalsAndResizesAreRefusedNamingTheField) {
  auto r = run(agent, on_terminal("true", 0, 80));
  ASSERT_TRUE(r.error);
  EXPECT_NE(r.error->message.find("pty: rows 0 must be 1..1000"), std::string::npos)
      << r.error->message;
  r = run(agent, on_terminal("true", 24, 1001), 2);
  ASSERT_TRUE(r.error);
  EXPECT_NE(r.error->message.find("cols 1001 must be 1..1000"), std::string::npos);
  auto bad_term = on_terminal("true");
  bad_term.pty->term = "x; rm -rf /";
  r = run(agent, bad_term, 3);
  ASSERT_TRUE(r.error);
  EXPECT_NE(r.error->message.find("term 'x; rm -rf /'"), std::string::npos) << r.error->message;

  // RESIZE on a command without a terminal ends it with an error.
  Collector c(agent);
  c.track(4);
  proto::ExecRequest plain;
  plain.argv = {"sleep", "30"};
  agent.send(Type::kExec, 4, proto::to_json(plain));
  agent.send(Type::kResize, 4, proto::to_json(proto::Resize{10, 10}));
  ASSERT_TRUE(c.wait_all(10000));
  ASSERT_TRUE(c[4].error);
  EXPECT_NE(c[4].error->message.find("without a terminal"), std::string::npos);
  c.track(5);
  agent.send(Type::kExec, 5, proto::to_json(on_terminal("sleep 30")));
  agent.send(Type::kResize, 5, R"({"rows":10})");
  ASSERT_TRUE(c.wait_all(10000));
  ASSERT_TRUE(c[5].error);
  EXPECT_NE(c[5].error->message.find("RESIZE: missing field 'cols'"), std::string::npos)
      << c[5].error->message;
}

}  // namespace
}  // namespace smolvm::test
