// Snapshots of a real VM (QEMU): taken while it runs, restored into new VMs
// that see the files written before but not each other's later writes, get
// their own RNG and the host's clock; a damaged snapshot is refused and
// leaves nothing; restoring onto another machine is refused naming the
// mismatch; rm is refused while a VM uses the snapshot's disk layer.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/temp_dir.h"
#include "tests/support/vm_fixture.h"

namespace vmtest {
namespace {

namespace fs = std::filesystem;

std::string snapshot_folder(const std::string& id) { return state_dir() + "/snapshots/" + id; }

size_t vm_count() {
  smolvm_strarray list{};
  EXPECT_EQ(smolvm_runtime_list(&list, runtime()), 0) << last_error();
  const size_t n = list.count;
  smolvm_strarray_dispose(&list);
  return n;
}

TEST(Snapshot, RestoredVmsRunOnFromTheSnapshotEachWithItsOwnDiskRngAndTheHostsClock) {
  smolvm_vm* src = create_and_start("snapsrc");
  ASSERT_NE(src, nullptr);
  ASSERT_EQ(run(src, "echo before > /root/before").exit_code, 0);
  const std::string snap = snapshot(src, "base");
  ASSERT_FALSE(snap.empty());
  // The source runs on, on its own disk.
  EXPECT_TRUE(answers(src));
  ASSERT_EQ(run(src, "echo source > /root/later").exit_code, 0);
  // 7.2 lets the same QEMU save again once it runs on: a second snapshot works.
  const std::string again = snapshot(src, nullptr);
  EXPECT_FALSE(again.empty());
  EXPECT_TRUE(answers(src));

  smolvm_vm* a = restore(snap, "snapa");
  ASSERT_NE(a, nullptr) << last_error();
  smolvm_vm* b = restore(snap, "snapb");
  ASSERT_NE(b, nullptr) << last_error();
  ASSERT_EQ(smolvm_vm_start(a), 0) << last_error();
  ASSERT_EQ(smolvm_vm_start(b), 0) << last_error();
  for (smolvm_vm* vm : {a, b}) {
    EXPECT_EQ(run(vm, "cat /root/before").out, "before\n");
    EXPECT_EQ(run(vm, "cat /root/later 2>&1; true").out.find("source"), std::string::npos);
  }
  ASSERT_EQ(run(a, "echo a > /root/mine").exit_code, 0);
  EXPECT_NE(run(b, "cat /root/mine").exit_code, 0);
  EXPECT_NE(run(src, "cat /root/mine").exit_code, 0);

  // What a clone must not share: the RNG and the clock.
  const std::string uuid_a = run(a, "cat /proc/sys/kernel/random/uuid").out;
  const std::string uuid_b = run(b, "cat /proc/sys/kernel/random/uuid").out;
  EXPECT_EQ(uuid_a.size(), 37u);
  EXPECT_NE(uuid_a, uuid_b);
  const std::string bytes_a = run(a, "head -c 32 /dev/urandom | od -An -tx1").out;
  const std::string bytes_b = run(b, "head -c 32 /dev/urandom | od -An -tx1").out;
  EXPECT_NE(bytes_a, bytes_b);
  for (smolvm_vm* vm : {a, b}) {
    const double before = host_now();
    const Result r = run(vm, "date +%s.%N");
    const double after = host_now();
    const double guest = std::strtod(r.out.c_str(), nullptr);
    EXPECT_GT(guest, before - 1.0) << r.out;
    EXPECT_LT(guest, after + 1.0) << r.out;
  }

  // The snapshot's layer is under a and b: rm is refused, naming them.
  EXPECT_EQ(smolvm_snapshot_delete(runtime(), snap.c_str()), SMOLVM_ESTATE);
  EXPECT_NE(last_error().find("is in use"), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("/vms/snapa"), std::string::npos) << last_error();
  char* listed = nullptr;
  ASSERT_EQ(smolvm_snapshot_inspect(&listed, runtime(), "base"), 0) << last_error();
  EXPECT_NE(std::string(listed).find("\"source_vm\": \"snapsrc\""), std::string::npos) << listed;
  smolvm_free(listed);

  // Another machine than the snapshot's is refused, and makes nothing.
  const size_t vms = vm_count();
  EXPECT_EQ(restore(snap, "snapbig", 1024), nullptr);
  EXPECT_NE(last_error().find("mem_size_mib=1024: snapshot " + snap + " was taken with 256 MiB"),
            std::string::npos)
      << last_error();
  EXPECT_EQ(vm_count(), vms);

  for (smolvm_vm* vm : {a, b}) {
    EXPECT_EQ(smolvm_vm_delete(vm), 0) << last_error();
    smolvm_vm_free(vm);
  }
  EXPECT_EQ(smolvm_snapshot_delete(runtime(), snap.c_str()), 0) << last_error();
  EXPECT_EQ(smolvm_snapshot_delete(runtime(), again.c_str()), 0) << last_error();
  EXPECT_FALSE(fs::exists(snapshot_folder(snap)));
  EXPECT_EQ(smolvm_vm_delete(src), 0) << last_error();
  smolvm_vm_free(src);
}

TEST(Snapshot, StopAfterwardsThenAStoppedVmIsRefusedAndADamagedStateIsRefused) {
  smolvm_vm* src = create_and_start("snapstop");
  ASSERT_NE(src, nullptr);
  const std::string snap = snapshot(src, nullptr, /*stop=*/true);
  ASSERT_FALSE(snap.empty());
  // Stopped when the call returns, not only on its way down.
  EXPECT_STREQ(info(src).state_name, "stopped");
  char* id = nullptr;
  EXPECT_EQ(smolvm_vm_snapshot(&id, src, nullptr), SMOLVM_ESTATE);
  EXPECT_EQ(last_error(),
            "vm 'snapstop' is stopped: only a running or paused VM can be snapshotted");
  EXPECT_EQ(id, nullptr);
  // Nothing was left of the refused one.
  size_t folders = 0;
  for (const auto& e : fs::directory_iterator(state_dir() + "/snapshots")) {
    (void)e;
    ++folders;
  }
  EXPECT_EQ(folders, 1u);

  const std::string state = snapshot_folder(snap) + "/state";
  const auto size = fs::file_size(state);
  const size_t vms = vm_count();
  // Truncated: refused before anything is made.
  fs::resize_file(state, size / 2);
  EXPECT_EQ(restore(snap, "snaptrunc"), nullptr);
  EXPECT_NE(last_error().find("(truncated or replaced)"), std::string::npos) << last_error();
  EXPECT_EQ(vm_count(), vms);
  EXPECT_FALSE(fs::exists(state_dir() + "/vms/snaptrunc"));
  // Corrupt (the size it should have, garbage from the start): QEMU refuses
  // to load it, the start fails saying so, and no process is left.
  {
    std::ofstream f(state, std::ios::binary | std::ios::trunc);
    f << std::string(size, '\x5a');
  }
  smolvm_vm* bad = restore(snap, "snapbad");
  ASSERT_NE(bad, nullptr) << last_error();
  EXPECT_NE(smolvm_vm_start(bad), 0);
  EXPECT_NE(last_error().find("could not load the saved state"), std::string::npos) << last_error();
  EXPECT_EQ(info(bad).state, SMOLVM_STATE_FAILED);
  // QEMU is gone with its sockets.
  for (const auto& f : files_in(state_dir() + "/vms/snapbad")) {
    EXPECT_EQ(f.find(".sock"), std::string::npos) << f << " left behind";
  }
  EXPECT_EQ(smolvm_vm_delete(bad), 0) << last_error();
  smolvm_vm_free(bad);
  EXPECT_EQ(smolvm_snapshot_delete(runtime(), snap.c_str()), 0) << last_error();
  EXPECT_EQ(smolvm_vm_delete(src), 0) << last_error();
  smolvm_vm_free(src);
}

TEST(Snapshot, CliCreatesListsRestoresAndRemoves) {
  smolvm_vm* src = create_and_start("snapcli");
  ASSERT_NE(src, nullptr);
  ASSERT_EQ(run(src, "echo before > /root/before").exit_code, 0);
  const CliResult made = cli("snapshot create snapcli --name clisnap");
  ASSERT_EQ(made.status, 0) << made.out;
  EXPECT_EQ(made.out.rfind("snap-", 0), 0u) << made.out;
  const CliResult ls = cli("snapshot ls");
  EXPECT_NE(ls.out.find("clisnap"), std::string::npos) << ls.out;
  const CliResult mismatch = cli("create --from-snapshot clisnap --vcpus 3");
  EXPECT_NE(mismatch.status, 0);
  EXPECT_NE(mismatch.out.find("vcpu_count=3"), std::string::npos) << mismatch.out;
  const CliResult restored = cli("create --from-snapshot clisnap --id snapclir --start");
  ASSERT_EQ(restored.status, 0) << restored.out;
  EXPECT_EQ(cli("run snapclir -- true").status, 0);

  // A profile that names the snapshot: a restore with the profile's own env
  // (after the snapshot's) and setup (after the first start).
  const smolvm::test::TempDir dir;
  const std::string profile = dir.write("warm.yaml",
                                        "apiVersion: smolvm/v1\nkind: VMProfile\nname: warm\n"
                                        "snapshot: clisnap\nenv: { GREETING: hello }\n"
                                        "setup: [ \"echo ran > /root/setup-ran\" ]\n");
  const CliResult from_profile = cli("create --profile " + profile + " --id snapprof --start");
  ASSERT_EQ(from_profile.status, 0) << from_profile.out;
  const CliResult seen =
      cli("exec snapprof -- sh -c 'cat /root/before /root/setup-ran; echo $GREETING'");
  EXPECT_EQ(seen.out, "before\nran\nhello\n");
  EXPECT_NE(cli("inspect snapprof").out.find("restored from snapshot"), std::string::npos);
  const std::string missing = dir.write("missing.yaml",
                                        "apiVersion: smolvm/v1\nkind: VMProfile\nname: gone\n"
                                        "snapshot: no-such-snapshot\n");
  const CliResult refused = cli("create --profile " + missing);
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.out.find("missing.yaml: snapshot: snapshot 'no-such-snapshot' not found"),
            std::string::npos)
      << refused.out;
  EXPECT_EQ(cli("rm -f snapprof").status, 0);

