// Which cached images VMs use, and prune: on a real cache layout in a
// temporary folder, with VMs made by the real runtime and a real flock.
#include "core/runtime/image_users.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "core/runtime/runtime.h"
#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

class ImageUsers : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    images_ = dir_ + "/cache/images";
    for (const char* key : {"aaaa", "bbbb", "cccc", "dddd"}) {
      fs::create_directories(images_ + "/" + key);
      std::ofstream(images_ + "/" + key + "/vmlinux") << "kernel";
      std::ofstream(images_ + "/" + key + "/rootfs.ext4") << std::string(1 << 20, 'x');
    }
    fs::create_directory_symlink("aaaa", images_ + "/default");
    fs::create_directories(images_ + "/.build-unfinished");  // the builder's
  }

  std::map<std::string, std::string> kept(bool dry_run) {
    std::map<std::string, std::string> out;
    for (const auto& img : prune_images(dir_ + "/cache", dry_run)) out[img.key] = img.kept_because;
    return out;
  }
  std::string rootfs(const char* key) { return images_ + "/" + key + "/rootfs.ext4"; }

  test::TempDir tmp_;
  std::string dir_, images_;
};

TEST_F(ImageUsers, PruneKeepsTheDefaultAndWhatALiveVmUsesAndNothingElse) {
  fs::create_directories(dir_ + "/state/vms/live");
  add_image_user(rootfs("bbbb"), dir_ + "/cache", dir_ + "/state/vms/live");
  // VMs whose folders are gone (deleted by a crash, then gc): marks dangle.
  add_image_user(rootfs("cccc"), dir_ + "/cache", dir_ + "/state/vms/gone");
  add_image_user(rootfs("aaaa"), dir_ + "/cache", dir_ + "/state/vms/gone");

  const auto dry = kept(true);
  EXPECT_EQ(dry.size(), 4u);
  EXPECT_EQ(dry.at("aaaa"), "the default image");
  EXPECT_EQ(dry.at("bbbb"), "used by a VM");
  EXPECT_EQ(dry.at("cccc"), "");
  EXPECT_EQ(dry.at("dddd"), "");
  for (const char* key : {"aaaa", "bbbb", "cccc", "dddd"}) {
    EXPECT_TRUE(fs::exists(images_ + "/" + key)) << key << " removed by a dry run";
  }

  EXPECT_EQ(kept(false).size(), 4u);
  EXPECT_TRUE(fs::exists(rootfs("aaaa")));
  EXPECT_TRUE(fs::is_empty(images_ + "/aaaa/used-by")) << "a dangling mark on the default stayed";
  EXPECT_TRUE(fs::exists(rootfs("bbbb")));
  EXPECT_FALSE(fs::exists(images_ + "/cccc"));
  EXPECT_FALSE(fs::exists(images_ + "/dddd"));
  EXPECT_TRUE(fs::exists(images_ + "/.build-unfinished"));
  EXPECT_TRUE(fs::is_symlink(images_ + "/default"));

  // Once its VM is gone, the image goes too.
  remove_image_user(rootfs("bbbb"), dir_ + "/cache", dir_ + "/state/vms/live");
  EXPECT_EQ(kept(false).at("bbbb"), "");
  EXPECT_FALSE(fs::exists(images_ + "/bbbb"));
}

TEST_F(ImageUsers, TheRuntimeMarksAtCreateAndUnmarksAtDelete) {
  RuntimeOptions o;
  o.state_dir = dir_ + "/state";
  o.cache_dir = dir_ + "/cache";
  o.plugin_path = SMOLVM_PLUGIN_BUILD_DIR;
  Runtime rt(o);
  VmSpec s;
  s.vm_id = "user";
  const VmRecord rec = rt.create(s);  // the default image: aaaa
  const std::string vm_dir = rec.runtime.vm_dir;
  size_t marks = 0;
  for (const auto& m : fs::directory_iterator(images_ + "/aaaa/used-by")) {
    EXPECT_EQ(fs::read_symlink(m.path()), vm_dir);
    ++marks;
  }
  EXPECT_EQ(marks, 1u);
  // The default moves on (a rebuild); the VM still holds its image.
  fs::remove(images_ + "/default");
  fs::create_directory_symlink("dddd", images_ + "/default");
  EXPECT_EQ(kept(false).at("aaaa"), "used by a VM");
  rt.remove("user");
  EXPECT_TRUE(fs::is_empty(images_ + "/aaaa/used-by"));
  EXPECT_EQ(kept(false).at("aaaa"), "");
  EXPECT_FALSE(fs::exists(images_ + "/aaaa"));
}

TEST_F(ImageUsers, AUserFileOutsideTheCacheIsNeverMarked) {
  std::ofstream(dir_ + "/own.ext4") << "x";
  add_image_user(dir_ + "/own.ext4", dir_ + "/cache", dir_ + "/state/vms/x");
  EXPECT_FALSE(fs::exists(dir_ + "/used-by"));
}

// `smolvm image build` holds images/.lock while it publishes an image and
// moves images/default: prune waits for it.
TEST_F(ImageUsers, PruneWaitsForTheBuildersLock) {
  const int fd = ::open((images_ + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  std::atomic<bool> done{false};
  std::thread pruner([&] {
    prune_images(dir_ + "/cache", false);
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(done) << "prune ran while the builder held the lock";
  EXPECT_TRUE(fs::exists(images_ + "/dddd"));
  ::close(fd);  // releases the lock
  pruner.join();
  EXPECT_TRUE(done);
  EXPECT_FALSE(fs::exists(images_ + "/dddd"));
}

}  // namespace
}  // namespace smolvm
