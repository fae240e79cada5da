// The runtime without booting: create validates and rolls back, ids are
// reserved, delete removes files and rows. Uses real plugins and a real
// SQLite file in a temporary state folder.
#include "core/runtime/runtime.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/process.h"
#include "core/plugins/backend_choice.h"
#include "core/state/vm_writer.h"
#include "tests/support/failure.h"
#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    // A fake but real-on-disk image: create never boots it.
    std::ofstream(dir_ + "/vmlinux") << "kernel";
    std::ofstream(dir_ + "/rootfs.ext4") << std::string(1 << 20, '\0');
    opts_.state_dir = dir_ + "/state";
    opts_.cache_dir = dir_ + "/cache";
    opts_.plugin_path = SMOLVM_PLUGIN_BUILD_DIR;
    ::setenv("SMOLVM_SUPERVISOR", SMOLVM_SUPERVISOR_BUILD_PATH, 1);
    rt_ = std::make_unique<Runtime>(opts_);
  }

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

  test::TempDir tmp_;
  std::string dir_;
  RuntimeOptions opts_;
  std::unique_ptr<Runtime> rt_;
};

TEST_F(RuntimeTest, CreateRecordsAndPreparesAnIsolatedDisk) {
  const VmRecord rec = rt_->create(spec("a1"));
  EXPECT_EQ(rec.state, "created");
  const std::string disk = rec.runtime.disk_path;
  EXPECT_TRUE(fs::exists(disk)) << disk;
  EXPECT_EQ(rt_->get("a1").state, "created");
  EXPECT_EQ(rt_->list().size(), 1u);
  EXPECT_EQ(fs::status(rec.runtime.vm_dir).permissions() & fs::perms::all, fs::perms::owner_all);
}

// What qemu-img says the VM's disk is made of: {"virtual-size", "backing-filename", ...}.
nlohmann::json disk_info(const std::string& disk) {
  const CommandResult r = run_command({"qemu-img", "info", "--output=json", disk});
  return nlohmann::json::parse(r.output, nullptr, false);
}

// `smolvm image build` moves images/default to a new image when its inputs
// change. A VM made before must keep the base its disk was made over: its
// qcow2 overlay holds only its own writes, on top of that exact image.
// Core knows no backend by name: a name is checked against the plugins
// installed in the search path, and auto takes the best available one.
TEST_F(RuntimeTest, ABackendIsAnInstalledPluginAndAutoTakesTheBestAvailable) {
  VmSpec s = spec("named");
  s.vmm = "xen";
  try {
    rt_->create(s);
    FAIL() << "created with vmm=xen";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_EINVAL);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("vmm='xen': no such vmm plugin (allowed: auto, "), std::string::npos) << msg;
    EXPECT_NE(msg.find("qemu"), std::string::npos) << msg;
  }
  s.vmm = "auto";
  s.network = "carrier_pigeon";
  try {
    rt_->create(s);
    FAIL() << "created with network=carrier_pigeon";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("allowed: auto, none, "), std::string::npos) << e.what();
  }
  EXPECT_EQ(vm_dirs(), 0u);
  s.network = "none";
  const VmRecord rec = rt_->create(s);
  // This host has no hardware KVM, so Firecracker's probe says unavailable.
  EXPECT_EQ(rec.runtime.vmm, choose_auto_backend(rt_->plugins(), SMOLVM_PLUGIN_VMM));
  EXPECT_FALSE(rec.runtime.vmm.empty());
  EXPECT_EQ(rec.runtime.executor, "agent");
  EXPECT_EQ(rec.runtime.network, "none");
}

