// Which kernel a VM boots and what it needs beyond the kernel file, read
// from real image folders (the manifests build-image.sh writes) in a
// temporary cache.
#include "core/runtime/image.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/failure.h"
#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

class Image : public ::testing::Test {
 protected:
  // An image folder as build-image.sh --kernel stock makes it.
  std::string stock_image(const std::string& key, const std::string& boot_fields) {
    const std::string dir = fs::canonical(tmp_.path()).string() + "/images/" + key;
    fs::create_directories(dir);
    std::ofstream(dir + "/vmlinuz") << "bzImage";
    std::ofstream(dir + "/initrd.img") << "cpio";
    std::ofstream(dir + "/rootfs.ext4") << "ext4";
    std::ofstream(dir + "/manifest.json")
        << R"({"kernel": "vmlinuz", "kernel_kind": "stock", "rootfs": "rootfs.ext4", )"
        << boot_fields << "}";
    return dir;
  }

  test::TempDir tmp_;
};

TEST_F(Image, AStockKernelBootsWithItsInitrdAndAcpi) {
  const std::string dir = stock_image(
      "aaaa",
      R"("initrd": "initrd.img", "kernel_boot": {"acpi": true, "args_tcg": "lpj=1 a_b=c"})");
  const KernelBoot boot = kernel_boot_for(dir + "/vmlinuz");
  EXPECT_EQ(boot.kind, "stock");
  EXPECT_EQ(boot.initrd, dir + "/initrd.img");
  EXPECT_TRUE(boot.acpi);
  EXPECT_EQ(boot.args_tcg, "lpj=1 a_b=c");
  EXPECT_TRUE(boot.needs_vmm_support());
}

// The default image names its kernel; images from before the stock kernel
// have none of the new fields and boot as they always did.
TEST_F(Image, TheDefaultImageNamesItsKernel) {
  const std::string dir = stock_image("aaaa", R"("initrd": "initrd.img")");
  const std::string cache = fs::canonical(tmp_.path()).string();
  fs::create_directory_symlink("aaaa", cache + "/images/default");
  EXPECT_EQ(resolve_image("", "", "", cache).kernel, dir + "/vmlinuz");

  const std::string old = cache + "/images/bbbb";
  fs::create_directories(old);
  std::ofstream(old + "/vmlinux") << "elf";
  std::ofstream(old + "/manifest.json") << R"({"kernel": "vmlinux", "rootfs": "rootfs.ext4"})";
  const KernelBoot boot = kernel_boot_for(old + "/vmlinux");
  EXPECT_EQ(boot.kind, "");
  EXPECT_FALSE(boot.needs_vmm_support());
}

// A manifest speaks only for the kernel it names, and a kernel outside any
// image (the user's own) needs nothing.
TEST_F(Image, AManifestSaysNothingAboutAnotherKernel) {
  const std::string dir =
      stock_image("aaaa", R"("initrd": "initrd.img", "kernel_boot": {"acpi": true})");
  std::ofstream(dir + "/my-kernel") << "elf";
  EXPECT_FALSE(kernel_boot_for(dir + "/my-kernel").needs_vmm_support());
  std::ofstream(tmp_.path() + "/lone-kernel") << "elf";
  EXPECT_FALSE(kernel_boot_for(tmp_.path() + "/lone-kernel").needs_vmm_support());
}

TEST_F(Image, AManifestThatPointsOutsideItsImageIsRefused) {
  const std::string dir = stock_image("aaaa", R"("initrd": "../bbbb/initrd.img")");
  const test::Failure f = test::failure_of([&] { kernel_boot_for(dir + "/vmlinuz"); });
  EXPECT_EQ(f.message,
            dir +
                "/manifest.json: initrd='../bbbb/initrd.img': must be a file name in the "
                "image's folder");
  EXPECT_EQ(f.status, SMOLVM_EINVAL);
}

TEST_F(Image, KernelArgumentsFromAManifestAreWordsOnly) {
  const std::string dir =
      stock_image("aaaa", R"("kernel_boot": {"args_tcg": "lpj=1; init=/bin/sh"})");
  const test::Failure f = test::failure_of([&] { kernel_boot_for(dir + "/vmlinuz"); });
  EXPECT_EQ(f.message,
            dir +
                "/manifest.json: kernel_boot.args_tcg='lpj=1; init=/bin/sh': only letters, "
                "digits, spaces and _=.,- are allowed");
  EXPECT_EQ(f.status, SMOLVM_EINVAL);
}

TEST_F(Image, AMissingInitrdIsNamed) {
  const std::string dir = stock_image("aaaa", R"("initrd": "initrd.img")");
  fs::remove(dir + "/initrd.img");
  const test::Failure f = test::failure_of([&] { kernel_boot_for(dir + "/vmlinuz"); });
  EXPECT_NE(f.message.find("initrd='" + dir), std::string::npos);
  EXPECT_EQ(f.status, SMOLVM_ENOTFOUND);
}

// A VMM plugin built before 1.6 never reads the initrd or ACPI fields: it
// would boot the stock kernel without them, so core refuses it first.
TEST(ImageVmm, APluginBeforeOneSixCannotBootTheStockKernel) {
  KernelBoot stock;
  stock.initrd = "/img/initrd.img";
  stock.acpi = true;
  EXPECT_EQ(vmm_cannot_boot(stock, 6, "/img/vmlinuz"), "");
  const std::string why = vmm_cannot_boot(stock, 5, "/img/vmlinuz");
  EXPECT_NE(why.find("(plugin ABI 1.5) cannot boot kernel_path='/img/vmlinuz'"), std::string::npos)
      << why;
  EXPECT_NE(why.find("smolvm image build --kernel built"), std::string::npos) << why;
  EXPECT_EQ(vmm_cannot_boot(KernelBoot{}, 1, "/img/vmlinux"), "");
}

}  // namespace
}  // namespace smolvm
