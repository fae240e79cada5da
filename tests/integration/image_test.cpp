// Named images with real VMs: a VM made from a name boots that image, which
// cannot be removed while the VM lives (its name can, when another name
// keeps the image); an image built from a recipe (by the real builder: chroot, tar, mkfs.ext4)
// boots with what its steps put in it, and its layers are cached.
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"
#include "tests/support/vm_fixture.h"

namespace vmtest {
namespace {

namespace fs = std::filesystem;

std::set<std::string> entries_of(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.insert(e.path().filename());
  return out;
}

// A started VM (256 MiB) of the named image, or nullptr with the failure
// recorded.
smolvm_vm* start_vm_of(const char* id, const char* image) {
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.vm_id = id;
  o.mem_size_mib = 256;
  o.image = image;
  smolvm_vm* vm = nullptr;
  EXPECT_EQ(smolvm_vm_create(&vm, runtime(), &o), 0) << smolvm_last_error();
  if (vm && smolvm_vm_start(vm) != 0) {
    ADD_FAILURE() << "start: " << smolvm_last_error();
    smolvm_vm_delete(vm);
    smolvm_vm_free(vm);
    return nullptr;
  }
  return vm;
}

// A recipe of a file and a command (no packages: the test must not depend
// on a Debian mirror), in a folder of the test's own.
std::string write_recipe(const std::string& dir, const std::string& run) {
  std::ofstream(dir + "/hello.txt") << "hello from the host\n";
  std::ofstream(dir + "/small.yaml") << "apiVersion: smolvm/v1\n"
                                        "kind: ImageRecipe\n"
                                        "name: itest-recipe\n"
                                        "files:\n"
                                        "  - {src: hello.txt, dest: /opt/hello.txt}\n"
                                        "run:\n"
                                        "  - "
                                     << run
                                     << "\n"
                                        "env: {GREETING: from-the-recipe}\n";
  return dir + "/small.yaml";
}

TEST(Images, ARecipeBuildsInCachedLayersAndItsVmHasWhatTheStepsMade) {
  smolvm::test::TempDir tmp;
  const std::string recipe =
      write_recipe(tmp.path(), "\"tr a-z A-Z < /opt/hello.txt > /etc/mark\"");
  const CliResult first = cli("image build -f " + recipe + " 2>&1");
  ASSERT_EQ(first.status, 0) << first.out;
  EXPECT_NE(first.out.find("[itest-recipe 1/2] file: "), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("image: ready, named itest-recipe"), std::string::npos) << first.out;

  // Unchanged: every layer and the image come from the cache.
  const CliResult again = cli("image build -f " + recipe + " 2>&1");
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_NE(again.out.find("[itest-recipe 1/2] file: " + tmp.path() +
                           "/hello.txt -> "
                           "/opt/hello.txt: cached"),
            std::string::npos)
      << again.out;
  EXPECT_NE(again.out.find("[itest-recipe 2/2] run: "), std::string::npos);
  EXPECT_NE(again.out.find("image: cached"), std::string::npos) << again.out;

  // A changed last step: the file's layer is reused, the command runs again.
  write_recipe(tmp.path(), "\"tr a-z A-Z < /opt/hello.txt > /etc/mark && echo v2 >> /etc/mark\"");
  const CliResult changed = cli("image build -f " + recipe + " 2>&1");
  ASSERT_EQ(changed.status, 0) << changed.out;
  EXPECT_NE(changed.out.find("1/2] file: " + tmp.path() + "/hello.txt -> /opt/hello.txt: cached"),
            std::string::npos)
      << changed.out;
  EXPECT_EQ(changed.out.find("2/2] run: tr a-z A-Z < /opt/hello.txt > /etc/mark && echo v2 >> "
                             "/etc/mark: cached"),
            std::string::npos)
      << changed.out;

  smolvm_vm* vm = start_vm_of("img-recipe", "itest-recipe");
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(run(vm, "cat /etc/mark").out, "HELLO FROM THE HOST\nv2\n");
  EXPECT_EQ(run(vm, "stat -c %U /opt/hello.txt").out, "root\n");
  EXPECT_EQ(run(vm, "echo $GREETING").out, "from-the-recipe\n");  // the recipe's env
  // Its only name: removing it would remove the image under the VM.
  const CliResult refused = cli("image rm itest-recipe 2>&1");
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.out.find("image 'itest-recipe' is used by vm img-recipe"), std::string::npos)
      << refused.out;
  ASSERT_EQ(smolvm_vm_delete(vm), 0) << smolvm_last_error();
  smolvm_vm_free(vm);
  EXPECT_EQ(cli("image rm itest-recipe").status, 0);
}

TEST(Images, AFailedStepNamesItselfAndLeavesTheCacheAsItWas) {
  smolvm::test::TempDir tmp;
  const std::string recipe = write_recipe(tmp.path(), "\"echo about to fail; exit 3\"");
  const auto layers = entries_of(cache_dir() + "/layers");
  const auto images = entries_of(cache_dir() + "/images");
  const CliResult failed = cli("image build -f " + recipe + " 2>&1");
  EXPECT_NE(failed.status, 0);
  EXPECT_NE(failed.out.find("about to fail"), std::string::npos) << failed.out;
  EXPECT_NE(failed.out.find("small.yaml:7:5: run step failed"), std::string::npos) << failed.out;
  // The file step's layer may be new (it succeeded); nothing else is, and
  // no temporary folder is left.
  for (const auto& e : entries_of(cache_dir() + "/layers")) {
    EXPECT_NE(e.rfind(".build-", 0), 0u) << e << " left behind";
  }
  EXPECT_LE(entries_of(cache_dir() + "/layers").size(), layers.size() + 1);
  EXPECT_EQ(entries_of(cache_dir() + "/images"), images);
  EXPECT_FALSE(fs::is_symlink(cache_dir() + "/images/names/itest-recipe"));

  // A recipe that does not check out fails before any work, with its position.
  std::ofstream(tmp.path() + "/bad.yaml")
      << "apiVersion: smolvm/v1\nkind: ImageRecipe\nname: bad\nfiles: [{src: x, dest: ../x}]\n";
  const CliResult bad = cli("image build -f " + tmp.path() + "/bad.yaml 2>&1");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("bad.yaml:4:24: files[0].dest='../x': must be an absolute path"),
            std::string::npos)
      << bad.out;
}

