// Commands that try to outlive their timeout or kill, a guest that floods its
// serial console while the host waits on it, and console output that tries
// to drive the user's terminal. One real VM ("cmdabuse", 1 vCPU) is shared
// by the tests of this suite, in order; the console flood comes last.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <thread>

#include "core/supervisor/console_log.h"
#include "tests/hardening/hardening.h"
#include "tests/support/escapers.h"

namespace hardening {
namespace {

using vmtest::info;
using vmtest::run;

using vmtest::escapers_left;
using vmtest::kEscapers;
using vmtest::kFindEscapers;

class CommandAbuse : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { vm_ = make_vm("cmdabuse", 1, true); }
  static void TearDownTestSuite() {
    if (!vm_) return;
    smolvm_vm_delete(vm_);
    smolvm_vm_free(vm_);
  }
  void SetUp() override {
    if (!vm_) GTEST_SKIP() << "the shared VM did not start";
  }

  // Command cgroups still in the guest (besides the one of the command that
  // counts them).
  static int cgroups_left() {
    return std::stoi(
               "0" +
               run(vm_, "find /sys/fs/cgroup/smolvm-exec -mindepth 1 -maxdepth 1 -type d | wc -l")
                   .out) -
           1;
  }

  static smolvm_vm* vm_;
};

smolvm_vm* CommandAbuse::vm_ = nullptr;

TEST_F(CommandAbuse, TimeoutKillsProcessesThatLeftTheProcessGroup) {
  const auto r = run(vm_, kEscapers, 3000);
  ASSERT_EQ(r.rc, 0) << smolvm_last_error();
  EXPECT_EQ(r.timed_out, 1);
  EXPECT_EQ(r.out, "started\n");
  EXPECT_EQ(escapers_left(vm_), 0) << run(vm_, "ps -eo pid,pgid,sid,args").out;
  // The group of the timed-out command is gone with its processes.
  EXPECT_EQ(cgroups_left(), 0) << run(vm_, "ls -l /sys/fs/cgroup/smolvm-exec").out;
}

TEST_F(CommandAbuse, KillReachesProcessesThatLeftTheProcessGroup) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command = kEscapers;
  smolvm_exec* raw_ex = nullptr;
  ASSERT_EQ(smolvm_exec_start(&raw_ex, vm_, &o), 0) << smolvm_last_error();
  // Freed (which kills the command) on every way out of the test.
  std::unique_ptr<smolvm_exec, void (*)(smolvm_exec*)> owner(raw_ex, smolvm_exec_free);
  smolvm_exec* ex = owner.get();
  smolvm_exec_event ev{};
  std::string out;
  while (out.find("started") == std::string::npos && smolvm_exec_next_event(&ev, ex, 20000) == 0 &&
         ev.type == SMOLVM_EVENT_STDOUT) {
    out.append(reinterpret_cast<const char*>(ev.data), ev.len);
  }
  ASSERT_EQ(out, "started\n");
  // The three sleeps, and the shells whose command lines name them.
  ASSERT_GE(std::stoi("0" + run(vm_, kFindEscapers).out), 3) << "the escapers did not start";
  ASSERT_EQ(smolvm_exec_kill(ex, SIGKILL), 0) << smolvm_last_error();
  int rc;
  while ((rc = smolvm_exec_next_event(&ev, ex, 20000)) == 0 && ev.type != SMOLVM_EVENT_EXIT) {
  }
  EXPECT_EQ(rc, 0) << smolvm_last_error();
  EXPECT_EQ(ev.signal, SIGKILL);
  owner.reset();
  EXPECT_EQ(escapers_left(vm_), 0) << run(vm_, "ps -eo pid,pgid,sid,args").out;
  EXPECT_EQ(cgroups_left(), 0);
}

