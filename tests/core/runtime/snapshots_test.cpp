// Snapshot manifests, listing and the restore checks (core/runtime/snapshots.h),
// on real folders in a temporary state dir. Taking and restoring snapshots
// of real VMs is tests/integration/snapshot_test.cpp.
#include "core/runtime/snapshots.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "core/common/error.h"
#include "core/common/paths.h"
#include "core/runtime/image_users.h"
#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

class Snapshots : public ::testing::Test {
 protected:
  // A snapshot folder as Runtime::snapshot leaves it, with a state of
  // state_bytes bytes.
  Snapshot make(const std::string& id, const std::string& name, int64_t created,
                uint64_t state_bytes = 100) {
    Snapshot s;
    s.id = id;
    s.name = name;
    s.dir = snapshot_dir(tmp_.path(), id);
    s.source_vm = "vm-1";
    s.created_at_ms = created;
    s.vcpu_count = 2;
    s.mem_size_mib = 512;
    s.kernel_path = "/img/vmlinux";
    s.rootfs_path = "/img/rootfs.ext4";
    s.vmm = "qemu";
    s.executor = "agent";
    s.accel = "tcg";
    s.state_bytes = state_bytes;
    s.disk_bytes = 10;
    s.layers = {snapshot_disk_file(s.dir)};
    fs::create_directories(s.dir);
    std::ofstream(s.dir + "/manifest.json") << to_json(s).dump();
    std::ofstream(snapshot_state_file(s.dir)) << std::string(100, 's');
    std::ofstream(snapshot_disk_file(s.dir)) << "qcow2";
    return s;
  }

  std::string message_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      status_ = e.status();
      return e.what();
    }
    return "";
  }

  test::TempDir tmp_;
  int status_ = 0;
};

TEST_F(Snapshots, ManifestReadsBackWhatWasWritten) {
  const Snapshot s = make("snap-00000001", "base", 5);
  const Snapshot back = snapshot_from_json(to_json(s), s.dir);
  EXPECT_EQ(to_json(back), to_json(s));
  EXPECT_EQ(back.dir, s.dir);
}

TEST_F(Snapshots, DamagedManifestNamesTheFolderAndTheField) {
  const Snapshot s = make("snap-00000001", "", 5);
  auto j = to_json(s);
  j.erase("mem_size_mib");
  EXPECT_EQ(message_of([&] { snapshot_from_json(j, s.dir); }),
            "snapshot " + s.dir + " is damaged: manifest.json has no 'mem_size_mib'");
  EXPECT_EQ(status_, SMOLVM_EINVAL);
  j = to_json(s);
  j["vcpu_count"] = "two";
  EXPECT_EQ(message_of([&] { snapshot_from_json(j, s.dir); }),
            "snapshot " + s.dir + " is damaged: manifest.json: 'vcpu_count' has the wrong type");
}

// A networked VM's snapshot names its plugin, which every restore takes;
// one written before snapshots could have a network has none.
TEST_F(Snapshots, TheNetworkPluginIsKeptAndAnOlderManifestHasNone) {
  Snapshot s = make("snap-00000001", "", 5);
  EXPECT_EQ(s.network, "none");
  s.network = "nftables";
  auto j = to_json(s);
  EXPECT_EQ(j["network"], "nftables");
  EXPECT_EQ(snapshot_from_json(j, s.dir).network, "nftables");
  j.erase("network");
  EXPECT_EQ(snapshot_from_json(j, s.dir).network, "none");
  j["network"] = 7;
  EXPECT_EQ(message_of([&] { snapshot_from_json(j, s.dir); }),
            "snapshot " + s.dir + " is damaged: manifest.json: 'network' has the wrong type");
  j["network"] = "";
  EXPECT_EQ(message_of([&] { snapshot_from_json(j, s.dir); }),
            "snapshot " + s.dir + " is damaged: manifest.json: 'network' is empty");
}

