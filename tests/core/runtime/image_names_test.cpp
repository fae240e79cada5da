// Named images: on a real cache layout in a temporary folder, with VMs made
// by the real runtime (created, not booted: the image's files are stand-ins).
#include "core/runtime/image_names.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/common/error.h"
#include "core/runtime/image_users.h"
#include "core/runtime/runtime.h"
#include "tests/support/failure.h"
#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

class ImageNames : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_ = tmp_.path() + "/cache";
    images_ = cache_ + "/images";
    for (const char* key : {"aaaa", "bbbb", "cccc"}) {
      fs::create_directories(images_ + "/" + key);
      std::ofstream(images_ + "/" + key + "/vmlinux") << "kernel";
      std::ofstream(images_ + "/" + key + "/rootfs.ext4") << std::string(1 << 20, 'x');
      std::ofstream(images_ + "/" + key + "/manifest.json")
          << R"({"format": 1, "key": ")" << key << "\"}";
    }
    fs::create_directory_symlink("aaaa", images_ + "/default");
  }

  Runtime runtime() {
    RuntimeOptions o;
    o.state_dir = tmp_.path() + "/state";
    o.cache_dir = cache_;
    o.plugin_path = SMOLVM_PLUGIN_BUILD_DIR;
    return Runtime(o);
  }

  static std::string message_of(const std::function<void()>& f, int want_status) {
    const test::Failure failure = test::failure_of(f);
    EXPECT_EQ(failure.status, want_status) << failure.message;
    return failure.message;
  }

  test::TempDir tmp_;
  std::string cache_, images_;
};

TEST_F(ImageNames, ANameLeadsToItsImageAndListsWithIt) {
  name_image(cache_, "py", "bbbb");
  name_image(cache_, "py-old", "bbbb");
  EXPECT_EQ(named_image_dir(cache_, "py"), fs::canonical(images_ + "/bbbb").string());
  EXPECT_EQ(named_image_dir(cache_, "default"), fs::canonical(images_ + "/aaaa").string());
  const auto list = list_images(cache_);
  ASSERT_EQ(list.size(), 3u);  // names/ and default are not images
  EXPECT_EQ(list[0].key, "aaaa");
  EXPECT_EQ(list[0].names, std::vector<std::string>{"default"});
  EXPECT_EQ(list[1].names, (std::vector<std::string>{"py", "py-old"}));
  EXPECT_TRUE(list[2].names.empty());
  EXPECT_NE(list[1].manifest.find("\"bbbb\""), std::string::npos);
  EXPECT_EQ(find_image(cache_, "py").key, "bbbb");
  EXPECT_EQ(find_image(cache_, "cccc").key, "cccc");  // a key works too

  // Naming again moves the name; the old image keeps its other name.
  name_image(cache_, "py", "cccc");
  EXPECT_EQ(find_image(cache_, "py").key, "cccc");
  EXPECT_EQ(find_image(cache_, "py-old").key, "bbbb");
}

TEST_F(ImageNames, BadAndMissingNamesAreRefusedNamingThem) {
  EXPECT_NE(message_of([&] { named_image_dir(cache_, "nope"); }, SMOLVM_ENOTFOUND)
                .find("image='nope': no such image"),
            std::string::npos);
  EXPECT_NE(message_of([&] { named_image_dir(cache_, "../aaaa"); }, SMOLVM_EINVAL)
                .find("image='../aaaa': must match [a-z0-9][a-z0-9._-]{0,62}"),
            std::string::npos);
  EXPECT_NE(message_of([&] { name_image(cache_, "default", "bbbb"); }, SMOLVM_EINVAL)
                .find("name='default'"),
            std::string::npos);
  EXPECT_NE(message_of([&] { name_image(cache_, "x", "zzzz"); }, SMOLVM_ENOTFOUND)
                .find("image key 'zzzz'"),
            std::string::npos);
  EXPECT_NE(message_of([&] { name_image(cache_, "x", "names"); }, SMOLVM_ENOTFOUND)
                .find("image key 'names'"),
            std::string::npos);
}

TEST_F(ImageNames, AVmMadeByNameKeepsItsImageAndRmIsRefusedNamingTheVm) {
  name_image(cache_, "py", "bbbb");
  Runtime rt = runtime();
  VmSpec s;
  s.vm_id = "by-name";
  s.image = "py";
  const VmRecord rec = rt.create(s);
  EXPECT_EQ(rec.runtime.rootfs_path, fs::canonical(images_ + "/bbbb/rootfs.ext4").string());
  EXPECT_EQ(rec.spec.image, "py");

  // The name moves on: the VM stays on its image, which rm and prune keep.
  name_image(cache_, "py", "cccc");
  EXPECT_EQ(rt.get("by-name").runtime.rootfs_path, rec.runtime.rootfs_path);
  EXPECT_EQ(find_image(cache_, "bbbb").users, std::vector<std::string>{"vm by-name"});
  const std::string msg = message_of([&] { remove_image(cache_, "bbbb"); }, SMOLVM_EBUSY);
  EXPECT_NE(msg.find("image 'bbbb' is used by vm by-name"), std::string::npos) << msg;
  EXPECT_TRUE(fs::exists(images_ + "/bbbb/rootfs.ext4"));
  for (const auto& img : prune_images(cache_, false)) {
    if (img.key == "bbbb") {
      EXPECT_EQ(img.kept_because, "used by a VM");
    } else if (img.key == "cccc") {
      EXPECT_EQ(img.kept_because, "named py");
    }
  }

  rt.remove("by-name");
  EXPECT_NE(remove_image(cache_, "bbbb").find("removed image bbbb"), std::string::npos);
  EXPECT_FALSE(fs::exists(images_ + "/bbbb"));
}

TEST_F(ImageNames, RmOfANameKeepsAnImageOtherNamesLeadTo) {
  name_image(cache_, "a1", "bbbb");
  name_image(cache_, "a2", "bbbb");
  name_image(cache_, "d2", "aaaa");
  EXPECT_NE(remove_image(cache_, "a1").find("removed the name a1; image bbbb stays (also a2)"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(images_ + "/bbbb"));
  EXPECT_FALSE(fs::is_symlink(images_ + "/names/a1"));
  EXPECT_NE(remove_image(cache_, "a2").find("removed image bbbb (a2)"), std::string::npos);
  EXPECT_FALSE(fs::exists(images_ + "/bbbb"));
  // The default image: its other name may go, never the image by key or as default.
  EXPECT_NE(message_of([&] { remove_image(cache_, "aaaa"); }, SMOLVM_EBUSY).find("default image"),
            std::string::npos);
  EXPECT_NE(
      message_of([&] { remove_image(cache_, "default"); }, SMOLVM_EBUSY).find("default image"),
      std::string::npos);
  remove_image(cache_, "d2");
  EXPECT_TRUE(fs::exists(images_ + "/aaaa/rootfs.ext4"));
  // A key removes the image and every name leading to it.
  name_image(cache_, "c1", "cccc");
  remove_image(cache_, "cccc");
  EXPECT_FALSE(fs::exists(images_ + "/cccc"));
  EXPECT_FALSE(fs::is_symlink(images_ + "/names/c1"));
}

TEST_F(ImageNames, NoCacheListsNothing) {
  EXPECT_TRUE(list_images(tmp_.path() + "/none").empty());
  EXPECT_EQ(message_of([&] { remove_image(tmp_.path() + "/none", "x"); }, SMOLVM_ENOTFOUND).empty(),
            false);
}

}  // namespace
}  // namespace smolvm