  EXPECT_NE(cli("snapshot rm clisnap").status, 0);
  EXPECT_EQ(cli("rm -f snapclir").status, 0);
  EXPECT_EQ(cli("snapshot rm clisnap").status, 0);
  EXPECT_EQ(smolvm_vm_delete(src), 0) << last_error();
  smolvm_vm_free(src);
}

// A VM its idle policy paused is snapshotted as it stands (no sync: its
// memory and disk are saved at one instant), stays paused and wakes at the
// next command; a VM restored from it has no time limits of its own (the
// source's are not carried over) unless it is given some.
TEST(Snapshot, AnIdlePausedVmIsSnapshottedAndItsRestoresHaveOnlyTheTimeLimitsGiven) {
  const CliResult made =
      cli("create --id snapidle --mem 256 --idle-timeout 2 --ttl 3600 --on-ttl stop --start");
  ASSERT_EQ(made.status, 0) << made.out;
  smolvm_vm* src = nullptr;
  ASSERT_EQ(smolvm_vm_open(&src, runtime(), "snapidle"), 0) << last_error();
  ASSERT_EQ(run(src, "echo kept > /root/f").exit_code, 0);
  ASSERT_EQ(wait_state_change(src, "running", 60000), "paused");
  ASSERT_STREQ(info(src).paused_by, "idle");
  const std::string snap = snapshot(src, nullptr);
  ASSERT_FALSE(snap.empty());
  // Still paused by its idle policy: the next command wakes it.
  EXPECT_STREQ(info(src).state_name, "paused");
  EXPECT_STREQ(info(src).paused_by, "idle");
  EXPECT_EQ(run(src, "cat /root/f").out, "kept\n");

  smolvm_vm* restored = restore(snap, "snapidler");
  ASSERT_NE(restored, nullptr) << last_error();
  const smolvm_vm_info r = info(restored);
  EXPECT_EQ(r.ttl_s, 0u);
  EXPECT_EQ(r.idle_timeout_s, 0u);
  ASSERT_EQ(smolvm_vm_start(restored), 0) << last_error();
  EXPECT_EQ(run(restored, "cat /root/f").out, "kept\n");
  EXPECT_STREQ(info(restored).paused_by, "");
  EXPECT_EQ(smolvm_vm_delete(restored), 0) << last_error();
  smolvm_vm_free(restored);

  // A restore given lifetimes of its own keeps them: idle for 2 s, its
  // policy pauses it, and the next command wakes it.
  const CliResult given = cli("create --from-snapshot " + snap +
                              " --id snapidle2 --idle-timeout 2 --ttl 1h --on-ttl stop --start");
  ASSERT_EQ(given.status, 0) << given.out;
  smolvm_vm* lived = nullptr;
  ASSERT_EQ(smolvm_vm_open(&lived, runtime(), "snapidle2"), 0) << last_error();
  const smolvm_vm_info l = info(lived);
  EXPECT_EQ(l.ttl_s, 3600u);
  EXPECT_STREQ(l.on_ttl, "stop");
  EXPECT_EQ(l.idle_timeout_s, 2u);
  EXPECT_EQ(wait_state_change(lived, "running", 60000), "paused");
  EXPECT_STREQ(info(lived).paused_by, "idle");
  EXPECT_EQ(run(lived, "cat /root/f").out, "kept\n");
  EXPECT_EQ(smolvm_vm_delete(lived), 0) << last_error();
  smolvm_vm_free(lived);
  // A bad one is refused naming the field, and leaves no VM.
  const size_t vms = vm_count();
  const CliResult bad = cli("create --from-snapshot " + snap + " --on-idle sleep");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("on_idle='sleep'"), std::string::npos) << bad.out;
  EXPECT_EQ(vm_count(), vms);

