// What the host offers (core/host/host_probe), checked against the host
// itself: the probe must agree with /dev/kvm, /sys/module and this
// process's capabilities as the kernel reports them.
#include "core/host/host_probe.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "core/common/error.h"
#include "tests/support/failure.h"
#include "tests/support/processes.h"

namespace smolvm {
namespace {

bool exists(const char* path) { return ::access(path, F_OK) == 0; }

TEST(HostProbe, KvmKindAgreesWithTheHost) {
  const KvmProbe p = probe_kvm();
  EXPECT_FALSE(p.detail.empty());
  EXPECT_EQ(p.usable, p.kind == "hardware") << p.kind;
  const bool hw_module = exists("/sys/module/kvm_intel") || exists("/sys/module/kvm_amd");
  if (!exists("/dev/kvm")) {
    EXPECT_EQ(p.kind, "absent");
  } else if (exists("/sys/module/kvm_pvm") && !hw_module) {
    EXPECT_EQ(p.kind, "pvm");
    EXPECT_NE(p.detail.find("PVM-patched"), std::string::npos) << p.detail;
  } else if (::access("/dev/kvm", R_OK | W_OK) != 0) {
    EXPECT_EQ(p.kind, "inaccessible");
  } else {
    EXPECT_EQ(p.kind, "hardware");
  }
}

TEST(HostProbe, AccelAutoFollowsTheProbeAndTcgIsAlwaysTcg) {
  EXPECT_EQ(resolve_accel("tcg"), "tcg");
  EXPECT_EQ(resolve_accel("auto"), probe_kvm().usable ? "kvm" : "tcg");
}

TEST(HostProbe, KvmWhereItCannotRunIsRefusedSayingWhyAndWhatToUse) {
  const KvmProbe p = probe_kvm();
  if (p.usable) {
    EXPECT_EQ(resolve_accel("kvm"), "kvm");
    return;
  }
  const test::Failure f = test::failure_of([] { resolve_accel("kvm"); });
  EXPECT_EQ(f.status, SMOLVM_EUNSUPPORTED) << "accel=kvm on a host whose KVM is " << p.kind;
  EXPECT_EQ(f.message,
            "accel='kvm': not usable on this host (" + p.detail + "); use accel=auto or tcg");
}

// CAP_NET_ADMIN is bit 12 of the effective set the kernel shows.
TEST(HostProbe, NetAdminAgreesWithTheKernelsEffectiveSet) {
  const std::string cap_eff = test::status_field(::getpid(), "CapEff");
  ASSERT_FALSE(cap_eff.empty());
  const unsigned long long bits = std::stoull(cap_eff, nullptr, 16);
  EXPECT_EQ(has_cap_net_admin(), ((bits >> 12) & 1) == 1) << "CapEff " << cap_eff;
}

// In a child that dropped it from its effective set (with the capset
// system call, as a service manager would), the probe says no.
TEST(HostProbe, NetAdminIsNotSeenAfterDroppingIt) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &hdr, data) != 0) _exit(2);
    data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
    if (::syscall(SYS_capset, &hdr, data) != 0) _exit(3);
    _exit(has_cap_net_admin() ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: still seen; 2, 3: capget/capset failed";
}

}  // namespace
}  // namespace smolvm
