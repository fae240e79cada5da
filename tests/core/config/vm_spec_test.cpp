#include "core/config/vm_spec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/common/error.h"

namespace smolvm {
namespace {

VmSpec valid() {
  VmSpec s;
  s.vm_id = "vm-test";
  return s;
}

std::string error_of(const VmSpec& s) {
  try {
    validate(s);
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_EINVAL);
    return e.what();
  }
  return "";
}

TEST(VmSpec, DefaultsAreValid) {
  const VmSpec s = valid();
  EXPECT_EQ(s.vcpu_count, 2u);
  EXPECT_EQ(s.mem_size_mib, 512u);
  EXPECT_EQ(s.disk_mode, "isolated");
  EXPECT_EQ(error_of(s), "");
}

TEST(VmSpec, VcpuBoundaries) {
  VmSpec s = valid();
  s.vcpu_count = 1;
  EXPECT_EQ(error_of(s), "");
  s.vcpu_count = 32;
  EXPECT_EQ(error_of(s), "");
  s.vcpu_count = 0;
  EXPECT_EQ(error_of(s), "vcpu_count=0: must be 1..32");
  s.vcpu_count = 33;
  EXPECT_EQ(error_of(s), "vcpu_count=33: must be 1..32");
}

TEST(VmSpec, MemoryBoundaries) {
  VmSpec s = valid();
  s.mem_size_mib = 128;
  EXPECT_EQ(error_of(s), "");
  s.mem_size_mib = 16384;
  EXPECT_EQ(error_of(s), "");
  s.mem_size_mib = 64;
  EXPECT_EQ(error_of(s), "mem_size_mib=64: must be 128..16384");
  s.mem_size_mib = 16385;
  EXPECT_EQ(error_of(s), "mem_size_mib=16385: must be 128..16384");
}

TEST(VmSpec, DiskSizeBoundariesAndOnlyForAnIsolatedDisk) {
  VmSpec s = valid();
  s.disk_size_mib = 64;
  EXPECT_EQ(error_of(s), "");
  s.disk_size_mib = 1048576;
  EXPECT_EQ(error_of(s), "");
  s.disk_size_mib = 63;
  EXPECT_EQ(error_of(s), "disk_size_mib=63: must be 64..1048576");
  s.disk_size_mib = 1048577;
  EXPECT_EQ(error_of(s), "disk_size_mib=1048577: must be 64..1048576");
  s.disk_size_mib = 2048;
  s.disk_mode = "shared";
  EXPECT_EQ(error_of(s),
            "disk_size_mib=2048: only an isolated disk can be sized; disk_mode is 'shared' (the "
            "image itself)");
  s.disk_size_mib = 0;
  EXPECT_EQ(error_of(s), "");
}

TEST(VmSpec, EnumsNameTheAllowedValues) {
  VmSpec s = valid();
  s.disk_mode = "copy";
  EXPECT_EQ(error_of(s), "disk_mode='copy': must be one of isolated|shared");
  s = valid();
  // Backends are plugins: any name that can be one passes here (the
  // runtime checks it is installed); others are refused by their syntax.
  s.vmm = "xen";
  EXPECT_EQ(error_of(s), "");
  s.vmm = "Xen";
  EXPECT_EQ(
      error_of(s),
      "vmm='Xen': must be auto or a plugin name of 1 to 32 lower-case letters, digits and '_'");
  s = valid();
  s.executor = "";
  EXPECT_EQ(
      error_of(s),
      "executor='': must be auto or a plugin name of 1 to 32 lower-case letters, digits and '_'");
  s = valid();
  s.accel = "hvf";
  EXPECT_EQ(error_of(s), "accel='hvf': must be one of auto|kvm|tcg");
  s = valid();
  s.network = "br-0";
  EXPECT_NE(error_of(s).find("network='br-0': must be auto or a plugin name"), std::string::npos);
}

TEST(VmSpec, Ids) {
  EXPECT_TRUE(is_valid_vm_id("a"));
  EXPECT_TRUE(is_valid_vm_id("agent-workspace"));
  EXPECT_TRUE(is_valid_vm_id("0abc"));
  EXPECT_TRUE(is_valid_vm_id(std::string(63, 'a')));
  EXPECT_FALSE(is_valid_vm_id(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_vm_id(""));
  EXPECT_FALSE(is_valid_vm_id("-abc"));
  EXPECT_FALSE(is_valid_vm_id("Abc"));
  EXPECT_FALSE(is_valid_vm_id("a_b"));
  EXPECT_FALSE(is_valid_vm_id("a/../b"));
  VmSpec s = valid();
  s.vm_id = "Bad Id";
  EXPECT_NE(error_of(s).find("vm_id='Bad Id': must match"), std::string::npos);
}

TEST(VmSpec, GeneratedIdsAreValidAndDistinct) {
  const std::string a = generate_vm_id(), b = generate_vm_id();
  EXPECT_TRUE(is_valid_vm_id(a));
  EXPECT_EQ(a.size(), 11u);
  EXPECT_EQ(a.rfind("vm-", 0), 0u);
  EXPECT_NE(a, b);
}

TEST(VmSpec, JsonRoundTrip) {
  VmSpec s = valid();
  s.vcpu_count = 4;
  s.mem_size_mib = 2048;
  s.disk_mode = "shared";
  s.boot_args = "quiet";
  s.image = "py";
  const VmSpec t = spec_from_json(to_json(s));
  EXPECT_EQ(t.image, "py");
  EXPECT_EQ(t.vm_id, s.vm_id);
  EXPECT_EQ(t.vcpu_count, 4u);
  EXPECT_EQ(t.mem_size_mib, 2048u);
  EXPECT_EQ(t.disk_mode, "shared");
  EXPECT_EQ(t.boot_args, "quiet");
}

TEST(VmSpec, ImageNames) {
  VmSpec s = valid();
  s.image = "python-data.v2";
  EXPECT_EQ(error_of(s), "");
  s.image = "../etc";
  EXPECT_EQ(error_of(s), "image='../etc': must match [a-z0-9][a-z0-9._-]{0,62}");
  s.image = std::string(64, 'a');
  EXPECT_NE(error_of(s).find("must match"), std::string::npos);
  s.image = "py";
  s.rootfs_path = "/x/root.ext4";
  EXPECT_NE(error_of(s).find("image='py': a named image brings its own rootfs"), std::string::npos);
}

TEST(VmSpec, BootArgsMustBeOneLine) {
  VmSpec s = valid();
  s.boot_args = "a\nb";
  EXPECT_NE(error_of(s).find("boot_args"), std::string::npos);
}

}  // namespace
}  // namespace smolvm
