// QEMU runs as a uid of its own, one per running VM (core/supervisor/
// vmm_user.h), holding only descriptors to its files. Checked on two real
// VMs, and by doing, as that uid, what a guest that escaped into QEMU would
// try next.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "tests/hardening/hardening.h"

namespace hardening {
namespace {

using vmtest::info;

nlohmann::json vmm_user(smolvm_vm* vm) {
  return nlohmann::json::parse(info(vm).limits).value("vmm_user", nlohmann::json::object());
}

// Runs `command` as uid (gid = uid, no supplementary groups): an escaped
// QEMU's view of the host.
int as_user(uint32_t uid, const std::string& command, std::string* out) {
  const std::string id = std::to_string(uid);
  return sh("setpriv --reuid=" + id + " --regid=" + id + " --clear-groups -- sh -c '" + command +
                "' 2>&1",
            out);
}

class VmmUser : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    a_ = make_vm("uid-a", 1, true);
    b_ = make_vm("uid-b", 1, true);
  }
  static void TearDownTestSuite() {
    for (smolvm_vm* vm : {a_, b_}) {
      if (!vm) continue;
      smolvm_vm_delete(vm);
      smolvm_vm_free(vm);
    }
  }
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root: only a root supervisor can give QEMU a uid of its own "
                      "(run by a user, QEMU runs as that user)";
    }
    if (!a_ || !b_) GTEST_SKIP() << "the shared VMs did not start";
  }
  static smolvm_vm* a_;
  static smolvm_vm* b_;
};

smolvm_vm* VmmUser::a_ = nullptr;
smolvm_vm* VmmUser::b_ = nullptr;

TEST_F(VmmUser, EachQemuRunsAsAUidOfItsOwnAndHoldsNothingElse) {
  const auto ua = vmm_user(a_), ub = vmm_user(b_);
  ASSERT_TRUE(ua.contains("uid")) << ua.dump();
  ASSERT_TRUE(ub.contains("uid")) << ub.dump();
  EXPECT_EQ(ua.value("unique", false), true);
  EXPECT_NE(ua["uid"], 0);
  EXPECT_NE(ua["uid"], ub["uid"]);
  for (smolvm_vm* vm : {a_, b_}) {
    const smolvm_vm_info i = info(vm);
    const std::string id = vmm_user(vm)["uid"].dump();
    // real, effective, saved and file-system ids all switched
    EXPECT_EQ(status_field(i.vmm_pid, "Uid"), id + "\t" + id + "\t" + id + "\t" + id);
    EXPECT_EQ(status_field(i.vmm_pid, "Gid"), id + "\t" + id + "\t" + id + "\t" + id);
    EXPECT_EQ(status_field(i.vmm_pid, "Groups"), "");
    for (const char* caps : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
      EXPECT_EQ(status_field(i.vmm_pid, caps), "0000000000000000") << caps;
    }
    EXPECT_EQ(status_field(i.vmm_pid, "NoNewPrivs"), "1");
    EXPECT_EQ(status_field(i.vmm_pid, "Seccomp"), "2");
  }
  // And the VM works: its disk, console and agent reached QEMU as
  // descriptors.
  EXPECT_TRUE(answers(a_));
  const vmtest::Result w = vmtest::run(a_, "echo persisted > /root/f && sync && cat /root/f");
  EXPECT_EQ(w.out, "persisted\n");
}

TEST_F(VmmUser, TheQemuUserCannotReachTheVmsFilesOrTheOtherVm) {
  const uint32_t uid = vmm_user(a_)["uid"];
  // Copies: an info's strings live until the handle's next info call.
  const smolvm_vm_info a = info(a_), b = info(b_);
  const std::string own = a.state_dir, other = b.state_dir;
  std::string out;
  // Control: as this uid, A's own QEMU can be signalled. So the refusals
  // below are about ownership, not a broken setpriv.
  ASSERT_EQ(as_user(uid, "kill -0 " + std::to_string(a.vmm_pid), &out), 0) << out;
  for (const std::string& path :
       {own + "/disk.qcow2", own + "/supervisor.sock", own + "/console.log", other + "/disk.qcow2",
        vmtest::state_dir() + "/smolvm.db"}) {
    out.clear();
    EXPECT_NE(as_user(uid, "cat " + path + " >/dev/null", &out), 0) << path;
    EXPECT_NE(out.find("Permission denied"), std::string::npos) << path << ": " << out;
  }
  out.clear();
  EXPECT_NE(as_user(uid, "kill -0 " + std::to_string(b.vmm_pid), &out), 0);
  EXPECT_NE(out.find("not permitted"), std::string::npos) << out;
  out.clear();
  EXPECT_NE(as_user(uid, "kill -0 " + std::to_string(a.supervisor_pid), &out), 0);
  EXPECT_NE(out.find("not permitted"), std::string::npos) << out;
}

