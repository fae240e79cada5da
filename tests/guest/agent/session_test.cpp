// Connection-level behaviour of smolvm-agent: handshake, PING, SHUTDOWN,
// EOF, and the Unix socket mode.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "protocol/fd_io.h"
#include "tests/guest/agent/agent_client.h"

extern char** environ;

namespace smolvm::test {
namespace {

using proto::Type;

TEST(AgentSession, HelloOkCarriesVersionAgentAndMaxPayload) {
  AgentProcess agent;
  auto f = agent.hello();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, Type::kHelloOk);
  EXPECT_EQ(f->stream, 0u);
  proto::HelloOk ok;
  std::string err;
  ASSERT_TRUE(proto::parse(f->payload, ok, err)) << err;
  EXPECT_EQ(ok.version, proto::kVersion);
  EXPECT_EQ(ok.agent, "0.1.0");
  EXPECT_EQ(ok.max_payload, proto::kMaxPayload);
}

TEST(AgentSession, HelloOkEchoesTheChannelEpoch) {
  AgentProcess agent;
  agent.send(Type::kHello, 0, proto::to_json(proto::Hello{proto::kVersion, "", "test", 77}));
  auto f = agent.recv();
  ASSERT_TRUE(f);
  ASSERT_EQ(f->type, Type::kHelloOk);
  proto::HelloOk ok;
  std::string err;
  ASSERT_TRUE(proto::parse(f->payload, ok, err)) << err;
  EXPECT_EQ(ok.epoch, 77u);
}

// A version 1 peer (no stdin credit: it would flood a v2 agent) is refused,
// with a message naming both versions (docs/protocol.md).
TEST(AgentSession, VersionOneIsRefusedNamingBothVersions) {
  AgentProcess agent;
  auto f = agent.hello(1);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, Type::kError);
  proto::ErrorMsg m;
  std::string err;
  ASSERT_TRUE(proto::parse(f->payload, m, err)) << err;
  EXPECT_EQ(m.code, "EUNSUPPORTED");
  EXPECT_NE(m.message.find("version 1"), std::string::npos) << m.message;
  EXPECT_NE(m.message.find("version 2"), std::string::npos) << m.message;
  // Then the connection is closed: in stdio mode the agent exits non-zero.
  auto st = agent.wait_exit(5000);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) != 0);
}

TEST(AgentSession, FramesBeforeHelloAreRefused) {
  AgentProcess agent;
  agent.send(Type::kPing, 0, "x");
  auto f = agent.recv();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, Type::kError);
  EXPECT_NE(f->payload.find("HELLO"), std::string::npos) << f->payload;
  auto st = agent.wait_exit(5000);
  ASSERT_TRUE(st);
  EXPECT_NE(WEXITSTATUS(*st), 0);
}

TEST(AgentSession, PingIsAnsweredWithTheSameBytes) {
  AgentProcess agent;
  ASSERT_TRUE(agent.hello());
  std::string payload("\0\1\2 binary \xff", 13);
  agent.send(Type::kPing, 0, payload);
  auto f = agent.recv();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, Type::kPong);
  EXPECT_EQ(f->payload, payload);
  // An empty PING too.
  agent.send(Type::kPing, 0, "");
  f = agent.recv();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, Type::kPong);
  EXPECT_EQ(f->payload, "");
}

TEST(AgentSession, ASecondHelloStartsAfresh) {
  AgentProcess agent;
  ASSERT_TRUE(agent.hello());
  auto f = agent.hello();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, Type::kHelloOk);
}

// Reads "PID\n" from a command's first output.
pid_t read_pid(AgentProcess& agent, uint32_t stream) {
  std::string out;
  while (out.find('\n') == std::string::npos) {
    auto f = agent.recv();
    if (!f) return -1;
    if (f->stream == stream && f->type == Type::kStdout) out += f->payload;
  }
  return static_cast<pid_t>(std::stol(out));
}

TEST(AgentSession, EofKillsRunningCommandsAndExitsZero) {
  AgentProcess agent;
  ASSERT_TRUE(agent.hello());
  proto::ExecRequest req;
  req.shell = "echo $$; exec sleep 30";
  agent.send(Type::kExec, 1, proto::to_json(req));
  const pid_t pid = read_pid(agent, 1);
  ASSERT_GT(pid, 0);
  agent.close_channel();
  auto st = agent.wait_exit(5000);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 0);
  EXPECT_TRUE(wait_pid_gone(pid, 3000));
}

TEST(AgentSession, ShutdownKillsCommandsAndExits) {
  AgentProcess agent;
  ASSERT_TRUE(agent.hello());
  proto::ExecRequest req;
  req.shell = "echo $$; exec sleep 30";
  agent.send(Type::kExec, 1, proto::to_json(req));
  const pid_t pid = read_pid(agent, 1);
  ASSERT_GT(pid, 0);
  agent.send(Type::kShutdown, 0, "{}");
  auto st = agent.wait_exit(5000);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 0);
  EXPECT_TRUE(wait_pid_gone(pid, 3000));
}