TEST_F(CommandAbuse, BackgroundProcessesOfAFinishedCommandKeepRunningThenTheirGroupGoes) {
  // Not a timeout, not a kill: what a command leaves behind on a normal
  // exit is the user's business (a server started in the background).
  const auto r = run(vm_, "setsid sh -c 'sleep 1.5' >/dev/null 2>&1 < /dev/null & echo $!");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(std::stoi("0" + run(vm_, "pgrep -fc 'sleep 1[.]5'").out), 1);
  EXPECT_EQ(cgroups_left(), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(cgroups_left(), 0) << "an emptied group was not removed";
}

TEST_F(CommandAbuse, StringCommandsRunInTheLoginShellOrRawOnRequest) {
  const auto login = run(vm_,
                         "echo $((2**40)); [[ a == a ]] && echo yes; source /dev/null && "
                         "echo sourced; shopt -q login_shell && echo login");
  EXPECT_EQ(login.out, "1099511627776\nyes\nsourced\nlogin\n") << login.err;
  // The CLI's --shell raw: POSIX sh (dash in the default image).
  const auto raw = vmtest::cli(
      "run cmdabuse --shell raw -- "
      "'[ -n \"$BASH_VERSION\" ] && echo bash || echo posix'");
  EXPECT_EQ(raw.out, "posix\n");
  const auto dflt = vmtest::cli(
      "run cmdabuse -- "
      "'[ -n \"$BASH_VERSION\" ] && echo bash || echo posix'");
  EXPECT_EQ(dflt.out, "bash\n");
  const auto bad = vmtest::cli("run cmdabuse --shell zsh -- true");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.out.find("--shell zsh: must be login or raw"), std::string::npos) << bad.out;
}

TEST_F(CommandAbuse, LogsShowTerminalEscapesEscaped) {
  // OSC 52 (sets the clipboard of the user's terminal), a title, a clear.
  ASSERT_EQ(run(vm_,
                "printf 'osc52:\\033]52;c;cHduZWQ=\\007:\\033]0;owned\\007:\\033[2J\\n' "
                "> /dev/ttyS0")
                .exit_code,
            0);
  const auto logs = vmtest::cli("logs cmdabuse");
  EXPECT_EQ(logs.status, 0);
  EXPECT_NE(logs.out.find("osc52:\\x1b]52;c;cHduZWQ=\\x07:\\x1b]0;owned\\x07:\\x1b[2J"),
            std::string::npos)
      << logs.out;
  EXPECT_EQ(logs.out.find('\x1b'), std::string::npos) << "a raw ESC reached the terminal";
  const auto raw = vmtest::cli("logs --raw cmdabuse");
  EXPECT_NE(raw.out.find("osc52:\x1b]52;c;cHduZWQ=\x07"), std::string::npos);
}

// A guest that never answers (its QEMU stopped): a stream with a timeout
// still ends in time, with an exit the host makes up, through the C ABI and
// the CLI.
TEST_F(CommandAbuse, AStreamEndsInTimeWhenTheGuestNeverAnswers) {
  const auto vmm = static_cast<pid_t>(info(vm_).vmm_pid);
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command = "sleep 30";
  o.timeout_ms = 1000;
  ASSERT_EQ(::kill(vmm, SIGSTOP), 0);
  int64_t t0 = now_ms();
  smolvm_exec* raw_ex = nullptr;
  const int start_rc = smolvm_exec_start(&raw_ex, vm_, &o);
  std::unique_ptr<smolvm_exec, void (*)(smolvm_exec*)> ex(raw_ex, smolvm_exec_free);
  smolvm_exec_event ev{};
  int rc = start_rc;
  while (rc == 0 && (rc = smolvm_exec_next_event(&ev, ex.get(), -1)) == 0 &&
         ev.type != SMOLVM_EVENT_EXIT) {
  }
  const int64_t abi_ms = now_ms() - t0;
  smolvm_exec_event after{};
  const int after_rc = ex ? smolvm_exec_next_event(&after, ex.get(), 0) : 0;
  t0 = now_ms();
  const auto c = vmtest::cli("run cmdabuse -t 1 -- sleep 30");
  const int64_t cli_ms = now_ms() - t0;
  ::kill(vmm, SIGCONT);
  ex.reset();
  ASSERT_EQ(start_rc, 0) << smolvm_last_error();
  EXPECT_EQ(rc, 0) << smolvm_last_error();
  EXPECT_EQ(ev.type, SMOLVM_EVENT_EXIT);
  EXPECT_EQ(ev.timed_out, 1);
  EXPECT_EQ(ev.exit_code, 137);
  EXPECT_EQ(after_rc, SMOLVM_EDONE) << "the made-up exit is the last event";
  EXPECT_LE(abi_ms, 1000 + SMOLVM_EXEC_GRACE_MS + 300);
  EXPECT_EQ(c.status, 137) << c.out;
  EXPECT_LE(cli_ms, 1000 + SMOLVM_EXEC_GRACE_MS + 1000);
  std::printf(
      "frozen guest: a stream with timeout 1000 ms ended after %lld ms (C ABI), %lld ms "
      "(CLI)\n",
      static_cast<long long>(abi_ms), static_cast<long long>(cli_ms));
  EXPECT_TRUE(answers(vm_));  // thawed, it carries on
}

