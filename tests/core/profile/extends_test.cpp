// extends: the merge rule (mappings merge deep, scalars and lists are
// replaced by the child), paths relative to the file that wrote them, and
// refusal of cycles, overly deep chains and missing or invalid bases.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/profile/profile.h"
#include "test_util.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;
using testing::failure_of;
using testing::kHeader;

const std::string kDir = fs::path(PROFILE_CASES_DIR "/extends").lexically_normal().string();

// A profile file named `name` whose body follows the header lines.
std::string profile(const std::string& name, const std::string& body) {
  return "apiVersion: smolvm/v1\nkind: VMProfile\nname: " + name + "\n" + body;
}

TEST(ProfileExtends, MergesMappingsDeepAndReplacesScalarsAndLists) {
  const Profile p = load_profile(kDir + "/child.yaml");
  EXPECT_EQ(p.name, "child");             // scalar: the child's
  EXPECT_EQ(p.spec.vcpu_count, 4u);       // resources merged: base
  EXPECT_EQ(p.spec.mem_size_mib, 1024u);  // ... and mid
  EXPECT_EQ(p.spec.vmm, "qemu");          // backend merged: base
  EXPECT_EQ(p.spec.network, "nftables");  // base
  EXPECT_EQ(p.spec.executor, "agent");    // mid
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(p.env, (Env{{"A", "base"}, {"B", "mid"}, {"C", "child"}}));
  EXPECT_EQ(p.setup, std::vector<std::string>{"child-1"});  // list: replaced
  ASSERT_EQ(p.ports.size(), 1u);                            // list: replaced
  EXPECT_EQ(p.ports[0].guest_port, 8000);
  // Each relative path resolves against the folder of the file it is in.
  EXPECT_EQ(p.spec.kernel_path, kDir + "/base/kernels/vmlinux");
  EXPECT_EQ(p.spec.rootfs_path, kDir + "/team/rootfs.ext4");
  EXPECT_EQ(p.source_path, kDir + "/child.yaml");
  EXPECT_EQ(p.extends_chain,
            (std::vector<std::string>{kDir + "/child.yaml", kDir + "/team/mid.yaml",
                                      kDir + "/base/base.yaml"}));
}

TEST(ProfileExtends, AScalarReplacesAMapping) {
  // image: default in the child replaces the inherited {kernel, rootfs}.
  const Profile p = load_profile(kDir + "/image-default.yaml");
  EXPECT_EQ(p.spec.kernel_path, "");
  EXPECT_EQ(p.spec.rootfs_path, "");
  EXPECT_EQ(p.spec.mem_size_mib, 1024u);
}

TEST(ProfileExtends, RulesAcrossFieldsApplyToTheMergedResult) {
  // Each file is valid alone; together they forward a port with no network.
  const testing::Failure f = failure_of([] { load_profile(kDir + "/ports-over-no-network.yaml"); });
  EXPECT_EQ(f.status, SMOLVM_EINVAL);
  EXPECT_EQ(f.message, kDir +
                           "/ports-over-no-network.yaml:6:3: network.ports: forwarding ports "
                           "needs a network, but backend.network is 'none' (" +
                           kDir + "/no-network-base.yaml:4:21)");
}

TEST(ProfileExtends, PathsAreShownAsTheUserNamedThem) {
  testing::TempDir dir;
  dir.write("profiles/base/b.yaml", profile("b", "resources: {mem_size_mib: 1}\n"));
  dir.write("profiles/web.yaml", profile("web", "extends: base/b.yaml\n"));
  const fs::path cwd = fs::current_path();
  fs::current_path(dir.path());
  const testing::Failure f = failure_of([] { load_profile("profiles/web.yaml"); });
  fs::current_path(cwd);
  EXPECT_EQ(f.message, "profiles/base/b.yaml:4:27: resources.mem_size_mib=1: must be 128..16384");
}

TEST(ProfileExtends, CyclesAreRefusedWithTheChain) {
  testing::TempDir dir;
  const std::string a = dir.write("a.yaml", profile("a", "extends: b.yaml\n"));
  dir.write("b.yaml", profile("b", "extends: sub/c.yaml\n"));
  dir.write("sub/c.yaml", profile("c", "extends: ../a.yaml\n"));
  const std::string d = dir.path();
  const testing::Failure f = failure_of([&] { load_profile(a); });
  EXPECT_EQ(f.status, SMOLVM_EINVAL);
  EXPECT_EQ(f.message, d + "/sub/c.yaml:4:10: extends: cycle: " + d + "/a.yaml -> " + d +
                           "/b.yaml -> " + d + "/sub/c.yaml -> " + d + "/a.yaml");

  const std::string self = dir.write("self.yaml", profile("self", "extends: ./self.yaml\n"));
  EXPECT_EQ(failure_of([&] { load_profile(self); }).message,
            self + ":4:10: extends: cycle: " + self + " -> " + self);
}