TEST_F(Snapshots, ListsOldestFirstAndFindsByIdOrName) {
  make("snap-0000000b", "later", 20);
  make("snap-0000000a", "earlier", 10);
  fs::create_directories(snapshots_dir(tmp_.path()) + "/.tmp-snap-0000000c");  // being written
  const auto all = list_snapshots(tmp_.path());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "snap-0000000a");
  EXPECT_EQ(all[1].id, "snap-0000000b");
  EXPECT_EQ(find_snapshot(tmp_.path(), "later").id, "snap-0000000b");
  EXPECT_EQ(find_snapshot(tmp_.path(), "snap-0000000a").name, "earlier");
  EXPECT_EQ(message_of([&] { find_snapshot(tmp_.path(), "nope"); }),
            "snapshot 'nope' not found (smolvm snapshot ls lists them)");
  EXPECT_EQ(status_, SMOLVM_ENOTFOUND);
}

TEST_F(Snapshots, ADamagedSnapshotIsNamedAsSuchNotAsMissing) {
  const Snapshot s = make("snap-0000000d", "", 1);
  std::ofstream(s.dir + "/manifest.json") << "{not json";
  EXPECT_TRUE(list_snapshots(tmp_.path()).empty());
  const std::string m = message_of([&] { find_snapshot(tmp_.path(), "snap-0000000d"); });
  EXPECT_EQ(m.rfind("snapshot " + s.dir + " is damaged: manifest.json is not JSON", 0), 0u) << m;
  EXPECT_EQ(status_, SMOLVM_EINVAL);
}

TEST_F(Snapshots, RestoreOnAnotherMachineIsRefusedNamingTheMismatch) {
  const Snapshot s = make("snap-00000001", "", 1);
  check_restore_matches(s, 0, 0, "", "");    // the snapshot's own
  check_restore_matches(s, 2, 512, "", "");  // restated
  EXPECT_EQ(message_of([&] { check_restore_matches(s, 4, 0, "", ""); }),
            "vcpu_count=4: snapshot snap-00000001 was taken with 2 vCPUs, and a saved VM runs "
            "only on the machine it was saved from (leave vcpu_count unset to take the "
            "snapshot's)");
  EXPECT_EQ(status_, SMOLVM_EINVAL);
  EXPECT_NE(message_of([&] {
              check_restore_matches(s, 0, 1024, "", "");
            }).find("mem_size_mib=1024: snapshot snap-00000001 was taken with 512 MiB"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              check_restore_matches(s, 0, 0, "", "/other/rootfs.ext4");
            }).find("was taken with the image /img/rootfs.ext4"),
            std::string::npos);
}

TEST_F(Snapshots, TruncatedOrMissingStateIsRefused) {
  const Snapshot ok = make("snap-00000001", "", 1, 100);
  check_snapshot_files(ok);
  const Snapshot shorter = make("snap-00000002", "", 1, 4096);  // recorded larger than written
  EXPECT_EQ(message_of([&] { check_snapshot_files(shorter); }),
            "snapshot " + shorter.dir + " is damaged: its state file " +
                snapshot_state_file(shorter.dir) +
                " has 100 bytes, the snapshot recorded 4096 (truncated or replaced)");
  fs::remove(snapshot_disk_file(ok.dir));
  EXPECT_EQ(message_of([&] { check_snapshot_files(ok); }),
            "snapshot " + ok.dir + " is damaged: its disk layer " + snapshot_disk_file(ok.dir) +
                " is missing");
}

TEST_F(Snapshots, UsersAreTheFoldersThatStillExist) {
  const Snapshot s = make("snap-00000001", "", 1);
  const std::string vm = tmp_.path() + "/vms/vm-2";
  fs::create_directories(vm);
  add_folder_user(s.dir, vm);
  add_folder_user(s.dir, tmp_.path() + "/vms/gone");
  EXPECT_EQ(folder_users(s.dir), std::vector<std::string>{vm});
  remove_folder_user(s.dir, vm);
  EXPECT_TRUE(folder_users(s.dir).empty());
}

TEST(SnapshotNames, FollowTheRule) {
  EXPECT_TRUE(is_valid_snapshot_name("base-1.2_x"));
  EXPECT_FALSE(is_valid_snapshot_name(""));
  EXPECT_FALSE(is_valid_snapshot_name("-x"));
  EXPECT_FALSE(is_valid_snapshot_name("Upper"));
  EXPECT_FALSE(is_valid_snapshot_name(std::string(64, 'a')));
  EXPECT_EQ(generate_snapshot_id().rfind("snap-", 0), 0u);
}

}  // namespace
}  // namespace smolvm
