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

// The defaults guest/build-recipe.sh records for an image's VMs, read once
// at create: an imported config's Entrypoint then Cmd make its command.
TEST_F(Image, TheDefaultsOfARecipeOrAnImportAreReadWhole) {
  const std::string dir = stock_image(
      "aaaa", R"("defaults": {"env": ["A=1", "B=x=y"], "user": "1000:100", "workdir": "/work",)"
              R"( "entrypoint": ["/bin/busybox", "echo"], "cmd": ["hi"]})");
  const ImageDefaults d = image_defaults_of(dir + "/rootfs.ext4");
  EXPECT_EQ(d.env, (std::vector<std::string>{"A=1", "B=x=y"}));
  EXPECT_EQ(d.user, "1000:100");
  EXPECT_EQ(d.workdir, "/work");
  EXPECT_EQ(d.command, (std::vector<std::string>{"/bin/busybox", "echo", "hi"}));
  // The VM's own entry wins over the image's of the same name.
  EXPECT_EQ(env_with_image_defaults(d, {"B=mine"}), (std::vector<std::string>{"A=1", "B=mine"}));
  // The default image records none.
  const ImageDefaults none = image_defaults_of(stock_image("bbbb", R"("x": 1)") + "/rootfs.ext4");
  EXPECT_TRUE(none.env.empty() && none.user.empty() && none.workdir.empty() &&
              none.command.empty());
}

// A manifest is read as untrusted as any other file in the cache: a default
// that no command could take is refused at create, naming the manifest.
TEST_F(Image, ADefaultNoCommandCouldTakeIsRefusedNamingTheManifest) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"workdir": "work"})", "defaults.workdir='work': must be an absolute path"},
      {R"({"user": "a\nb"})", "must be a user name, a uid or uid:gid"},
      {R"({"env": ["NOEQUALS"]})", "defaults.env: "},
      {R"({"env": "A=1"})", "defaults.env must be a list"},
      {R"({"cmd": [1]})", "defaults.cmd: 1 must be a string"},
      {R"("text")", "'defaults' must be an object"}};
  for (const auto& [defaults, message] : cases) {
    const std::string dir = stock_image("cccc", std::string(R"("defaults": )") + defaults);
    const test::Failure f = test::failure_of([&] { image_defaults_of(dir + "/rootfs.ext4"); });
    EXPECT_EQ(f.status, SMOLVM_EINVAL) << defaults;
    EXPECT_NE(f.message.find(dir + "/manifest.json: "), std::string::npos) << f.message;
    EXPECT_NE(f.message.find(message), std::string::npos) << f.message;
  }
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
