// Commands and files on one shared, really booted VM.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/vm_fixture.h"

namespace vmtest {
namespace {

namespace fs = std::filesystem;

class SharedVm : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { vm_ = create_and_start("shared"); }
  static void TearDownTestSuite() {
    if (vm_) {
      EXPECT_EQ(smolvm_vm_delete(vm_), 0) << smolvm_last_error();
      smolvm_vm_free(vm_);
    }
  }
  void SetUp() override { ASSERT_NE(vm_, nullptr) << "the shared VM did not start"; }
  static smolvm_vm* vm_;
};
smolvm_vm* SharedVm::vm_ = nullptr;

TEST_F(SharedVm, IsRunningUnderTheReportedAccelerator) {
  const smolvm_vm_info i = info(vm_);
  EXPECT_STREQ(i.state_name, "running");
  EXPECT_TRUE(std::string(i.accel) == "tcg" || std::string(i.accel) == "kvm") << i.accel;
  EXPECT_TRUE(pid_alive(i.supervisor_pid));
  EXPECT_TRUE(pid_alive(i.vmm_pid));
  EXPECT_GT(i.started_at_ms, 0);
}

TEST_F(SharedVm, ExitCodesAndOutputStreams) {
  Result r = run(vm_, "echo out; echo err >&2; exit 3");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(run(vm_, "true").exit_code, 0);
  EXPECT_EQ(run(vm_, "false").exit_code, 1);
}

TEST_F(SharedVm, ArgvIsNotReinterpretedByAShell) {
  Result r = exec_argv(vm_, {"printf", "%s|", "a b", "$HOME", "*"});
  EXPECT_EQ(r.out, "a b|$HOME|*|");
}

TEST_F(SharedVm, MissingProgramIs127WithAMessage) {
  Result r = exec_argv(vm_, {"/no/such/program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("/no/such/program"), std::string::npos) << r.err;
}

TEST_F(SharedVm, DeathBySignalIsReported) {
  Result r = run(vm_, "kill -9 $$");
  EXPECT_EQ(r.signal, 9);
  EXPECT_EQ(r.exit_code, 128 + 9);
}

TEST_F(SharedVm, TimeoutKillsTheWholeProcessGroup) {
  // A background grandchild must die with the command.
  Result r = run(vm_, "sleep 300 & echo $! > /tmp/bg.pid; sleep 300", 1000);
  EXPECT_EQ(r.timed_out, 1);
  EXPECT_EQ(r.signal, 9);
  EXPECT_LT(r.duration_us, 20u * 1000 * 1000);
  Result alive = run(vm_, "kill -0 $(cat /tmp/bg.pid) 2>/dev/null && echo alive || echo gone");
  EXPECT_EQ(alive.out, "gone\n");
}

TEST_F(SharedVm, EnvCwdAndStdin) {
  Result r = exec_argv(vm_, {"sh", "-c", "echo $FOO; pwd; cat"}, "from stdin", {"FOO=bar"}, "/tmp");
  EXPECT_EQ(r.out, "bar\n/tmp\nfrom stdin");
  EXPECT_EQ(run(vm_, "echo $PATH").out.find("/usr/bin") != std::string::npos, true);
}

TEST_F(SharedVm, BinaryOutputIsIntact) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  Result r = exec_argv(vm_, {"cat"}, all);
  EXPECT_EQ(r.out, all);
}

TEST_F(SharedVm, SixtyFourMiBOfOutputArrivesIntact) {
  Result r = run(vm_, "head -c 67108864 /dev/zero | tr '\\0' 'x'");
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(r.out.size(), 64u << 20);
  EXPECT_EQ(r.out.find_first_not_of('x'), std::string::npos);
  // And a checksum of varied data on both sides.
  Result sum = run(vm_, "head -c 8388608 /dev/urandom | tee /tmp/rand | md5sum | cut -c1-32");
  Result back = run(vm_, "cat /tmp/rand");
  ASSERT_EQ(back.out.size(), 8u << 20);
  char tmpl[] = "/tmp/svit-rand-XXXXXX";
  const int fd = mkstemp(tmpl);
  ASSERT_EQ(write(fd, back.out.data(), back.out.size()), static_cast<ssize_t>(back.out.size()));
  close(fd);
  std::string cmd = std::string("md5sum ") + tmpl + " | cut -c1-32";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[64] = {0};
  ASSERT_NE(fgets(buf, sizeof buf, p), nullptr);
  pclose(p);
  unlink(tmpl);
  EXPECT_EQ(std::string(buf), sum.out);
}

TEST_F(SharedVm, ManyConcurrentCommandsOnOneVm) {
  // Each thread opens its own handle (handles are single-threaded); all
  // multiplex onto the one agent channel.
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::vector<std::string> outs(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &outs] {
      smolvm_vm* h = nullptr;
      if (smolvm_vm_open(&h, runtime(), "shared") != 0) return;
      Result r = run(h, "sleep 0.5; echo " + std::to_string(t));
      outs[t] = r.out;
      smolvm_vm_free(h);
    });
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& th : threads) th.join();
  const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(outs[t], std::to_string(t) + "\n");
  EXPECT_LT(secs, kThreads * 0.5) << "commands ran one after another, not concurrently";
}

