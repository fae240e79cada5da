// A real Firecracker VM booted through the C ABI with vmm="firecracker",
// from the same default image (vmlinux, rootfs.ext4) as the QEMU tests.
// Runs where a firecracker binary and hardware KVM exist; elsewhere every
// test is skipped and says why.
#include <gtest/gtest.h>
#include <signal.h>
#include <smolvm/smolvm.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "plugins/vmm-firecracker/fc_host.h"
#include "tests/support/vm_fixture.h"

namespace {

// Why this host cannot run the test (every reason at once), or "".
std::string skip_reason() {
  std::string reason = smolvm_fc::probe_host().reason;
  const std::string image = vmtest::cache_dir() + "/images/default";
  if (access((image + "/vmlinux").c_str(), R_OK) != 0 ||
      access((image + "/rootfs.ext4").c_str(), R_OK) != 0) {
    reason += (reason.empty() ? "" : "; ") + std::string("no default guest image in ") + image +
              " (run `smolvm image build`)";
  }
  return reason;
}

class FirecrackerBoot : public ::testing::Test {
 protected:
  // The state folder and runtime are the shared fixture's, made only when
  // the host can run the test.
  static void SetUpTestSuite() {
    reason_ = new std::string(skip_reason());
    if (reason_->empty() && !vmtest::runtime()) {
      *reason_ = std::string("runtime_open failed: ") + smolvm_last_error();
    }
  }
  static void TearDownTestSuite() { delete reason_; }
  void SetUp() override {
    if (!reason_->empty()) GTEST_SKIP() << "SKIPPED: " << *reason_;
  }

  smolvm_vm* boot(const char* id, const char* disk_mode) {
    smolvm_vm_options o;
    smolvm_vm_options_init(&o);
    o.vm_id = id;
    o.vmm = "firecracker";
    o.disk_mode = disk_mode;
    o.mem_size_mib = 256;
    o.boot_timeout_s = 60;
    smolvm_vm* vm = nullptr;
    EXPECT_EQ(smolvm_vm_create(&vm, vmtest::runtime(), &o), 0) << smolvm_last_error();
    if (vm) {
      EXPECT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
    }
    return vm;
  }

  static std::string run(smolvm_vm* vm, const char* command, int* exit_code) {
    const vmtest::Result r = vmtest::run(vm, command, 30000);
    if (r.rc != 0) ADD_FAILURE() << command << ": " << r.err;
    *exit_code = r.exit_code;
    return r.out;
  }

  static std::string* reason_;
};

std::string* FirecrackerBoot::reason_ = nullptr;

TEST_F(FirecrackerBoot, IsolatedDiskRunsCommandsAndKeepsWrites) {
  smolvm_vm* vm = boot("fc-iso", "isolated");
  ASSERT_NE(vm, nullptr);
  smolvm_vm_info info;
  smolvm_vm_info_init(&info);
  ASSERT_EQ(smolvm_vm_get_info(&info, vm), 0) << smolvm_last_error();
  EXPECT_STREQ(info.vmm, "firecracker");
  EXPECT_STREQ(info.accel, "kvm");
  const int64_t vmm_pid = info.vmm_pid;
  EXPECT_GT(vmm_pid, 0);

  int code = -1;
  EXPECT_EQ(run(vm, "echo hello from firecracker", &code), "hello from firecracker\n");
  EXPECT_EQ(code, 0);
  const std::string cmdline = run(vm, "cat /proc/cmdline", &code);
  EXPECT_NE(cmdline.find("smolvm.channel=vsock:1024"), std::string::npos) << cmdline;
  EXPECT_NE(cmdline.find("root=/dev/vda rw"), std::string::npos) << cmdline;
  run(vm, "echo kept > /root/fc-test && sync", &code);
  EXPECT_EQ(code, 0);

  // The disk survives a stop and start.
  ASSERT_EQ(smolvm_vm_stop(vm, 10000), 0) << smolvm_last_error();
  EXPECT_NE(kill(static_cast<pid_t>(vmm_pid), 0), 0) << "firecracker outlived the stop";
  ASSERT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
  EXPECT_EQ(run(vm, "cat /root/fc-test", &code), "kept\n");

  EXPECT_EQ(smolvm_vm_delete(vm), 0) << smolvm_last_error();
  smolvm_vm_free(vm);
}

TEST_F(FirecrackerBoot, SharedDiskIsReadOnlyWithWritableTmp) {
  smolvm_vm* vm = boot("fc-shared", "shared");
  ASSERT_NE(vm, nullptr);
  int code = -1;
  const std::string mounts = run(vm, "grep ' / ' /proc/mounts", &code);
  EXPECT_NE(mounts.find(" ro"), std::string::npos) << mounts;
  run(vm, "touch /root/x", &code);
  EXPECT_NE(code, 0);
  run(vm, "echo ok > /tmp/x && cat /tmp/x", &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(smolvm_vm_delete(vm), 0) << smolvm_last_error();
  smolvm_vm_free(vm);
}

}  // namespace