TEST_F(RuntimeTest, AVmKeepsItsImageWhenTheDefaultMovesToANewOne) {
  const std::string images = opts_.cache_dir + "/images";
  for (const char* key : {"aaaa", "bbbb"}) {
    fs::create_directories(images + "/" + key);
    std::ofstream(images + "/" + key + "/vmlinux") << "kernel " << key;
    std::ofstream(images + "/" + key + "/rootfs.ext4") << std::string(1 << 20, key[0]);
  }
  fs::create_directory_symlink("aaaa", images + "/default");
  VmSpec s;
  s.vm_id = "old";
  const VmRecord old = rt_->create(s);
  EXPECT_EQ(old.runtime.kernel_path, images + "/aaaa/vmlinux");
  EXPECT_EQ(old.runtime.rootfs_path, images + "/aaaa/rootfs.ext4");
  EXPECT_EQ(disk_info(old.runtime.disk_path).value("backing-filename", ""),
            images + "/aaaa/rootfs.ext4");

  // The rebuild: default now names the other image.
  fs::remove(images + "/default");
  fs::create_directory_symlink("bbbb", images + "/default");
  EXPECT_EQ(rt_->get("old").runtime.rootfs_path, images + "/aaaa/rootfs.ext4");
  EXPECT_EQ(disk_info(old.runtime.disk_path).value("backing-filename", ""),
            images + "/aaaa/rootfs.ext4");
  s.vm_id = "new";
  EXPECT_EQ(rt_->create(s).runtime.rootfs_path, images + "/bbbb/rootfs.ext4");
}

TEST_F(RuntimeTest, TheDiskTakesTheImagesSizeOrTheOneAskedFor) {
  const VmRecord plain = rt_->create(spec("d1"));
  EXPECT_EQ(plain.runtime.disk_size_mib, 1);  // the 1 MiB fake image
  EXPECT_EQ(disk_info(plain.runtime.disk_path).value("virtual-size", uint64_t{0}),
            uint64_t{1} << 20);
  VmSpec s = spec("d2");
  s.disk_size_mib = 96;
  const VmRecord big = rt_->create(s);
  EXPECT_EQ(big.runtime.disk_size_mib, 96);
  EXPECT_EQ(disk_info(big.runtime.disk_path).value("virtual-size", uint64_t{0}),
            uint64_t{96} << 20);
}

// Firecracker's disk is a sparse raw copy: grown by truncate, no KVM needed
// to make it.
TEST_F(RuntimeTest, AFirecrackerDiskIsGrownSparsely) {
  VmSpec s = spec("fcd");
  s.vmm = "firecracker";
  s.disk_size_mib = 96;
  const VmRecord rec = rt_->create(s);
  const std::string disk = rec.runtime.disk_path;
  EXPECT_EQ(fs::file_size(disk), uint64_t{96} << 20);
  struct stat st;
  ASSERT_EQ(::stat(disk.c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, 8 << 20) << "not sparse";
}

TEST_F(RuntimeTest, ADiskSmallerThanTheImageIsRefusedAndLeavesNothing) {
  // A sparse 128 MiB image: no room for the file system in 64 MiB.
  fs::resize_file(dir_ + "/rootfs.ext4", uint64_t{128} << 20);
  VmSpec s = spec("d3");
  s.disk_size_mib = 64;
  try {
    rt_->create(s);
    FAIL() << "created";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_EINVAL);
    EXPECT_EQ(std::string(e.what()),
              "disk_size_mib=64: must be at least the image's size, 128 MiB (" + dir_ +
                  "/rootfs.ext4), up to 1048576");
  }
  EXPECT_TRUE(rt_->list().empty());
  EXPECT_FALSE(fs::exists(opts_.state_dir + "/vms/d3"));
}

TEST_F(RuntimeTest, SharedDiskModeMakesNoDisk) {
  VmSpec s = spec("s1");
  s.disk_mode = "shared";
  const VmRecord rec = rt_->create(s);
  EXPECT_EQ(rec.runtime.disk_path, "");
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
  EXPECT_FALSE(fs::exists(rec.runtime.vm_dir));
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
  EXPECT_NE(rec.runtime.last_error.find("supervisor"), std::string::npos);
  EXPECT_TRUE(rt_->store().processes("dead").empty());
  EXPECT_FALSE(fs::exists(opts_.state_dir + "/vms/orphan"));
  EXPECT_EQ(rt_->gc(), 0u);  // nothing left to repair
}

