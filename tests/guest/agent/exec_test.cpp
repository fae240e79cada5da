// EXEC streams: exit codes, signals, timeouts, stdin/stdout/stderr, flow
// control, environment, concurrency.
#include "guest/agent/exec.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "tests/guest/agent/agent_client.h"

namespace smolvm::test {
namespace {

using proto::Type;
using Clock = std::chrono::steady_clock;

class AgentExec : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(agent.hello()); }
  AgentProcess agent{{"SMOLVM_TEST_BASE=from-agent"}};
};

proto::ExecRequest argv_req(std::vector<std::string> argv) {
  proto::ExecRequest r;
  r.argv = std::move(argv);
  return r;
}

proto::ExecRequest shell_req(std::string cmd) {
  proto::ExecRequest r;
  r.shell = std::move(cmd);
  return r;
}

TEST_F(AgentExec, ExitCodeZeroAndNonZero) {
  auto r = run(agent, argv_req({"true"}), 1);
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->exit_code, 0);
  EXPECT_EQ(r.exit->signal, 0);
  EXPECT_FALSE(r.exit->timed_out);
  EXPECT_GT(r.exit->duration_us, 0u);
  r = run_shell(agent, "exit 3", 2);
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->exit_code, 3);
  EXPECT_EQ(r.exit->signal, 0);
}

TEST_F(AgentExec, SignalDeathIs128PlusSignal) {
  auto r = run_shell(agent, "kill -9 $$");
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->exit_code, 137);
  EXPECT_EQ(r.exit->signal, 9);
  EXPECT_FALSE(r.exit->timed_out);
}

TEST_F(AgentExec, TimeoutKillsTheWholeProcessGroup) {
  // The background sleep is a grandchild holding stdout open: the timeout
  // must kill it too, not only the shell. The timeout leaves the shell time
  // to print the grandchild's pid even on a loaded host (at 300 ms it
  // sometimes had not).
  auto req = shell_req("sleep 30 & echo $!; wait");
  req.timeout_ms = 1500;
  const auto t0 = Clock::now();
  auto r = run(agent, req);
  const auto elapsed = Clock::now() - t0;
  ASSERT_TRUE(r.exit);
  EXPECT_TRUE(r.exit->timed_out);
  EXPECT_EQ(r.exit->exit_code, 137);
  EXPECT_EQ(r.exit->signal, 9);
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  ASSERT_FALSE(r.out.empty());
  const pid_t grandchild = static_cast<pid_t>(std::stol(r.out));
  EXPECT_TRUE(wait_pid_gone(grandchild, 3000)) << "background pid " << grandchild << " survived";
}

TEST_F(AgentExec, BackgroundChildHoldingAPipeDoesNotHoldTheResult) {
  // Held to the background child, the result would come after 30 s; the
  // 10 s bound leaves a loaded machine room.
  const auto t0 = Clock::now();
  auto r = run_shell(agent, "sleep 30 & echo $!; echo done");
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->exit_code, 0);
  EXPECT_NE(r.out.find("done\n"), std::string::npos) << r.out;
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));
  if (!r.out.empty()) ::kill(static_cast<pid_t>(std::stol(r.out)), SIGKILL);
}

// A process left in the background keeps writing to the command's stdout
// after the command is done: the agent reads and drops it, so the writer
// is not killed by SIGPIPE (a server started with `&` logs each request).
TEST_F(AgentExec, ABackgroundProcessThatWritesLaterIsNotKilledBySigpipe) {
  TempDir dir;
  const std::string mark = dir / "alive";
  auto r = run_shell(agent,
                     "(sleep 0.3; for i in 1 2 3; do echo late $i; echo err >&2; done; "
                     "touch '" +
                         mark + "') & echo first");
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.out, "first\n");
  struct stat st {};
  bool alive = false;
  for (int i = 0; i < 100 && !alive; ++i) {
    usleep(20000);
    alive = ::stat(mark.c_str(), &st) == 0;
  }
  EXPECT_TRUE(alive) << "the background writer died before finishing";
  // The connection still works, and the pipes were let go at EOF.
  auto again = run_shell(agent, "echo again");
  ASSERT_TRUE(again.exit);
  EXPECT_EQ(again.out, "again\n");
}

TEST_F(AgentExec, StdinRoundTripThroughCat) {
  const std::string input = "hello\nworld\n" + random_bytes(100000, 7);
  auto r = run(agent, argv_req({"cat"}), 1, input);
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->exit_code, 0);
  EXPECT_EQ(r.out, input);
}