// A guest writing to its serial console as fast as it can: the host's
// deadlines still hold, and the console log stays bounded.
TEST_F(CommandAbuse, ConsoleFloodNeitherStretchesTimeoutsNorFillsTheDisk) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command =
      "while :; do echo floodfloodfloodfloodfloodfloodfloodfloodfloodflood; done "
      "> /dev/ttyS0";
  o.timeout_ms = 300000;
  smolvm_exec* raw_flood = nullptr;
  ASSERT_EQ(smolvm_exec_start(&raw_flood, vm_, &o), 0) << smolvm_last_error();
  std::unique_ptr<smolvm_exec, void (*)(smolvm_exec*)> flood(raw_flood, smolvm_exec_free);
  std::this_thread::sleep_for(std::chrono::seconds(2));

  constexpr int64_t kTimeoutMs = 5000;
  constexpr int64_t kBoundMs = kTimeoutMs + SMOLVM_EXEC_GRACE_MS;
  // C ABI, collected: a timed-out result, or ETIMEOUT when the guest did
  // not confirm in time; either way within the bound.
  int64_t t0 = now_ms();
  const auto r = run(vm_, "sleep 30", kTimeoutMs);
  const int64_t abi_ms = now_ms() - t0;
  EXPECT_TRUE((r.rc == 0 && r.timed_out == 1) || r.rc == SMOLVM_ETIMEOUT)
      << r.rc << " " << smolvm_last_error();
  EXPECT_LE(abi_ms, kBoundMs + 300);
  // CLI, streamed (plus the CLI's own start and connect).
  t0 = now_ms();
  const auto c = vmtest::cli("run cmdabuse -t 5 -- sleep 30");
  const int64_t cli_ms = now_ms() - t0;
  EXPECT_EQ(c.status, 137) << c.out;
  EXPECT_NE(c.out.find("timed out"), std::string::npos) << c.out;
  EXPECT_LE(cli_ms, kBoundMs + 1000);
  std::printf(
      "under a console flood: -t 5 returned after %lld ms (C ABI: rc %d timed_out %d), "
      "%lld ms (CLI: exit %d)\n",
      static_cast<long long>(abi_ms), r.rc, r.timed_out, static_cast<long long>(cli_ms), c.status);

  // Flood until the log has rotated at least once, then check its size.
  const std::string log = info(vm_).console_log;
  const std::string old = log + ".1";
  struct stat st {};
  for (int i = 0; i < 60 && ::stat(old.c_str(), &st) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_EQ(::stat(old.c_str(), &st), 0) << "the flood never filled one console log";
  flood.reset();  // kills it
  constexpr auto kCap = static_cast<off_t>(smolvm::kConsoleLogCap);
  EXPECT_EQ(st.st_size, kCap);
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  EXPECT_LE(st.st_size, kCap);
  std::printf("console log after the flood: %s.1 %lld bytes, %s %lld bytes\n", log.c_str(),
              static_cast<long long>(kCap), log.c_str(), static_cast<long long>(st.st_size));
  EXPECT_TRUE(answers(vm_));
}

}  // namespace
}  // namespace hardening
