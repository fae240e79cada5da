// A guest agent that breaks the protocol, drops the channel mid-command or
// never answers. Garbage and a dropped channel cannot be caused from inside
// a real guest (see fake_vmm.cpp), so those run the real supervisor against
// a fake VMM; "never answers at boot" is a real kernel whose init is a shell
// that never speaks.
#include <stdlib.h>

#include "tests/hardening/hardening.h"

namespace hardening {
namespace {

using vmtest::info;

// Runs the VM's VMM as tests/hardening/fake_vmm in `mode` for one test.
class FakeAgent : public ::testing::Test {
 protected:
  void use(const char* mode) {
    setenv("SMOLVM_QEMU", FAKE_VMM, 1);
    setenv("SMOLVM_FAKE_AGENT", mode, 1);
  }
  void TearDown() override {
    unsetenv("SMOLVM_QEMU");
    unsetenv("SMOLVM_FAKE_AGENT");
  }
  // The VM ends as failed by itself (the channel is useless), with nothing
  // left running, then deletes cleanly.
  void expect_failed_and_clean(smolvm_vm* vm, const std::string& why) {
    const smolvm_vm_info i = info(vm);
    const std::string dir = i.state_dir;
    const int64_t sup = i.supervisor_pid, vmm = i.vmm_pid;
    const int64_t t0 = now_ms();
    const std::string state = vmtest::wait_state_change(vm, "running", 10000);
    std::printf("%s: the VM became %s %lld ms later: %s\n", why.c_str(), state.c_str(),
                static_cast<long long>(now_ms() - t0), info(vm).last_error);
    EXPECT_EQ(state, "failed");
    EXPECT_NE(std::string(info(vm).last_error).find("agent channel was lost"), std::string::npos);
    EXPECT_TRUE(nothing_left(dir, sup, vmm, false));
    EXPECT_EQ(smolvm_vm_delete(vm), 0) << smolvm_last_error();
    EXPECT_TRUE(nothing_left(dir, sup, vmm, true));
    smolvm_vm_free(vm);
  }
};

TEST_F(FakeAgent, GarbageFramesFailTheCommandAndEndTheVm) {
  use("garbage");
  smolvm_vm* vm = make_vm("garbage", 1, true);
  ASSERT_NE(vm, nullptr);
  const vmtest::Result r = vmtest::run(vm, "echo hi", 5000);
  EXPECT_EQ(r.rc, SMOLVM_EIO) << r.err;
  EXPECT_NE(r.err.find("protocol error"), std::string::npos) << r.err;
  // A second command is refused at once rather than hanging.
  EXPECT_NE(vmtest::run(vm, "echo again", 5000).rc, 0);
  expect_failed_and_clean(vm, "garbage frames");
}

TEST_F(FakeAgent, TheChannelClosedMidCommandFailsTheStream) {
  use("close");
  smolvm_vm* vm = make_vm("closer", 1, true);
  ASSERT_NE(vm, nullptr);
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command = "echo hi";
  smolvm_exec* ex = nullptr;
  ASSERT_EQ(smolvm_exec_start(&ex, vm, &o), 0) << smolvm_last_error();
  smolvm_exec_event ev;
  ASSERT_EQ(smolvm_exec_next_event(&ev, ex, 5000), 0) << smolvm_last_error();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ev.data), ev.len), "partial output\n");
  const int rc = smolvm_exec_next_event(&ev, ex, 5000);
  EXPECT_EQ(rc, SMOLVM_EIO);
  EXPECT_NE(std::string(smolvm_last_error()).find("agent channel closed"), std::string::npos)
      << smolvm_last_error();
  smolvm_exec_free(ex);
  expect_failed_and_clean(vm, "channel closed mid-command");
}

// The channel reset once before the agent answered (the "Connection reset
// by peer" boot failure, 1 run in 50): the boot goes on over a new
// connection. A real guest cannot drop the host's end on demand.
TEST_F(FakeAgent, AChannelDroppedDuringBootIsConnectedAgain) {
  use("drop");
  smolvm_vm* vm = make_vm("dropper", 1, false);
  ASSERT_NE(vm, nullptr);
  ASSERT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
  EXPECT_STREQ(info(vm).state_name, "running");
  const std::string log = info(vm).state_dir + std::string("/supervisor.log");
  std::string text;
  sh("cat '" + log + "'", &text);
  EXPECT_NE(text.find("agent channel dropped during boot"), std::string::npos) << text;
  EXPECT_EQ(smolvm_vm_delete(vm), 0) << smolvm_last_error();
  smolvm_vm_free(vm);
}

TEST_F(FakeAgent, AnAgentSilentAtBootFailsStartWithinTheBootTimeout) {
  use("silent");
  smolvm_vm* vm = make_vm("silent", 1, false, nullptr, 2);
  ASSERT_NE(vm, nullptr);
  const int64_t t0 = now_ms();
  EXPECT_EQ(smolvm_vm_start(vm), SMOLVM_ETIMEOUT);
  const int64_t took = now_ms() - t0;
  std::printf("silent agent: start failed after %lld ms (boot_timeout_s=2)\n",
              static_cast<long long>(took));
  EXPECT_LT(took, 6000);
  const smolvm_vm_info i = info(vm);
  EXPECT_STREQ(i.state_name, "failed");
  EXPECT_TRUE(nothing_left(i.state_dir, 0, 0, false));
  EXPECT_EQ(smolvm_vm_delete(vm), 0);
  smolvm_vm_free(vm);
}

TEST(GuestFault, ARealGuestWhoseInitNeverAnswersFailsStartCleanly) {
  // The kernel takes the last init= on its command line: a shell reading
  // the (input-less) serial console, so no agent ever answers.
  smolvm_vm* vm = make_vm("mute", 1, false, "init=/bin/sh", 6);
  ASSERT_NE(vm, nullptr);
  const int64_t t0 = now_ms();
  EXPECT_EQ(smolvm_vm_start(vm), SMOLVM_ETIMEOUT) << smolvm_last_error();
  const int64_t took = now_ms() - t0;
  std::printf("mute guest: start failed after %lld ms (boot_timeout_s=6)\n",
              static_cast<long long>(took));
  EXPECT_LT(took, 12000);
  const smolvm_vm_info i = info(vm);
  EXPECT_STREQ(i.state_name, "failed");
  EXPECT_NE(std::string(i.last_error).find("did not answer within 6 s"), std::string::npos)
      << i.last_error;
  EXPECT_TRUE(nothing_left(i.state_dir, 0, 0, false));
  EXPECT_EQ(smolvm_vm_delete(vm), 0);
  smolvm_vm_free(vm);
}

}  // namespace
}  // namespace hardening