// Last: it ends VM B.
TEST_F(VmmUser, AKilledSupervisorTakesItsQemuAndFreesTheUid) {
  const smolvm_vm_info b = info(b_);
  const uint32_t uid = vmm_user(b_)["uid"];
  ASSERT_EQ(kill(static_cast<pid_t>(b.supervisor_pid), SIGKILL), 0);
  const int64_t t0 = now_ms();
  while (vmtest::pid_alive(b.vmm_pid) && now_ms() - t0 < 5000) usleep(10000);
  EXPECT_FALSE(vmtest::pid_alive(b.vmm_pid)) << "QEMU outlived its supervisor";
  std::printf("QEMU (uid %u) gone %lld ms after its supervisor's kill -9\n", uid,
              static_cast<long long>(now_ms() - t0));
  // The uid is free again once the supervisor is gone. Gone means all of
  // it: its leader shows as a zombie while its other threads (and with them
  // its files and the lock) are still being torn down, so the lock is
  // polled; a lock leaked to a surviving process would never come free.
  while (vmtest::pid_alive(b.supervisor_pid) && now_ms() - t0 < 5000) usleep(1000);
  ASSERT_FALSE(vmtest::pid_alive(b.supervisor_pid)) << "the supervisor survived kill -9";
  const std::string lock = "/run/smolvm/vmm-uids/" + std::to_string(uid) + ".lock";
  const int fd = open(lock.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << lock;
  const int64_t dead = now_ms();
  bool taken = false;
  while (!(taken = flock(fd, LOCK_EX | LOCK_NB) == 0) && now_ms() - dead < 5000) usleep(1000);
  EXPECT_TRUE(taken) << "uid " << uid << " is still held 5 s after its supervisor died";
  std::printf("uid %u free %lld ms after its supervisor was seen gone\n", uid,
              static_cast<long long>(now_ms() - dead));
  close(fd);
}

TEST(VmmUserSetting, OffKeepsTheCallersUserAndABadBaseIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (see VmmUser)";
  setenv("SMOLVM_VMM_UID_BASE", "12x", 1);
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.vm_id = "uid-bad";
  o.mem_size_mib = 256;
  o.vcpu_count = 1;
  smolvm_vm* bad = nullptr;
  ASSERT_EQ(smolvm_vm_create(&bad, vmtest::runtime(), &o), 0) << smolvm_last_error();
  EXPECT_NE(smolvm_vm_start(bad), 0);
  EXPECT_NE(
      std::string(smolvm_last_error()).find("SMOLVM_VMM_UID_BASE='12x': must be off or a uid"),
      std::string::npos)
      << smolvm_last_error();
  EXPECT_EQ(smolvm_vm_delete(bad), 0);
  smolvm_vm_free(bad);

  setenv("SMOLVM_VMM_UID_BASE", "off", 1);
  smolvm_vm* off = make_vm("uid-off", 1, true);
  const auto doctor_off = nlohmann::json::parse(vmtest::cli("doctor --json").out, nullptr, false);
  unsetenv("SMOLVM_VMM_UID_BASE");
  const auto doctor = nlohmann::json::parse(vmtest::cli("doctor --json").out, nullptr, false);
  // doctor tells, without starting anything, what a VM would get here.
  EXPECT_EQ(doctor["vmm_user"]["own_uid"], true) << doctor.dump();
  EXPECT_EQ(doctor_off["vmm_user"]["own_uid"], false) << doctor_off.dump();
  EXPECT_NE(doctor_off["vmm_user"].value("detail", "").find("SMOLVM_VMM_UID_BASE=off"),
            std::string::npos);
  ASSERT_NE(off, nullptr);
  // ... and which cgroup version its VMs get: the one this VM got.
  const auto cg = nlohmann::json::parse(info(off).limits)["cgroup"];
  EXPECT_EQ(doctor["cgroup"].value("version", -1), cg.value("version", 0)) << cg.dump();
  const auto u = vmm_user(off);
  EXPECT_EQ(u.value("uid", 99u), 0u) << u.dump();
  EXPECT_EQ(u.value("reason", ""), "SMOLVM_VMM_UID_BASE=off");
  // Still confined by the plugin: no capability can be held or gained.
  EXPECT_EQ(status_field(info(off).vmm_pid, "CapBnd"), "0000000000000000");
  EXPECT_TRUE(answers(off));
  smolvm_vm_delete(off);
  smolvm_vm_free(off);
}

}  // namespace
}  // namespace hardening