TEST_F(AgentExec, LargeStdinWhileReadingOutput) {
  // 8 MiB in and out at once with a small window: the agent must keep
  // reading STDIN and CREDIT frames while the command's output is paused.
  const std::string input = random_bytes(8 << 20, 11);
  auto req = argv_req({"cat"});
  req.window = 128 * 1024;
  auto r = run(agent, req, 1, input);
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->exit_code, 0);
  EXPECT_EQ(r.out.size(), input.size());
  EXPECT_TRUE(r.out == input);
}

TEST_F(AgentExec, StdinFloodWhileOutputWaitsForCreditDoesNotDeadlock) {
  // 40 MiB of input through a 64 KiB output window: cat stops on its window
  // again and again while input waits; the stdin credit that lets the
  // client go on comes only as cat reads, and the output credit only as the
  // client collects. Neither may wait for the other.
  const std::string input = random_bytes(40 << 20, 5);
  auto req = argv_req({"cat"});
  req.window = 64 * 1024;
  auto r = run(agent, req, 1, input, 60000);
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->exit_code, 0);
  EXPECT_EQ(r.out.size(), input.size());
  EXPECT_TRUE(r.out == input);
}

TEST_F(AgentExec, StdinBeyondItsCreditIsAProtocolErrorOnTheStream) {
  Collector c(agent);
  c.track(1);
  agent.send(Type::kExec, 1, proto::to_json(argv_req({"sleep", "30"})));
  agent.send(Type::kStdin, 1, std::string(proto::kStdinWindow, 'x'));
  agent.send(Type::kStdin, 1, "y");  // one byte past the credit
  ASSERT_TRUE(c.wait_all(10000));
  ASSERT_TRUE(c[1].error);
  EXPECT_EQ(c[1].error->code, "EPROTO");
  EXPECT_NE(c[1].error->message.find("stdin credit"), std::string::npos) << c[1].error->message;
  EXPECT_EQ(run_shell(agent, "echo fine", 2).out, "fine\n");
}

TEST_F(AgentExec, ACommandThatNeverReadsHoldsTheClientAtItsCredit) {
  Collector c(agent);
  c.track(1);
  agent.send(Type::kExec, 1, proto::to_json(argv_req({"sleep", "30"})));
  const std::string input(64 << 20, 'z');
  EXPECT_FALSE(send_stdin(agent, c, 1, input, true, 2000))
      << "64 MiB went to a command that sleeps";
  // The credit is what the agent holds plus what the pipe took: bounded.
  EXPECT_LE(c[1].stdin_credit, uint64_t{proto::kStdinWindow});
  const long hwm = status_kb(agent.pid(), "VmHWM");
  std::printf("command not reading: agent peak RSS %ld kB\n", hwm);
  EXPECT_LT(hwm, 32 * 1024) << "the agent buffered stdin nobody reads";
  agent.send(Type::kSignal, 1, proto::to_json(proto::SignalMsg{SIGKILL}));
  ASSERT_TRUE(c.wait_all(10000));
}

TEST_F(AgentExec, StdinACommandClosedIsDroppedAndItsCreditComesBack) {
  Collector c(agent);
  c.track(1);
  agent.send(Type::kExec, 1, proto::to_json(shell_req("exec 0<&-; sleep 3; echo after")));
  // 8 MiB, eight windows: only credit for bytes dropped lets it all go.
  EXPECT_TRUE(send_stdin(agent, c, 1, std::string(8 << 20, 'q'), true, 2500));
  ASSERT_TRUE(c.wait_all(10000));
  EXPECT_EQ(c[1].out, "after\n");
}

TEST_F(AgentExec, StdinWithoutEndKeepsCommandWaiting) {
  agent.send(Type::kExec, 1, proto::to_json(argv_req({"cat"})));
  agent.send(Type::kStdin, 1, "part1 ");
  Collector c(agent);
  c.track(1);
  // cat echoes what it got but does not end: stdin is still open.
  while (c[1].out.size() < 6 && c.step(5000)) {
  }
  EXPECT_EQ(c[1].out, "part1 ");
  EXPECT_FALSE(c.step(200));
  agent.send(Type::kStdin, 1, "part2", proto::kFlagEnd);
  ASSERT_TRUE(c.wait_all());
  EXPECT_EQ(c[1].out, "part1 part2");
  EXPECT_EQ(c[1].exit->exit_code, 0);
}