TEST_F(SharedVm, StreamingEventsArriveBeforeTheCommandEnds) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command = "echo first; sleep 1; echo second >&2";
  smolvm_exec* ex = nullptr;
  ASSERT_EQ(smolvm_exec_start(&ex, vm_, &o), 0) << smolvm_last_error();
  ASSERT_EQ(smolvm_exec_close_stdin(ex), 0);
  smolvm_exec_event ev;
  ASSERT_EQ(smolvm_exec_next_event(&ev, ex, 10000), 0) << smolvm_last_error();
  EXPECT_EQ(ev.type, SMOLVM_EVENT_STDOUT);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ev.data), ev.len), "first\n");
  // The command is still sleeping: a short wait times out.
  EXPECT_EQ(smolvm_exec_next_event(&ev, ex, 100), SMOLVM_ETIMEOUT);
  ASSERT_EQ(smolvm_exec_next_event(&ev, ex, 10000), 0);
  EXPECT_EQ(ev.type, SMOLVM_EVENT_STDERR);
  ASSERT_EQ(smolvm_exec_next_event(&ev, ex, 10000), 0);
  EXPECT_EQ(ev.type, SMOLVM_EVENT_EXIT);
  EXPECT_EQ(ev.exit_code, 0);
  EXPECT_EQ(smolvm_exec_next_event(&ev, ex, 0), SMOLVM_EDONE);
  smolvm_exec_free(ex);
}

TEST_F(SharedVm, KillSignalsTheCommand) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command = "trap 'echo got TERM; exit 7' TERM; echo ready; while true; do sleep 0.1; done";
  smolvm_exec* ex = nullptr;
  ASSERT_EQ(smolvm_exec_start(&ex, vm_, &o), 0);
  smolvm_exec_event ev;
  ASSERT_EQ(smolvm_exec_next_event(&ev, ex, 10000), 0);  // "ready"
  ASSERT_EQ(smolvm_exec_kill(ex, SIGTERM), 0);
  std::string out;
  int code = -1;
  while (smolvm_exec_next_event(&ev, ex, 10000) == 0) {
    if (ev.type == SMOLVM_EVENT_STDOUT) out.append(reinterpret_cast<const char*>(ev.data), ev.len);
    if (ev.type == SMOLVM_EVENT_EXIT) code = ev.exit_code;
  }
  EXPECT_EQ(out, "got TERM\n");
  EXPECT_EQ(code, 7);
  EXPECT_EQ(smolvm_exec_kill(ex, 0), SMOLVM_EINVAL);
  smolvm_exec_free(ex);
}

