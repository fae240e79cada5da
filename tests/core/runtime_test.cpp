// The runtime without booting: create validates and rolls back, ids are
// reserved, delete removes files and rows. Uses real plugins and a real
// SQLite file in a temporary state folder.
#include "core/runtime/runtime.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/common/error.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/svrt-XXXXXX";
    dir_ = mkdtemp(tmpl);
    // A fake but real-on-disk image: create never boots it.
    std::ofstream(dir_ + "/vmlinux") << "kernel";
    std::ofstream(dir_ + "/rootfs.ext4") << std::string(1 << 20, '\0');
    opts_.state_dir = dir_ + "/state";
    opts_.cache_dir = dir_ + "/cache";
    opts_.plugin_path = SMOLVM_PLUGIN_BUILD_DIR;
    rt_ = std::make_unique<Runtime>(opts_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  VmSpec spec(const std::string& id) {
    VmSpec s;
    s.vm_id = id;
    s.kernel_path = dir_ + "/vmlinux";
    s.rootfs_path = dir_ + "/rootfs.ext4";
    return s;
  }
  size_t vm_dirs() {
    size_t n = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(opts_.state_dir + "/vms")) ++n;
    return n;
  }

  std::string dir_;
  RuntimeOptions opts_;
  std::unique_ptr<Runtime> rt_;
};

TEST_F(RuntimeTest, CreateRecordsAndPreparesAnIsolatedDisk) {
  const VmRecord rec = rt_->create(spec("a1"));
  EXPECT_EQ(rec.state, "created");
  const std::string disk = rec.runtime["disk_path"];
  EXPECT_TRUE(fs::exists(disk)) << disk;
  EXPECT_EQ(rt_->get("a1").state, "created");
  EXPECT_EQ(rt_->list().size(), 1u);
  EXPECT_EQ(fs::status(rec.runtime["vm_dir"].get<std::string>()).permissions() & fs::perms::all,
            fs::perms::owner_all);
}

TEST_F(RuntimeTest, SharedDiskModeMakesNoDisk) {
  VmSpec s = spec("s1");
  s.disk_mode = "shared";
  const VmRecord rec = rt_->create(s);
  EXPECT_EQ(rec.runtime["disk_path"], "");
}

TEST_F(RuntimeTest, DuplicateIdIsRefusedAndLeavesTheFirstIntact) {
  rt_->create(spec("dup"));
  try {
    rt_->create(spec("dup"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_EEXISTS);
    EXPECT_NE(std::string(e.what()).find("vm_id='dup'"), std::string::npos);
  }
  EXPECT_EQ(rt_->list().size(), 1u);
  EXPECT_EQ(vm_dirs(), 1u);
}

TEST_F(RuntimeTest, BadInputLeavesNothingBehind) {
  VmSpec s = spec("bad");
  s.mem_size_mib = 64;
  EXPECT_THROW(rt_->create(s), Error);
  s = spec("bad2");
  s.kernel_path = dir_ + "/missing";
  try {
    rt_->create(s);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_ENOTFOUND);
    EXPECT_NE(std::string(e.what()).find("kernel_path="), std::string::npos);
  }
  s = spec("bad3");
  s.executor = "ssh";  // no such plugin built yet: refused before anything is made
  EXPECT_THROW(rt_->create(s), Error);
  EXPECT_EQ(rt_->list().size(), 0u);
  EXPECT_EQ(vm_dirs(), 0u);
}

TEST_F(RuntimeTest, FailedDiskPreparationRollsBackRowAndFolder) {
  VmSpec s = spec("nodisk");
  // A folder where a file should be: qemu-img cannot use it as a backing file.
  fs::create_directory(dir_ + "/rootfs-dir");
  s.rootfs_path = dir_ + "/rootfs-dir";
  EXPECT_THROW(rt_->create(s), Error);
  EXPECT_EQ(rt_->list().size(), 0u);
  EXPECT_EQ(vm_dirs(), 0u);
}

TEST_F(RuntimeTest, RemoveDeletesFilesAndRowAndIsNotFoundTwice) {
  const VmRecord rec = rt_->create(spec("gone"));
  rt_->remove("gone");
  EXPECT_FALSE(fs::exists(rec.runtime["vm_dir"].get<std::string>()));
  try {
    rt_->remove("gone");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_ENOTFOUND);
  }
}

TEST_F(RuntimeTest, StartOfARunningVmIsAStateError) {
  rt_->create(spec("st"));
  rt_->store().update("st", "running", nullptr, nullptr, "");
  rt_->store().set_process({"st", "supervisor", getpid(), -1});  // "alive"
  try {
    rt_->start("st");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_ESTATE);
    EXPECT_NE(std::string(e.what()).find("is running: cannot go to starting"), std::string::npos);
  }
}

TEST_F(RuntimeTest, GcMarksVmsWithADeadSupervisorFailedAndRemovesOrphanFolders) {
  rt_->create(spec("dead"));
  rt_->store().update("dead", "running", nullptr, nullptr, "");
  rt_->store().set_process({"dead", "supervisor", 999999, 12345});  // no such process
  fs::create_directories(opts_.state_dir + "/vms/orphan");
  EXPECT_EQ(rt_->gc(), 2u);
  const VmRecord rec = rt_->get("dead");
  EXPECT_EQ(rec.state, "failed");
  EXPECT_NE(rec.runtime["last_error"].get<std::string>().find("supervisor"), std::string::npos);
  EXPECT_TRUE(rt_->store().processes("dead").empty());
  EXPECT_FALSE(fs::exists(opts_.state_dir + "/vms/orphan"));
  EXPECT_EQ(rt_->gc(), 0u);  // nothing left to repair
}

}  // namespace
}  // namespace smolvm