TEST_F(AgentExec, BinaryOutputKeepsAll256ByteValues) {
  std::string fmt, expected;
  for (int i = 0; i < 256; ++i) {
    char esc[8];
    std::snprintf(esc, sizeof esc, "\\%03o", i);
    fmt += esc;
    expected.push_back(static_cast<char>(i));
  }
  auto r = run(agent, argv_req({"printf", fmt}));
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->exit_code, 0);
  EXPECT_EQ(r.out.size(), 256u);
  EXPECT_TRUE(r.out == expected);
}

TEST_F(AgentExec, SixtyFourMiBOfStdoutWithCreditFlow) {
  TempDir dir;
  const std::string path = dir.path() + "/big";
  constexpr size_t kSize = 64u << 20;
  uint64_t want = fnv1a("");
  {
    std::ofstream f(path, std::ios::binary);
    for (size_t off = 0; off < kSize; off += 1 << 20) {
      const std::string chunk = random_bytes(1 << 20, off);
      want = fnv1a(chunk, want);
      f.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
  }
  auto req = argv_req({"cat", path});
  req.window = 256 * 1024;  // many credit round trips
  agent.send(Type::kExec, 1, proto::to_json(req));
  agent.send(Type::kStdin, 1, "", proto::kFlagEnd);
  // Hash as it arrives instead of keeping 64 MiB.
  uint64_t got = fnv1a("");
  uint64_t size = 0, granted = req.window, uncredited = 0;
  std::optional<proto::ExitStatus> exit;
  const auto t0 = Clock::now();
  while (!exit) {
    auto f = agent.recv(20000);
    ASSERT_TRUE(f) << "stalled after " << size << " bytes";
    ASSERT_EQ(f->stream, 1u);
    if (f->type == Type::kStdout) {
      got = fnv1a(f->payload, got);
      size += f->payload.size();
      uncredited += f->payload.size();
      ASSERT_LE(size, granted) << "window overrun";
      ASSERT_LE(f->payload.size(), smolvm::agent::kOutputFrame) << "frames are split at 256 KiB";
      if (uncredited >= 64 * 1024) {
        agent.send_credit(1, static_cast<uint32_t>(uncredited));
        granted += uncredited;
        uncredited = 0;
      }
    } else if (f->type == Type::kExit) {
      std::string err;
      proto::ExitStatus st;
      ASSERT_TRUE(proto::parse(f->payload, st, err)) << err;
      exit = st;
    } else {
      FAIL() << "unexpected " << proto::type_name(f->type) << ": " << f->payload;
    }
  }
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_EQ(size, kSize);
  EXPECT_EQ(got, want);
  std::printf(
      "64 MiB through the agent in %lld ms\n",
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count()));
}

TEST_F(AgentExec, WindowStopsOutputUntilCredit) {
  auto req = shell_req("head -c 300000 /dev/zero");
  req.window = 100000;
  agent.send(Type::kExec, 1, proto::to_json(req));
  agent.send(Type::kStdin, 1, "", proto::kFlagEnd);
  Collector c(agent);
  c.track(1, req.window, /*auto_credit=*/false);
  while (c[1].received < 100000 && c.step(5000)) {
  }
  EXPECT_EQ(c[1].received, 100000u);
  EXPECT_FALSE(c.step(300)) << "agent sent beyond the window";
  agent.send_credit(1, 250000);
  c[1].granted += 250000;
  ASSERT_TRUE(c.wait_all());
  EXPECT_EQ(c[1].out.size(), 300000u);
  EXPECT_EQ(c[1].exit->exit_code, 0);
}

TEST_F(AgentExec, OutputWaitingForCreditSurvivesTheDrainLimit) {
  // 50000 bytes fit in the pipe, so the command exits at once while most of
  // its output still waits for credit; that output must not be cut off by
  // the 100 ms drain limit.
  auto req = shell_req("head -c 50000 /dev/zero");
  req.window = 1000;
  agent.send(Type::kExec, 1, proto::to_json(req));
  agent.send(Type::kStdin, 1, "", proto::kFlagEnd);
  Collector c(agent);
  c.track(1, req.window, /*auto_credit=*/false);
  while (c[1].received < 1000 && c.step(5000)) {
  }
  EXPECT_FALSE(c.step(400)) << "no EXIT while output is pending";
  agent.send_credit(1, 49000);
  c[1].granted += 49000;
  ASSERT_TRUE(c.wait_all());
  EXPECT_EQ(c[1].out.size(), 50000u);
  EXPECT_EQ(c[1].exit->exit_code, 0);
}