TEST_F(SharedVm, FileRoundTrip) {
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) % 251);
  ASSERT_EQ(smolvm_vm_write_file(vm_, "/tmp/deep/er/blob",
                                 reinterpret_cast<const uint8_t*>(data.data()), data.size(), 0600),
            0)
      << smolvm_last_error();
  EXPECT_EQ(run(vm_, "stat -c %a /tmp/deep/er/blob").out, "600\n");
  smolvm_buf buf{};
  ASSERT_EQ(smolvm_vm_read_file(&buf, vm_, "/tmp/deep/er/blob"), 0) << smolvm_last_error();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data), buf.size), data);
  smolvm_buf_dispose(&buf);
  EXPECT_EQ(smolvm_vm_read_file(&buf, vm_, "/no/such/file"), SMOLVM_ENOTFOUND);
  EXPECT_NE(std::string(smolvm_last_error()).find("/no/such/file"), std::string::npos);
  EXPECT_EQ(smolvm_vm_write_file(vm_, "relative/path", nullptr, 0, 0644), SMOLVM_EINVAL);
}

TEST_F(SharedVm, FolderRoundTrip) {
  const fs::path src = fs::path(state_dir()) / "src";
  fs::create_directories(src / "sub");
  std::ofstream(src / "a.txt") << "alpha";
  std::ofstream(src / "sub" / "b.bin") << std::string("\0\1\2", 3);
  ASSERT_EQ(smolvm_vm_put(vm_, src.c_str(), "/work/in"), 0) << smolvm_last_error();
  EXPECT_EQ(run(vm_, "cat /work/in/a.txt; wc -c < /work/in/sub/b.bin").out, "alpha3\n");
  run(vm_, "echo made-in-guest > /work/in/sub/c.txt");
  const fs::path dst = fs::path(state_dir()) / "dst";
  ASSERT_EQ(smolvm_vm_get(vm_, "/work/in", dst.c_str()), 0) << smolvm_last_error();
  std::ifstream a(dst / "a.txt"), c(dst / "sub" / "c.txt");
  std::string sa, sc;
  std::getline(a, sa);
  std::getline(c, sc);
  EXPECT_EQ(sa, "alpha");
  EXPECT_EQ(sc, "made-in-guest");
  EXPECT_EQ(fs::file_size(dst / "sub" / "b.bin"), 3u);
}

TEST_F(SharedVm, ReattachFromASecondProcess) {
  // The CLI is another process: it finds the VM by id in the store and
  // talks to the same supervisor.
  CliResult r = cli("run shared -- 'echo from another process; exit 5'");
  EXPECT_EQ(r.out, "from another process\n");
  EXPECT_EQ(r.status, 5);
  EXPECT_NE(cli("ls").out.find("shared"), std::string::npos);
  EXPECT_NE(cli("inspect shared").out.find("\"state\": \"running\""), std::string::npos);
}

TEST_F(SharedVm, AClientKilledMidCommandTakesItsCommandWithIt) {
  const pid_t child = fork();
  if (child == 0) {
    execl(SMOLVM_CLI, "smolvm", "run", "shared", "--", "echo $$ > /tmp/orphan.pid; sleep 300",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until the command runs, then kill -9 the client.
  std::string pid;
  for (int i = 0; i < 200 && pid.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    pid = run(vm_, "cat /tmp/orphan.pid 2>/dev/null").out;
  }
  ASSERT_FALSE(pid.empty());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  std::string state;
  for (int i = 0; i < 100; ++i) {
    state = run(vm_, "kill -0 " + pid.substr(0, pid.size() - 1) +
                         " 2>/dev/null && echo alive || echo gone")
                .out;
    if (state == "gone\n") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(state, "gone\n");
  EXPECT_STREQ(info(vm_).state_name, "running");  // the VM itself is unharmed
}

TEST_F(SharedVm, BadRequestsAreErrorsNotCrashes) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  smolvm_exec_result* r = nullptr;
  EXPECT_EQ(smolvm_vm_exec(&r, vm_, &o), SMOLVM_EINVAL);  // neither argv nor command
  const char* env[] = {"NOEQUALS"};
  o.command = "true";
  o.env = env;
  o.env_count = 1;
  EXPECT_EQ(smolvm_vm_exec(&r, vm_, &o), SMOLVM_EINVAL);
  EXPECT_NE(std::string(smolvm_last_error()).find("NOEQUALS"), std::string::npos);
  EXPECT_EQ(run(vm_, "echo still fine").out, "still fine\n");
}

}  // namespace
}  // namespace vmtest