  EXPECT_EQ(smolvm_snapshot_delete(runtime(), snap.c_str()), 0) << last_error();
  EXPECT_EQ(smolvm_vm_delete(src), 0) << last_error();
  smolvm_vm_free(src);
}

// on_idle=hibernate: idle for its timeout, the VM is saved into its own
// folder and stopped (no QEMU left); `ls` says so; the next command
// restores it with its files, its memory (a tmpfs) and a process started
// before, and the saved state is removed once it is loaded.
TEST(Snapshot, AnIdleVmHibernatesAndTheNextCommandWakesItWithItsFilesAndProcesses) {
  const CliResult made =
      cli("create --id snaphib --mem 256 --idle-timeout 3 --on-idle hibernate --start");
  ASSERT_EQ(made.status, 0) << made.out;
  smolvm_vm* vm = nullptr;
  ASSERT_EQ(smolvm_vm_open(&vm, runtime(), "snaphib"), 0) << last_error();
  const Result before = run(vm,
                            "echo kept > /root/f && mkdir -p /run/m && echo held > /run/m/x && "
                            "setsid sleep 100000 </dev/null >/dev/null 2>&1 & echo $! > /root/pid");
  ASSERT_EQ(before.exit_code, 0) << before.err;
  const int64_t qemu = info(vm).vmm_pid;
  const std::string saved = state_dir() + "/vms/snaphib/hibernation/state";
  // Hibernated: stopped by its policy, its state saved, no QEMU left.
  for (int n = 0; n < 3000 && std::string(info(vm).paused_by) != "hibernated"; ++n) usleep(20000);
  const smolvm_vm_info h = info(vm);
  EXPECT_STREQ(h.paused_by, "hibernated");
  EXPECT_EQ(wait_state_change(vm, "stopping", 30000), "stopped");
  EXPECT_TRUE(fs::exists(saved)) << saved;
  EXPECT_FALSE(pid_alive(qemu));
  const CliResult ls = cli("ls");
  std::printf("ls while hibernated:\n%s", ls.out.c_str());
  EXPECT_NE(ls.out.find("idle: hibernated"), std::string::npos) << ls.out;
  // The next command wakes it as it stood.
  const auto t0 = std::chrono::steady_clock::now();
  const Result after = run(vm, "cat /root/f /run/m/x && kill -0 $(cat /root/pid) && echo alive");
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("woken by a command in %lld ms\n", static_cast<long long>(ms));
  EXPECT_EQ(after.out, "kept\nheld\nalive\n") << after.err;
  const smolvm_vm_info w = info(vm);
  EXPECT_STREQ(w.state_name, "running");
  EXPECT_STREQ(w.paused_by, "");
  EXPECT_FALSE(fs::exists(fs::path(saved).parent_path())) << "the saved state was kept";
  EXPECT_EQ(smolvm_vm_delete(vm), 0) << last_error();
  smolvm_vm_free(vm);

  // Only a VM the saved state fits: an isolated disk and no network.
  const CliResult shared =
      cli("create --id snaphib2 --idle-timeout 3 --on-idle hibernate --disk-mode shared");
  EXPECT_NE(shared.status, 0);
  EXPECT_NE(shared.out.find("on_idle='hibernate': disk_mode is 'shared'; only a VM with an "
                            "isolated disk and no network can hibernate"),
            std::string::npos)
      << shared.out;
}