TEST_F(AgentExec, RequestEnvironmentWinsOverTheLoginProfile) {
  // /etc/profile sets PATH (Debian's does, here and in the image); what the
  // request asked for is restored after it, and the saved copies are gone.
  auto req = shell_req("echo \"$PATH|$FOO\"; env | grep -c ^SMOLVM_SAVED_");
  req.env = {"PATH=/opt/x:/usr/bin:/bin", "FOO=it's \"quoted\" $HOME"};
  auto r = run(agent, req);
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.out, "/opt/x:/usr/bin:/bin|it's \"quoted\" $HOME\n0\n") << r.err;
  req.shell_mode = proto::kShellRaw;
  r = run(agent, req, 2);
  EXPECT_EQ(r.out, "/opt/x:/usr/bin:/bin|it's \"quoted\" $HOME\n0\n") << r.err;
}

TEST_F(AgentExec, StdoutAndStderrAreSeparate) {
  auto r = run_shell(agent, "echo out1; echo err1 >&2; echo out2; echo err2 >&2");
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.out, "out1\nout2\n");
  EXPECT_EQ(r.err, "err1\nerr2\n");
}

TEST_F(AgentExec, EnvironmentAndWorkingDirectory) {
  TempDir dir;
  auto req = shell_req("echo \"$FOO|$HOME|$SMOLVM_TEST_BASE|$(pwd)\"");
  req.env = {"FOO=bar baz", "HOME=/nowhere"};
  req.cwd = dir.path();
  auto r = run(agent, req);
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->exit_code, 0);
  char real[4096];
  ASSERT_NE(::realpath(dir.path().c_str(), real), nullptr);
  EXPECT_EQ(r.out, "bar baz|/nowhere|from-agent|" + std::string(real) + "\n");
  // Without cwd, commands start in /.
  r = run(agent, argv_req({"pwd"}), 2);
  EXPECT_EQ(r.out, "/\n");
}

TEST_F(AgentExec, PathOverrideIsUsedToFindTheCommand) {
  TempDir dir;
  const std::string script = dir.path() + "/smolvm-test-cmd";
  {
    std::ofstream f(script);
    f << "#!/bin/sh\necho found-by-path\n";
  }
  ::chmod(script.c_str(), 0755);
  auto req = argv_req({"smolvm-test-cmd"});
  req.env = {"PATH=" + dir.path() + ":/usr/bin:/bin"};
  auto r = run(agent, req);
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->exit_code, 0);
  EXPECT_EQ(r.out, "found-by-path\n");
}

TEST_F(AgentExec, MissingBinaryIs127WithAMessage) {
  auto r = run(agent, argv_req({"smolvm-no-such-binary", "arg"}));
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->exit_code, 127);
  EXPECT_EQ(r.exit->signal, 0);
  EXPECT_EQ(r.err, "smolvm-agent: exec 'smolvm-no-such-binary': No such file or directory\n");
  r = run(agent, argv_req({"/nonexistent/bin/tool"}), 2);
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->exit_code, 127);
}

TEST_F(AgentExec, NonExecutableFileIs126) {
  TempDir dir;
  const std::string file = dir.path() + "/not-exec";
  std::ofstream(file) << "echo hi\n";
  ::chmod(file.c_str(), 0644);
  auto r = run(agent, argv_req({file}));
  ASSERT_TRUE(r.exit);
  if (::geteuid() == 0 && ::access(file.c_str(), X_OK) == 0) GTEST_SKIP() << "root can exec it";
  EXPECT_EQ(r.exit->exit_code, 126);
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
}

TEST_F(AgentExec, MissingWorkingDirectoryIsReported) {
  auto req = argv_req({"true"});
  req.cwd = "/nonexistent-smolvm-dir";
  auto r = run(agent, req);
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->exit_code, 127);
  EXPECT_NE(r.err.find("chdir '/nonexistent-smolvm-dir'"), std::string::npos) << r.err;
}

