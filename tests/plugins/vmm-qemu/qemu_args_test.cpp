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

namespace {

// The -blockdev values in order.
std::vector<std::string> blockdevs(const std::vector<std::string>& a) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < a.size(); ++i) {
    if (a[i] == "-blockdev") out.push_back(a[i + 1]);
  }
  return out;
}

}  // namespace

// Snapshot layers (plugin ABI 1.5) sit between the base and the VM's disk,
// each a read-only qcow2 on the one before, reached through descriptors
// numbered after the TAP's.
TEST(QemuArgs, DiskLayersChainFromTheBaseToTheDisk) {
  auto c = config("tcg", "isolated");
  const char* layers[] = {"/snap/a/disk.qcow2", "/snap/b/disk.qcow2"};
  c.layer_paths = layers;
  c.layer_count = 2;
  std::string problem;
  const auto a = smolvm_qemu::build_args(c, "qemu", problem);
  ASSERT_EQ(problem, "");
  const auto b = blockdevs(a);
  ASSERT_EQ(b.size(), 8u);
  EXPECT_EQ(b[3], "driver=qcow2,node-name=layer0,read-only=on,file=layer0-file,backing=base");
  EXPECT_EQ(b[5], "driver=qcow2,node-name=layer1,read-only=on,file=layer1-file,backing=layer0");
  EXPECT_EQ(b[7], "driver=qcow2,node-name=root,discard=unmap,file=disk-file,backing=layer1");
  // No TAP: the layers follow the QMP socket's descriptor (8).
  EXPECT_EQ(smolvm_qemu::layer_fd_number(c, false, 0), 9);
  EXPECT_EQ(b[2], "driver=file,node-name=layer0-file,read-only=on,filename=/dev/fdset/9");
  for (const auto& arg : a) EXPECT_EQ(arg.find("/snap/"), std::string::npos) << arg;
  c.tap_name = "smolvm-tap0";
  EXPECT_EQ(smolvm_qemu::layer_fd_number(c, false, 0), 10);
  EXPECT_EQ(smolvm_qemu::layer_fd_number(c, true, 1), 12);  // after the state's
  // Without layers, the disk is on the base as always.
  EXPECT_EQ(blockdevs(smolvm_qemu::build_args(config("tcg", "isolated"), "qemu", problem)).back(),
            "driver=qcow2,node-name=root,discard=unmap,file=disk-file,backing=base");
}

TEST(QemuArgs, LayersNeedAnIsolatedDisk) {
  auto c = config("tcg", "shared");
  const char* layers[] = {"/snap/a/disk.qcow2"};
  c.layer_paths = layers;
  c.layer_count = 1;
  std::string problem;
  EXPECT_TRUE(smolvm_qemu::build_args(c, "qemu", problem).empty());
  EXPECT_EQ(problem, "disk layers need disk_mode=isolated (got 'shared')");
}

// A config from before 1.5 ends before the layer fields: none are read.
TEST(QemuArgs, OlderConfigHasNoLayers) {
  auto c = config("tcg", "isolated");
  const char* layers[] = {"/snap/a/disk.qcow2"};
  c.layer_paths = layers;
  c.layer_count = 1;
  c.struct_size = offsetof(smolvm_vmm_config, layer_paths);
  EXPECT_EQ(smolvm_qemu::layer_count(c), 0u);
}

// A restore loads the state from an inherited descriptor (exec: would need
// a process the sandbox forbids) and otherwise has the boot's machine.
TEST(QemuArgs, RestoreLoadsTheStateFromADescriptor) {
  std::string problem;
  const auto c = config("tcg", "isolated");
  const auto boot = smolvm_qemu::build_args(c, "qemu", problem);
  const auto restore = smolvm_qemu::build_args(c, "qemu", problem, true);
  ASSERT_EQ(problem, "");
  EXPECT_EQ(after(boot, "-incoming"), "");
  EXPECT_EQ(after(restore, "-incoming"), "fd:9");
  ASSERT_EQ(restore.size(), boot.size() + 2);
  EXPECT_TRUE(std::equal(boot.begin(), boot.end(), restore.begin()));
}

// Debian's stock kernel (plugin ABI 1.6): its initrd comes on the descriptor
// after the layers, and microvm describes the devices in ACPI tables.
TEST(QemuArgs, AStockKernelGetsItsInitrdAndAcpi) {
  auto c = config("tcg", "isolated");
  std::string problem;
  const auto built = smolvm_qemu::build_args(c, "qemu", problem);
  EXPECT_EQ(after(built, "-M"), "microvm,acpi=off");
  EXPECT_EQ(after(built, "-initrd"), "");
  c.kernel_path = "/img/vmlinuz";
  c.initrd_path = "/img/initrd.img";
  c.kernel_acpi = 1;
  const char* layers[] = {"/snap/a/disk.qcow2"};
  c.layer_paths = layers;
  c.layer_count = 1;
  const auto stock = smolvm_qemu::build_args(c, "qemu", problem);
  ASSERT_EQ(problem, "");
  EXPECT_EQ(after(stock, "-M"), "microvm,acpi=on");
  // QMP is 8, the layer 9, the initrd 10; a restore's state comes first.
  EXPECT_EQ(after(stock, "-initrd"), "/proc/self/fd/10");
  EXPECT_EQ(smolvm_qemu::initrd_fd_number(c, true), 11);
  for (const auto& arg : stock) EXPECT_EQ(arg.find("/img/"), std::string::npos) << arg;
}

// A config from before 1.6 ends at layer_count: no initrd, no ACPI, even if
// the memory beyond it happens to hold something.
TEST(QemuArgs, OlderConfigHasNoInitrd) {
  auto c = config("tcg", "isolated");
  c.initrd_path = "/img/initrd.img";
  c.kernel_acpi = 1;
  c.struct_size = offsetof(smolvm_vmm_config, initrd_path);
  std::string problem;
  const auto a = smolvm_qemu::build_args(c, "qemu", problem);
  EXPECT_EQ(smolvm_qemu::initrd_path(c), "");
  EXPECT_EQ(after(a, "-M"), "microvm,acpi=off");
  EXPECT_EQ(after(a, "-initrd"), "");
}