TEST(Images, AVmBootsANamedImageAndKeepsItWhenTheNameGoes) {
  // Naming the default image's build: its layers are cached, so this only
  // links images/names/<name> (the build's own no-op path).
  const CliResult built = cli("image build --name itest-named --quiet");
  ASSERT_EQ(built.status, 0) << built.out;
  const std::string key = fs::path(fs::canonical(cache_dir() + "/images/default")).filename();
  EXPECT_EQ(fs::canonical(cache_dir() + "/images/names/itest-named").filename(), key);

  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.vm_id = "img-named";
  o.mem_size_mib = 256;
  o.image = "itest-named";
  smolvm_vm* vm = nullptr;
  ASSERT_EQ(smolvm_vm_create(&vm, runtime(), &o), 0) << smolvm_last_error();
  EXPECT_EQ(fs::path(info(vm).rootfs_path).parent_path().filename(), key);
  ASSERT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
  EXPECT_EQ(run(vm, "echo named").out, "named\n");

  const CliResult ls = cli("image ls");
  EXPECT_NE(ls.out.find("default,itest-named"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("vm img-named"), std::string::npos) << ls.out;
  // The image is the default too: the name alone goes, the VM keeps its image.
  const CliResult removed = cli("image rm itest-named 2>&1");
  EXPECT_EQ(removed.status, 0) << removed.out;
  EXPECT_FALSE(fs::is_symlink(cache_dir() + "/images/names/itest-named"));
  EXPECT_TRUE(fs::exists(cache_dir() + "/images/" + key + "/rootfs.ext4"))
      << "the default image went with its other name";
  EXPECT_EQ(run(vm, "echo still").out, "still\n");
  ASSERT_EQ(smolvm_vm_delete(vm), 0) << smolvm_last_error();
  smolvm_vm_free(vm);

  // A name that leads nowhere is refused at create, naming it.
  o.vm_id = "img-none";
  o.image = "itest-none";
  EXPECT_EQ(smolvm_vm_create(&vm, runtime(), &o), SMOLVM_ENOTFOUND);
  EXPECT_NE(std::string(smolvm_last_error()).find("image='itest-none': no such image"),
            std::string::npos);
}

// An OCI image the test builds itself with umoci (no registry is
// reachable): busybox, then an upper layer that deletes a file (a
// whiteout), then a config. Imported, it boots with the agent as its init.
TEST(Images, AnImportedOciImageBootsWithoutItsWhitedOutFile) {
  smolvm::test::TempDir tmp;
  const std::string d = tmp.path();
  std::string out;
  ASSERT_EQ(smolvm::test::sh(
                "set -e; cd '" + d +
                    "'; umoci init --layout L; umoci new --image L:t;"
                    " umoci unpack --image L:t B1 >/dev/null; mkdir -p B1/rootfs/bin B1/rootfs/etc;"
                    " cp /bin/busybox B1/rootfs/bin/; ln -s busybox B1/rootfs/bin/sh;"
                    " echo keep > B1/rootfs/etc/keep; echo gone > B1/rootfs/etc/gone;"
                    " ln -s /etc/keep B1/rootfs/etc/abs-link; umoci repack --image L:t B1;"
                    " umoci unpack --image L:t B2 >/dev/null; rm B2/rootfs/etc/gone;"
                    " umoci repack --image L:t B2;"
                    " umoci config --image L:t --config.env GREETING=imported"
                    " --config.workingdir /work --config.cmd /bin/sh 2>&1",
                &out),
            0)
      << out;
  const CliResult imported = cli("image import " + d + "/L --name itest-oci 2>&1");
  ASSERT_EQ(imported.status, 0) << imported.out;
  EXPECT_NE(imported.out.find("import: unpacking " + d + "/L (2 layers)"), std::string::npos)
      << imported.out;
  const CliResult inspect = cli("image inspect itest-oci");
  EXPECT_NE(inspect.out.find("\"workdir\": \"/work\""), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("\"/bin/sh\""), std::string::npos) << inspect.out;  // its Cmd

  smolvm_vm* vm = start_vm_of("img-oci", "itest-oci");
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(exec_argv(vm, {"/bin/busybox", "ls", "/etc"}).out, "abs-link\nhostname\nkeep\n");
  EXPECT_EQ(exec_argv(vm, {"/bin/busybox", "cat", "/etc/abs-link"}).out, "keep\n");
  EXPECT_EQ(exec_argv(vm, {"/bin/sh", "-c", "echo $GREETING"}).out, "imported\n");  // its Env
  ASSERT_EQ(smolvm_vm_delete(vm), 0) << smolvm_last_error();
  smolvm_vm_free(vm);
  EXPECT_EQ(cli("image rm itest-oci").status, 0);

  // Something that is not an image archive is refused before any work.
  std::ofstream(d + "/not-an-image.tar") << "plain text";
  const CliResult refused = cli("image import " + d + "/not-an-image.tar 2>&1");
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.out.find("is not a container image archive"), std::string::npos) << refused.out;
}

}  // namespace
}  // namespace vmtest