// Reads never write: get() and list() of a VM whose supervisor died show
// it not running, yet leave the store (row, process rows) and its files as
// they were; gc then repairs it.
TEST_F(RuntimeTest, GetOfAVmWithADeadSupervisorWritesNothingAndGcRepairsIt) {
  const VmRecord created = rt_->create(spec("ghost"));
  rt_->store().update("ghost", "running", nullptr, nullptr, "");
  update_record(rt_->store(), "ghost", [](VmRecord& r) {
    r.runtime.supervisor_pid = 999999;
    r.runtime.vmm_pid = 999998;
  });
  rt_->store().set_process({"ghost", "supervisor", 999999, 12345});  // no such process
  const std::string sock = created.runtime.supervisor_socket;
  std::ofstream(sock) << "";  // what the dead supervisor left
  // and what its VMM left: the files the VMM plugin's cleanup slot removes
  // (auto chose the plugin; a QEMU's sockets are these).
  const std::vector<std::string> vmm_files = {created.runtime.vm_dir + "/agent.sock",
                                              created.runtime.vm_dir + "/qmp.sock"};
  ASSERT_EQ(created.runtime.vmm, "qemu");
  for (const auto& f : vmm_files) std::ofstream(f) << "";
  const VmRecord stored = rt_->store().get("ghost");

  for (const VmRecord& seen : {rt_->get("ghost"), rt_->list().at(0)}) {
    EXPECT_EQ(seen.state, "failed");
    EXPECT_EQ(seen.runtime.supervisor_pid, 0);
    EXPECT_EQ(seen.runtime.vmm_pid, 0);
    EXPECT_NE(seen.runtime.last_error.find("supervisor (pid 999999) is gone"), std::string::npos)
        << seen.runtime.last_error;
  }
  const VmRecord after = rt_->store().get("ghost");
  EXPECT_EQ(after.state, "running");
  EXPECT_EQ(after.updated_at_ms, stored.updated_at_ms);
  EXPECT_EQ(to_json(after.runtime), to_json(stored.runtime));
  EXPECT_EQ(rt_->store().processes("ghost").size(), 1u);
  EXPECT_TRUE(fs::exists(sock));

  EXPECT_EQ(rt_->gc(), 1u);
  const VmRecord repaired = rt_->store().get("ghost");
  EXPECT_EQ(repaired.state, "failed");
  EXPECT_EQ(repaired.runtime.supervisor_pid, 0);
  EXPECT_NE(repaired.runtime.last_error.find("the VM was cleaned up"), std::string::npos);
  EXPECT_TRUE(rt_->store().processes("ghost").empty());
  EXPECT_FALSE(fs::exists(sock));
  for (const auto& f : vmm_files) EXPECT_FALSE(fs::exists(f)) << f;
  EXPECT_EQ(rt_->gc(), 0u);
}

// A process started outside this test's process tree, like a VMM whose
// supervisor died: its pid, or 0.
int64_t orphan_sleeper() {
  FILE* f = ::popen("sleep 60 >/dev/null 2>&1 & echo $!", "r");
  if (!f) return 0;
  long long pid = 0;
  if (std::fscanf(f, "%lld", &pid) != 1) pid = 0;
  ::pclose(f);
  return pid;
}

// The repair is `smolvm-supervisor --cleanup` (the supervisor's own
// teardown): a VMM left running by a dead supervisor is killed.
TEST_F(RuntimeTest, GcKillsTheVmmADeadSupervisorLeft) {
  rt_->create(spec("orphan"));
  rt_->store().update("orphan", "running", nullptr, nullptr, "");
  const int64_t vmm = orphan_sleeper();
  ASSERT_GT(vmm, 0);
  ASSERT_TRUE(process_alive(vmm, process_start_time(vmm)));
  rt_->store().set_process({"orphan", "vmm", vmm, process_start_time(vmm)});
  rt_->store().set_process({"orphan", "supervisor", 999999, 12345});  // no such process
  EXPECT_EQ(rt_->gc(), 1u);
  EXPECT_FALSE(process_alive(vmm, -1));
  EXPECT_EQ(rt_->store().get("orphan").state, "failed");
  EXPECT_TRUE(rt_->store().processes("orphan").empty());
}