TEST(AgentSession, SigtermKillsCommandsAndExits) {
  AgentProcess agent;
  ASSERT_TRUE(agent.hello());
  proto::ExecRequest req;
  req.shell = "echo $$; exec sleep 30";
  agent.send(Type::kExec, 1, proto::to_json(req));
  const pid_t pid = read_pid(agent, 1);
  ASSERT_GT(pid, 0);
  ::kill(agent.pid(), SIGTERM);
  auto st = agent.wait_exit(5000);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st));
  EXPECT_TRUE(wait_pid_gone(pid, 3000));
}

// The first line a shell command prints, and its wait status.
std::string first_line_of(const std::string& cmd, int& status) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return "";
  char buf[256] = {};
  const bool got = std::fgets(buf, sizeof buf, p) != nullptr;
  status = ::pclose(p);
  return got ? buf : "";
}

TEST(AgentSession, VersionAndHelpOptions) {
  int status = -1;
  EXPECT_EQ(first_line_of(std::string(agent_path()) + " --version", status),
            "smolvm-agent 0.1.0 (protocol 2)\n");
  EXPECT_EQ(status, 0);
  const std::string bad = std::string(agent_path()) + " --bogus 2>/dev/null";
  EXPECT_EQ(WEXITSTATUS(std::system(bad.c_str())), 2);
  const std::string help = std::string(agent_path()) + " --help >/dev/null";
  EXPECT_EQ(std::system(help.c_str()), 0);
}

// executor-ssh's modes, without touching this host's cgroup tree: a name
// that is not one folder is refused, and the command runs anyway (as it
// does in a guest without cgroup2); the kill then has no group to kill.
TEST(AgentSession, CgroupModesRefuseANameThatIsAPathAndStillRunTheCommand) {
  const std::string agent = agent_path();
  int status = -1;
  EXPECT_EQ(first_line_of(agent + " --in-cgroup ../x -- printf '%s|' 'a b' ok", status), "a b|ok|");
  EXPECT_EQ(status, 0);
  EXPECT_EQ(WEXITSTATUS(std::system((agent + " --in-cgroup ../x -- /no/such 2>/dev/null").c_str())),
            127);
  EXPECT_EQ(WEXITSTATUS(std::system((agent + " --in-cgroup x true 2>/dev/null").c_str())), 2);
  EXPECT_EQ(WEXITSTATUS(std::system((agent + " --kill-cgroup ../x 2>/dev/null").c_str())), 1);
}

int connect_unix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  for (int i = 0; i < 500; ++i) {
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::close(fd);
  return -1;
}

// Minimal blocking exchange for the Unix mode test.
std::optional<proto::Frame> exchange(int fd, proto::Type type, std::string_view payload) {
  std::string out;
  proto::append_frame(out, type, 0, 0, payload);
  if (!proto::write_all(fd, out)) return std::nullopt;
  proto::Decoder d;
  proto::Frame f;
  char buf[4096];
  for (;;) {
    if (d.next(f) == proto::Decoder::Result::kFrame) return f;
    const long n = proto::read_some(fd, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    d.feed(buf, static_cast<size_t>(n));
  }
}

TEST(AgentSession, UnixModeServesConnectionsOneAfterAnother) {
  TempDir dir;
  const std::string sock = dir.path() + "/agent.sock";
  std::string path = agent_path(), mode = "--unix";
  char* argv[] = {path.data(), mode.data(), const_cast<char*>(sock.c_str()), nullptr};
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv, environ), 0);
  const std::string hello = proto::to_json(proto::Hello{proto::kVersion, "", "t"});
  for (int round = 0; round < 2; ++round) {
    const int fd = connect_unix(sock);
    ASSERT_GE(fd, 0);
    auto f = exchange(fd, proto::Type::kHello, hello);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->type, proto::Type::kHelloOk);
    f = exchange(fd, proto::Type::kPing, "round" + std::to_string(round));
    ASSERT_TRUE(f);
    EXPECT_EQ(f->payload, "round" + std::to_string(round));
    if (round == 1) {
      std::string out;
      proto::append_frame(out, proto::Type::kShutdown, 0, 0, "{}");
      ASSERT_TRUE(proto::write_all(fd, out));
    }
    ::close(fd);
  }
  int st = 0;
  for (int i = 0; i < 500 && ::waitpid(pid, &st, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (::kill(pid, 0) == 0 && ::waitpid(pid, &st, WNOHANG) == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
    FAIL() << "agent did not exit after SHUTDOWN";
  }
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
  struct stat sst;
  EXPECT_NE(::stat(sock.c_str(), &sst), 0) << "socket file left behind";
}

}  // namespace
}  // namespace smolvm::test
