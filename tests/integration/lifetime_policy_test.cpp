// Lifetime policies of real VMs (QEMU), enforced by the supervisor with no
// client attached: an idle VM is paused and the next command resumes it
// with its files intact; a ttl counts running time only and then deletes
// or stops the VM; bad values are refused naming the field.
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/vm_fixture.h"

namespace vmtest {
namespace {

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

// Created and started by the CLI, a process that ends right away: nothing
// of this test holds a connection to the supervisor while the clocks run.
smolvm_vm* started_by_cli(const std::string& id, const std::string& flags) {
  const CliResult r = cli("create --id " + id + " --mem 256 " + flags + " --start");
  EXPECT_EQ(r.status, 0) << r.out;
  smolvm_vm* vm = nullptr;
  EXPECT_EQ(smolvm_vm_open(&vm, runtime(), id.c_str()), 0) << smolvm_last_error();
  return vm;
}

bool exists(const std::string& id) {
  smolvm_vm* vm = nullptr;
  const int rc = smolvm_vm_open(&vm, runtime(), id.c_str());
  smolvm_vm_free(vm);
  return rc != SMOLVM_ENOTFOUND;
}

TEST(LifetimePolicy, AnIdleVmIsPausedAndTheNextCommandResumesItWithItsFiles) {
  smolvm_vm* vm = started_by_cli("idle", "--idle-timeout 2");
  ASSERT_NE(vm, nullptr);
  ASSERT_EQ(run(vm, "echo kept > /root/f").exit_code, 0);
  // The idle clock starts when that command ends.
  auto t0 = Clock::now();
  EXPECT_EQ(wait_state_change(vm, "running", 15000), "paused");
  const int64_t paused_after = ms_since(t0);
  std::printf("[ figure ] idle 2 s: paused %lld ms after the last command ended\n",
              static_cast<long long>(paused_after));
  EXPECT_GE(paused_after, 1500);
  smolvm_vm_info i = info(vm);
  EXPECT_STREQ(i.paused_by, "idle");
  EXPECT_EQ(i.idle_timeout_s, 2u);
  EXPECT_STREQ(i.on_idle, "pause");
  EXPECT_NE(cli("ls").out.find("idle: paused"), std::string::npos) << cli("ls").out;

  // The next command wakes it: the file is there.
  t0 = Clock::now();
  const Result r = run(vm, "cat /root/f");
  std::printf("[ figure ] a command on the idle-paused VM answered in %lld ms\n",
              static_cast<long long>(ms_since(t0)));
  EXPECT_EQ(r.out, "kept\n") << r.err;
  EXPECT_STREQ(info(vm).state_name, "running");
  EXPECT_STREQ(info(vm).paused_by, "");

  // A command under way is not idleness, however long it takes.
  EXPECT_EQ(run(vm, "sleep 4; echo done").out, "done\n");
  EXPECT_STREQ(info(vm).state_name, "running");

  // A VM a client paused stays paused: commands are refused.
  EXPECT_EQ(wait_state_change(vm, "running", 15000), "paused");
  ASSERT_EQ(smolvm_vm_resume(vm), 0) << smolvm_last_error();
  ASSERT_EQ(smolvm_vm_pause(vm), 0) << smolvm_last_error();
  EXPECT_STREQ(info(vm).paused_by, "");
  EXPECT_EQ(run(vm, "true").rc, SMOLVM_ESTATE);
  EXPECT_NE(std::string(smolvm_last_error()).find("is paused: resume it first"), std::string::npos)
      << smolvm_last_error();
  EXPECT_EQ(smolvm_vm_delete(vm), 0) << smolvm_last_error();
  smolvm_vm_free(vm);
}

TEST(LifetimePolicy, TheTtlCountsRunningTimeOnlyThenTheVmIsDeleted) {
  smolvm_vm* vm = started_by_cli("ttl", "--ttl 4");
  ASSERT_NE(vm, nullptr);
  const smolvm_vm_info at_start = info(vm);
  const std::string vm_dir = at_start.state_dir;
  EXPECT_EQ(at_start.ttl_s, 4u);
  EXPECT_STREQ(at_start.on_ttl, "delete");
  EXPECT_GT(at_start.ttl_left_ms, 0);
  EXPECT_LE(at_start.ttl_left_ms, 4000);
  EXPECT_NE(cli("ls").out.find("(delete)"), std::string::npos) << cli("ls").out;

  // Paused, the ttl stands still.
  ASSERT_EQ(smolvm_vm_pause(vm), 0) << smolvm_last_error();
  const int64_t frozen = info(vm).ttl_left_ms;
  std::this_thread::sleep_for(std::chrono::seconds(5));
  EXPECT_EQ(info(vm).ttl_left_ms, frozen);
  EXPECT_TRUE(exists("ttl")) << "the ttl ran while the VM was paused";

  const auto resumed = Clock::now();
  ASSERT_EQ(smolvm_vm_resume(vm), 0) << smolvm_last_error();
  smolvm_vm_free(vm);
  // The row goes first, then the folder (as in `smolvm rm`): wait for both.
  while ((exists("ttl") || !files_in(vm_dir).empty()) && ms_since(resumed) < frozen + 15000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const int64_t gone_after = ms_since(resumed);
  std::printf("[ figure ] ttl 4 s with %lld ms left at the pause: deleted %lld ms after resume\n",
              static_cast<long long>(frozen), static_cast<long long>(gone_after));
  EXPECT_FALSE(exists("ttl"));
  EXPECT_GE(gone_after, frozen - 500);
  EXPECT_TRUE(files_in(vm_dir).empty()) << vm_dir << " is left";
}

TEST(LifetimePolicy, OnTtlStopStopsTheVmAndTheNextBootHasAFreshTtl) {
  smolvm_vm* vm = started_by_cli("ttlstop", "--ttl 2 --on-ttl stop");
  ASSERT_NE(vm, nullptr);
  std::string state = wait_state_change(vm, "running", 15000);
  if (state == "stopping") state = wait_state_change(vm, "stopping", 15000);
  EXPECT_EQ(state, "stopped");
  EXPECT_STREQ(info(vm).last_error, "");
  EXPECT_EQ(info(vm).ttl_left_ms, 2000);  // not running: the whole ttl
  ASSERT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
  EXPECT_GT(info(vm).ttl_left_ms, 0);
  EXPECT_TRUE(answers(vm));
  EXPECT_EQ(smolvm_vm_delete(vm), 0) << smolvm_last_error();
  smolvm_vm_free(vm);
}

TEST(LifetimePolicy, BadValuesAreRefusedNamingTheField) {
  struct Case {
    const char* flags;
    const char* says;
  };
  for (const Case& c :
       {Case{"--ttl 5x", "--ttl=5x: must be a whole number of seconds"},
        Case{"--idle-timeout 31d", "--idle-timeout=31d: must be"},
        Case{"--on-ttl pause", "on_ttl='pause': must be one of delete|stop"},
        Case{"--on-idle nap", "on_idle='nap': must be one of pause|stop|delete|hibernate"}}) {
    const CliResult r = cli(std::string("create --id bad ") + c.flags);
    EXPECT_NE(r.status, 0) << c.flags;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.flags << ": " << r.out;
    EXPECT_FALSE(exists("bad")) << c.flags;
  }
}

}  // namespace
}  // namespace vmtest