TEST(ProfileExtends, ChainsDeeperThanTheLimitAreRefused) {
  testing::TempDir dir;
  // p0 extends p1 ... extends pN, which extends nothing.
  auto chain = [&](size_t hops) {
    for (size_t i = 0; i <= hops; ++i) {
      const std::string next = i < hops ? "extends: p" + std::to_string(i + 1) + ".yaml\n" : "";
      dir.write("p" + std::to_string(i) + ".yaml", profile("p" + std::to_string(i), next));
    }
    return (dir / "p0.yaml");
  };
  EXPECT_EQ(load_profile(chain(kProfileMaxExtends)).extends_chain.size(), kProfileMaxExtends + 1);
  const std::string d = dir.path();
  const testing::Failure f = failure_of([&] { load_profile(chain(kProfileMaxExtends + 1)); });
  std::string expected = d + "/p8.yaml:4:10: extends: more than 8 levels: ";
  for (int i = 0; i <= 8; ++i) expected += d + "/p" + std::to_string(i) + ".yaml -> ";
  EXPECT_EQ(f.message, expected + d + "/p9.yaml");
}

TEST(ProfileExtends, AMissingBaseIsNotFoundAtTheExtendsLine) {
  testing::TempDir dir;
  const std::string a = dir.write("a.yaml", profile("a", "extends: gone.yaml\n"));
  const testing::Failure f = failure_of([&] { load_profile(a); });
  EXPECT_EQ(f.status, SMOLVM_ENOTFOUND);
  EXPECT_EQ(f.message, a + ":4:10: extends: " + dir.path() +
                           "/gone.yaml: cannot open: No such file or directory");
}

TEST(ProfileExtends, EveryFileMustBeAValidProfileOnItsOwn) {
  testing::TempDir dir;
  // A base without a name is not a profile, even if the child has one.
  dir.write("base.yaml", "apiVersion: smolvm/v1\nkind: VMProfile\nenv: {A: b}\n");
  const std::string a = dir.write("a.yaml", profile("a", "extends: base.yaml\n"));
  EXPECT_EQ(failure_of([&] { load_profile(a); }).message,
            dir.path() + "/base.yaml:1:1: name: required");
}

// extends can name any file the process may read. One that is not a profile
// (here a stand-in for /etc/shadow) must never have its text quoted back.
TEST(ProfileExtends, NeverQuotesAFileThatIsNotAProfile) {
  testing::TempDir dir;
  const std::string secret = "root:$6$S3CRETHASH:19000:0:99999:7:::";
  for (const std::string& text :
       {secret + "\n", "[" + secret + "\n", secret + ": [1\n", "a: " + secret + "\n",
        "{" + secret + ": 1}\n", "&" + secret + " x\n", "!" + secret + " x\n",
        "a: 1\na: " + secret + "\n", secret + "\x01\n", secret + "\xC3\n"}) {
    const std::string shadow = dir.write("shadow", text);
    const std::string a = dir.write("a.yaml", profile("a", "extends: " + shadow + "\n"));
    const testing::Failure f = failure_of([&] { load_profile(a); });
    EXPECT_EQ(f.status, SMOLVM_EINVAL) << text;
    EXPECT_EQ(f.message.find("S3CRET"), std::string::npos) << f.message;
    // Bytes that are not YAML are refused while reading, at the extends line.
    const std::string what = shadow +
                             ": not a SmolVM profile: a profile is a YAML mapping with apiVersion: "
                             "smolvm/v1 and kind: VMProfile (the file's content is not shown)";
    EXPECT_TRUE(f.message == what || f.message == a + ":4:10: extends: " + what) << f.message;
    // The same file named directly.
    EXPECT_EQ(failure_of([&] { load_profile(shadow); }).message.find("S3CRET"), std::string::npos);
  }
}

TEST(ProfileExtends, WorksFromAStringWithAVirtualName) {
  const Profile p = load_profile_from_string(kHeader + std::string("extends: team/mid.yaml\n"),
                                             kDir + "/inline.yaml");
  EXPECT_EQ(p.name, "t");
  EXPECT_EQ(p.spec.mem_size_mib, 1024u);
  EXPECT_EQ(p.extends_chain.size(), 3u);
}

}  // namespace
}  // namespace smolvm