// A repair that cannot run says so and leaves the record for the next try.
TEST_F(RuntimeTest, GcWithoutItsCleanupProgramFailsClearlyAndChangesNothing) {
  rt_->create(spec("stuck"));
  rt_->store().update("stuck", "running", nullptr, nullptr, "");
  rt_->store().set_process({"stuck", "supervisor", 999999, 12345});
  ::setenv("SMOLVM_SUPERVISOR", (dir_ + "/no-such-supervisor").c_str(), 1);
  try {
    rt_->gc();
    FAIL() << "gc succeeded without its cleanup program";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_EIO);
    EXPECT_NE(std::string(e.what()).find("cleaning up after vm 'stuck': smolvm-supervisor "
                                         "--cleanup exited with status 127"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(rt_->store().get("stuck").state, "running");
  ::setenv("SMOLVM_SUPERVISOR", SMOLVM_SUPERVISOR_BUILD_PATH, 1);
  EXPECT_EQ(rt_->gc(), 1u);
  EXPECT_EQ(rt_->store().get("stuck").state, "failed");
}

// A call that acts on the VM repairs it first, as gc would.
TEST_F(RuntimeTest, StopOfAVmWithADeadSupervisorRepairsIt) {
  rt_->create(spec("ghost2"));
  rt_->store().update("ghost2", "running", nullptr, nullptr, "");
  rt_->store().set_process({"ghost2", "supervisor", 999999, 12345});
  rt_->stop("ghost2", 1000);
  EXPECT_EQ(rt_->store().get("ghost2").state, "failed");
  EXPECT_TRUE(rt_->store().processes("ghost2").empty());
  EXPECT_EQ(rt_->gc(), 0u);
}

// The executor's VM hooks through the runtime, with the hook test plugin
// (executor_hooks_test.cpp): create keeps what vm_created set and rolls a
// failing one back; a failing vm_booting leaves the VM as it was.
class RuntimeHooksTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    opts_.plugin_path = std::string(HOOK_PLUGIN_DIR) + ":" + SMOLVM_PLUGIN_BUILD_DIR;
    rt_ = std::make_unique<Runtime>(opts_);
  }
  VmSpec hook_spec(const std::string& id) {
    VmSpec s = spec(id);
    s.executor = "hooktest";
    s.network = "none";
    return s;
  }
};

TEST_F(RuntimeHooksTest, CreateStoresWhatTheExecutorSetAndRollsBackWhenItsHookFails) {
  Runtime& rt = *rt_;
  VmSpec s = hook_spec("h2");
  const VmRecord rec = rt.create(s);
  EXPECT_EQ(rec.runtime.executor_data["created"]["vm_id"], "h2");
  EXPECT_EQ(rt.store().get("h2").runtime.executor_data["created"]["vm_dir"], rec.runtime.vm_dir);

  s.vm_id = "fail2";
  const test::Failure f = test::failure_of([&] { rt.create(s); });
  EXPECT_NE(f.message.find("refused on purpose"), std::string::npos) << f.message;
  EXPECT_EQ(test::failure_of([&] { rt.store().get("fail2"); }).status, SMOLVM_ENOTFOUND);
  EXPECT_FALSE(fs::exists(opts_.state_dir + "/vms/fail2"));
}

TEST_F(RuntimeHooksTest, AFailingVmBootingHookLeavesTheVmAsItWas) {
  Runtime& rt = *rt_;
  rt.create(hook_spec("h3"));
  update_record(rt.store(), "h3",
                [](VmRecord& r) { r.runtime.executor_data["fail_booting"] = true; });
  const test::Failure f = test::failure_of([&] { rt.start("h3"); });
  EXPECT_NE(f.message.find("executor 'hooktest' vm_booting"), std::string::npos) << f.message;
  const VmRecord after = rt.store().get("h3");
  EXPECT_EQ(after.state, "created");
  EXPECT_EQ(after.runtime.boot_args, "");
  EXPECT_FALSE(after.runtime.executor_data.contains("boots"));
}

// A snapshot whose writer was killed leaves its .tmp- folder (named with
// the writer's pid) or a .rm- folder: gc removes those, never the folder of
// a snapshot being written by a live process, nor a published one.
TEST_F(RuntimeTest, GcRemovesWhatDeadSnapshotWritersLeft) {
  const std::string snaps = opts_.state_dir + "/snapshots";
  const std::string dead = snaps + "/.tmp-snap-0000000a.999999999";
  const std::string live = snaps + "/.tmp-snap-0000000b." + std::to_string(::getpid());
  const std::string removing = snaps + "/.rm-snap-0000000c";
  const std::string published = snaps + "/snap-0000000d";
  for (const auto& d : {dead, live, removing, published}) fs::create_directories(d + "/x");
  EXPECT_EQ(rt_->gc(), 2u);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(removing));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(published));
}

}  // namespace
}  // namespace smolvm
