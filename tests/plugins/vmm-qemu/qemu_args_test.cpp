// The QEMU command line, checked without starting QEMU.
#include "plugins/vmm-qemu/qemu_args.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace {

smolvm_vmm_config config(const char* accel, const char* mode) {
  smolvm_vmm_config c{};
  c.struct_size = sizeof c;
  c.vm_id = "vm-1";
  c.vcpu_count = 3;
  c.mem_size_mib = 768;
  c.kernel_path = "/img/vmlinux";
  c.rootfs_path = "/img/rootfs.ext4";
  c.disk_mode = mode;
  c.disk_path = "/state/vm-1/disk.qcow2";
  c.accel = accel;
  c.boot_args = "init=/sbin/smolvm-init";
  c.vm_dir = "/state/vm-1";
  c.console_log = "/state/vm-1/console.log";
  return c;
}

std::string after(const std::vector<std::string>& a, const std::string& flag, int nth = 0) {
  for (size_t i = 0; i + 1 < a.size(); ++i) {
    if (a[i] == flag && nth-- == 0) return a[i + 1];
  }
  return "";
}

TEST(QemuArgs, TcgUsesCpuMaxAndKvmUsesHost) {
  std::string problem;
  auto tcg = smolvm_qemu::build_args(config("tcg", "isolated"), "qemu", problem);
  ASSERT_EQ(problem, "");
  EXPECT_EQ(after(tcg, "-accel"), "tcg,tb-size=64");
  EXPECT_EQ(after(tcg, "-cpu"), "max");
  auto kvm = smolvm_qemu::build_args(config("kvm", "isolated"), "qemu", problem);
  EXPECT_EQ(after(kvm, "-accel"), "kvm");
  EXPECT_EQ(after(kvm, "-cpu"), "host");
}

TEST(QemuArgs, ResourcesAndMicrovm) {
  std::string problem;
  auto a = smolvm_qemu::build_args(config("tcg", "isolated"), "qemu", problem);
  EXPECT_EQ(after(a, "-m"), "768");
  EXPECT_EQ(after(a, "-smp"), "3");
  EXPECT_EQ(after(a, "-M").rfind("microvm", 0), 0u);
  EXPECT_NE(std::find(a.begin(), a.end(), "-no-reboot"), a.end());
  EXPECT_NE(after(a, "-append").find("init=/sbin/smolvm-init"), std::string::npos);
  EXPECT_NE(after(a, "-append").find("smolvm.channel=virtio-serial"), std::string::npos);
}

// QEMU may run as a user who cannot reach any of the VM's files: it must
// get every one as a descriptor and name no host path at all.
TEST(QemuArgs, NoHostPathOnlyDescriptors) {
  for (const char* mode : {"isolated", "shared"}) {
    auto c = config("tcg", mode);
    c.tap_name = "smolvm-tap0";
    std::string problem;
    auto a = smolvm_qemu::build_args(c, "qemu", problem);
    ASSERT_EQ(problem, "");
    for (size_t i = 1; i < a.size(); ++i) {
      for (const char* path : {"/img/", "/state/", "smolvm-tap0"}) {
        EXPECT_EQ(a[i].find(path), std::string::npos) << mode << ": " << a[i];
      }
    }
    EXPECT_EQ(after(a, "-kernel"), "/proc/self/fd/3");
    EXPECT_EQ(after(a, "-serial"), "chardev:console");
    EXPECT_EQ(after(a, "-chardev", 0), "file,id=console,append=on,path=/dev/fdset/6");
    EXPECT_NE(after(a, "-blockdev", 0).find("read-only=on,filename=/dev/fdset/4"),
              std::string::npos);
    EXPECT_NE(after(a, "-blockdev", 3).find("backing=base"), std::string::npos);
    EXPECT_NE(after(a, "-chardev", 1).find("fd=7"), std::string::npos);
    EXPECT_NE(after(a, "-chardev", 2).find("fd=8"), std::string::npos);
    EXPECT_EQ(after(a, "-netdev"), "tap,id=net0,fd=9");
  }
}

TEST(QemuArgs, NoNetworkDeviceWithoutTap) {
  std::string problem;
  auto a = smolvm_qemu::build_args(config("tcg", "isolated"), "qemu", problem);
  EXPECT_EQ(std::find(a.begin(), a.end(), "-netdev"), a.end());
}

TEST(QemuArgs, RefusesBadConfig) {
  std::string problem;
  EXPECT_TRUE(smolvm_qemu::build_args(config("hvf", "isolated"), "qemu", problem).empty());
  EXPECT_EQ(problem, "accel='hvf': must be kvm or tcg");
  auto c = config("tcg", "isolated");
  c.disk_path = nullptr;
  problem.clear();
  EXPECT_TRUE(smolvm_qemu::build_args(c, "qemu", problem).empty());
  EXPECT_NE(problem.find("prepare_disk"), std::string::npos);
}

}  // namespace