// A networked VM is saved like any other (tests/network/net_snapshot_test.cpp
// restores it inside network namespaces): only its state can refuse it. A
// shared disk is refused in any state, before its state is looked at. Only
// created: the refusals need no guest, and so no network namespace.
TEST(Snapshot, ANetworkedVmIsRefusedOnlyForItsStateASharedDiskAlways) {
  const CliResult made = cli("create --id snapnet --network auto");
  if (made.status != 0 && made.out.find("network") != std::string::npos) {
    GTEST_SKIP() << "no network plugin is available here: " << made.out;
  }
  ASSERT_EQ(made.status, 0) << made.out;
  const size_t snapshots_before = files_in(state_dir() + "/snapshots").size();
  smolvm_vm* vm = nullptr;
  ASSERT_EQ(smolvm_vm_open(&vm, runtime(), "snapnet"), 0) << last_error();
  char* id = nullptr;
  EXPECT_EQ(smolvm_vm_snapshot(&id, vm, nullptr), SMOLVM_ESTATE);
  const std::string why = last_error();
  std::printf("networked VM, created: %s\n", why.c_str());
  EXPECT_NE(why.find("is created: only a running or paused VM can be snapshotted"),
            std::string::npos)
      << why;
  EXPECT_EQ(id, nullptr);
  EXPECT_EQ(smolvm_vm_delete(vm), 0) << last_error();
  smolvm_vm_free(vm);

  smolvm_vm* shared = create("snapshared", "shared");
  ASSERT_NE(shared, nullptr) << last_error();
  EXPECT_EQ(smolvm_vm_snapshot(&id, shared, nullptr), SMOLVM_EUNSUPPORTED);
  const std::string shared_why = last_error();
  std::printf("shared disk: %s\n", shared_why.c_str());
  EXPECT_NE(shared_why.find("has a shared disk (disk_mode=shared)"), std::string::npos)
      << shared_why;
  EXPECT_EQ(id, nullptr);
  EXPECT_EQ(files_in(state_dir() + "/snapshots").size(), snapshots_before);
  EXPECT_EQ(smolvm_vm_delete(shared), 0) << last_error();
  smolvm_vm_free(shared);
}

}  // namespace
}  // namespace vmtest
