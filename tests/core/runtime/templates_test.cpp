// Which VMs fit a template, and templates found, damaged and locked
// (core/runtime/templates.h), on real folders in a temporary cache. Making
// and restoring templates of real VMs is tests/integration/template_test.cpp.
#include "core/runtime/templates.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/common/paths.h"
#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

TemplateKey key() { return {"/img/vmlinux", "/img/rootfs.ext4", 2, 512, "qemu", "agent", "tcg"}; }

TEST(TemplateFit, AFreshIsolatedVmWithoutNetworkOrArgsFits) {
  TemplateFit fit;
  fit.boot_mode = "auto";
  fit.disk_mode = "isolated";
  fit.network = "none";
  EXPECT_EQ(template_misfit(fit), "");
}

TEST(TemplateFit, EachThingATemplateCannotCarrySaysWhy) {
  const auto why = [](auto change) {
    TemplateFit fit;
    fit.boot_mode = "auto";
    fit.disk_mode = "isolated";
    fit.network = "none";
    fit.executor = "ssh";
    fit.vmm = "fc";
    change(fit);
    return template_misfit(fit);
  };
  EXPECT_EQ(why([](TemplateFit& f) { f.template_env = "0"; }), "disabled by SMOLVM_TEMPLATE=0");
  EXPECT_EQ(why([](TemplateFit& f) { f.boot_mode = "cold"; }),
            "disabled by the VM's options (boot=cold)");
  EXPECT_EQ(why([](TemplateFit& f) { f.first_start = false; }),
            "a later start boots the VM's own disk");
  EXPECT_NE(why([](TemplateFit& f) { f.disk_mode = "shared"; }).find("disk_mode=shared"),
            std::string::npos);
  EXPECT_NE(why([](TemplateFit& f) { f.network = "nftables"; }).find("has a network (nftables)"),
            std::string::npos);
  EXPECT_EQ(why([](TemplateFit& f) { f.boot_args = "quiet"; }),
            "the VM sets kernel args (boot_args)");
  EXPECT_NE(why([](TemplateFit& f) { f.disk_size_mib = 4096; }).find("disk_size_mib=4096"),
            std::string::npos);
  EXPECT_EQ(why([](TemplateFit& f) { f.executor_boot_args = "smolvm.key=x"; }),
            "executor ssh passes kernel args of its own to each VM");
  EXPECT_NE(why([](TemplateFit& f) { f.image_cached = false; }).find("not a cached image"),
            std::string::npos);
  EXPECT_NE(why([](TemplateFit& f) { f.image_tools = false; }).find("lacks date or perl"),
            std::string::npos);
  EXPECT_NE(why([](TemplateFit& f) { f.image_kernel = false; }).find("a kernel of its own"),
            std::string::npos);
  EXPECT_NE(why([](TemplateFit& f) { f.vmm_can_restore = false; }).find("VMM plugin fc"),
            std::string::npos);
  // A VM created from a snapshot restores that, whatever else it has.
  EXPECT_EQ(why([](TemplateFit& f) { f.restoring = true, f.first_start = false; }), "");
}

class Templates : public ::testing::Test {
 protected:
  // A template folder as Runtime::make_template publishes it.
  std::string make(uint64_t state_bytes = 100) {
    const std::string dir = template_dir(tmp_.path() + "/images/k", key());
    // The maker's record as make_template reads it: snapshot_of(rec).
    VmRecord rec;
    const TemplateKey k = key();
    rec.spec.vcpu_count = k.vcpu_count;
    rec.spec.mem_size_mib = k.mem_size_mib;
    rec.runtime.kernel_path = k.kernel_path;
    rec.runtime.rootfs_path = k.rootfs_path;
    rec.runtime.vmm = k.vmm;
    rec.runtime.executor = k.executor;
    rec.runtime.accel = k.accel;
    Snapshot s = snapshot_of(rec);
    s.id = "template";
    s.state_bytes = state_bytes;
    s.layers = {snapshot_disk_file(dir)};
    fs::create_directories(dir);
    std::ofstream(dir + "/manifest.json") << to_json(s).dump();
    std::ofstream(snapshot_state_file(dir)) << std::string(100, 's');
    std::ofstream(snapshot_disk_file(dir)) << "qcow2";
    return dir;
  }
  smolvm::test::TempDir tmp_;
};

TEST_F(Templates, OneFolderPerMachineBesideTheImage) {
  TemplateKey other = key();
  other.mem_size_mib = 1024;
  EXPECT_EQ(template_dir("/c/images/k", key()), "/c/images/k/templates/2cpu-512mib-qemu-agent-tcg");
  EXPECT_EQ(template_dir("/c/images/k", other),
            "/c/images/k/templates/2cpu-1024mib-qemu-agent-tcg");
}

TEST_F(Templates, AWholeTemplateIsFoundAndListed) {
  const std::string dir = make();
  std::string why;
  const FoundTemplate t = find_template(dir, key(), &why);
  EXPECT_TRUE(t.found) << why;
  EXPECT_EQ(t.snapshot.layers.front(), snapshot_disk_file(dir));
  ASSERT_EQ(list_templates(tmp_.path() + "/images/k").size(), 1u);
  EXPECT_FALSE(find_template(dir + "-none", key(), &why).found);
  EXPECT_EQ(why, "");  // nothing there is not damage
}

TEST_F(Templates, ATruncatedStateIsRemovedNeverUsed) {
  const std::string dir = make(/*state_bytes=*/4096);  // 100 bytes on disk
  std::string why;
  EXPECT_FALSE(find_template(dir, key(), &why).found);
  EXPECT_NE(why.find("has 100 bytes, the snapshot recorded 4096"), std::string::npos) << why;
  EXPECT_FALSE(fs::exists(dir));
  // Nothing left aside either.
  EXPECT_TRUE(fs::is_empty(fs::path(dir).parent_path()));
}

TEST_F(Templates, ADamagedManifestIsRemoved) {
  const std::string dir = make();
  std::ofstream(dir + "/manifest.json") << "{not json";
  std::string why;
  EXPECT_FALSE(find_template(dir, key(), &why).found);
  EXPECT_NE(why.find("manifest.json is not JSON"), std::string::npos) << why;
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(Templates, OneOfAnotherMachineIsRemoved) {
  const std::string dir = make();
  TemplateKey other = key();
  other.vcpu_count = 4;
  std::string why;
  EXPECT_FALSE(find_template(dir, other, &why).found);
  EXPECT_NE(why.find("made for 2 vCPUs and 512 MiB"), std::string::npos) << why;
}

TEST_F(Templates, OneMakerAtATime) {
  const std::string dir = template_dir(tmp_.path() + "/images/k", key());
  TemplateLock first(dir), second(dir);
  EXPECT_TRUE(first.try_lock());
  EXPECT_FALSE(second.try_lock());
}

}  // namespace
}  // namespace smolvm