TEST_F(AgentExec, EightConcurrentCommandsOnOneConnection) {
  // Each command checks in, then waits (up to 20 s) until all eight have:
  // run one after another, the first would wait alone and exit 99. No
  // timing is asserted, so a loaded machine cannot fail it. /bin/sh, not the
  // login shell: eight login shells starting at once on the host may print
  // their profile's complaints (pyenv's rehash lock) on stderr.
  TempDir dir;
  Collector c(agent);
  for (uint32_t i = 1; i <= 8; ++i) {
    const std::string n = std::to_string(i);
    c.track(i);
    agent.send(
        Type::kExec, i,
        proto::to_json(argv_req({"/bin/sh", "-c",
                                 "cd '" + dir.path() + "' && touch in" + n +
                                     "; t=0; while [ $(ls | wc -l) -lt 8 ]; do t=$((t+1)); "
                                     "[ $t -ge 400 ] && exit 99; sleep 0.05; done; echo stream" +
                                     n + "; echo e" + n + " >&2; exit " + n})));
  }
  ASSERT_TRUE(c.wait_all(60000));
  for (uint32_t i = 1; i <= 8; ++i) {
    EXPECT_EQ(c[i].out, "stream" + std::to_string(i) + "\n");
    EXPECT_EQ(c[i].err, "e" + std::to_string(i) + "\n");
    ASSERT_TRUE(c[i].exit);
    EXPECT_EQ(c[i].exit->exit_code, static_cast<int>(i)) << "99: it never saw the others running";
  }
}

TEST_F(AgentExec, SignalFrameReachesTheCommand) {
  agent.send(Type::kExec, 1, proto::to_json(argv_req({"sleep", "30"})));
  agent.send(Type::kSignal, 1, proto::to_json(proto::SignalMsg{15}));
  Collector c(agent);
  c.track(1);
  ASSERT_TRUE(c.wait_all(5000));
  ASSERT_TRUE(c[1].exit);
  EXPECT_EQ(c[1].exit->exit_code, 143);
  EXPECT_EQ(c[1].exit->signal, 15);
  EXPECT_FALSE(c[1].exit->timed_out);
}

TEST_F(AgentExec, SignalReachesTheWholeGroup) {
  // The shell traps TERM and reports it, proving the group was signalled
  // (not just the leader).
  agent.send(Type::kExec, 1,
             proto::to_json(shell_req("trap 'echo got-term; exit 5' TERM; echo ready; "
                                      "sleep 30 & wait")));
  Collector c(agent);
  c.track(1);
  while (c[1].out.find("ready") == std::string::npos && c.step(5000)) {
  }
  agent.send(Type::kSignal, 1, proto::to_json(proto::SignalMsg{15}));
  ASSERT_TRUE(c.wait_all(5000));
  EXPECT_EQ(c[1].out, "ready\ngot-term\n");
  EXPECT_EQ(c[1].exit->exit_code, 5);
}

TEST_F(AgentExec, FramesForAFinishedStreamAreIgnored) {
  auto r = run(agent, argv_req({"true"}), 1);
  ASSERT_TRUE(r.exit);
  // Late STDIN, CREDIT and SIGNAL (sent before the client saw EXIT).
  agent.send(Type::kStdin, 1, "late");
  agent.send_credit(1, 100);
  agent.send(Type::kSignal, 1, proto::to_json(proto::SignalMsg{9}));
  agent.send(Type::kPing, 0, "still-here");
  auto f = agent.recv();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, Type::kPong);
  // The id can be used again.
  r = run(agent, argv_req({"echo", "again"}), 1);
  EXPECT_EQ(r.out, "again\n");
}

TEST_F(AgentExec, ClientErrorOnAStreamKillsTheCommand) {
  agent.send(Type::kExec, 1, proto::to_json(shell_req("echo $$; exec sleep 30")));
  std::string out;
  while (out.find('\n') == std::string::npos) {
    auto f = agent.recv();
    ASSERT_TRUE(f);
    out += f->payload;
  }
  const pid_t pid = static_cast<pid_t>(std::stol(out));
  agent.send(Type::kError, 1, proto::to_json(proto::ErrorMsg{"EIO", "client gave up"}));
  EXPECT_TRUE(wait_pid_gone(pid, 3000));
  // Nothing more is sent on the stream.
  agent.send(Type::kPing, 0, "p");
  auto f = agent.recv();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, Type::kPong);
}

TEST_F(AgentExec, CommandsDoNotInheritAgentFds) {
  // fd 3 and above would be the agent's channel, signalfd or other pipes.
  auto r = run_shell(agent, "ls /proc/self/fd | sort -n | tr '\\n' ' '");
  ASSERT_TRUE(r.exit);
  // ls's own directory fd shows up as 3.
  EXPECT_EQ(r.out, "0 1 2 3 ");
}

}  // namespace
}  // namespace smolvm::test
