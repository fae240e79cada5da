// Faults while a snapshot is written (core/runtime/runtime_snapshots.cpp and
// the supervisor's snapshot()), on real VMs: SIGKILL of the supervisor or
// of QEMU half-way, a full disk, and what the VM shows and does for other
// clients meanwhile. "Half-way" is seen, not timed: the guest first fills
// 320 MiB of its memory with random bytes, so the saved state grows for a
// while, and the test acts once the state file being written has bytes.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "protocol/client.h"
#include "protocol/messages.h"
#include "tests/hardening/hardening.h"

namespace hardening {
namespace {

namespace fs = std::filesystem;
namespace proto = smolvm::proto;
using vmtest::files_in;
using vmtest::state_dir;

constexpr uint32_t kBigMemMib = 768;
// Generous on a loaded 2-core host: the waits end as soon as what they wait
// for happens.
constexpr int kSeeMs = 120000;

smolvm_vm_info info(smolvm_vm* vm) { return vmtest::info(vm); }

// Random bytes in guest memory (a tmpfs): they do not compress, so the
// saved state is at least this big and takes a while to write.
bool fill_guest_memory(smolvm_vm* vm) {
  const auto r = vmtest::run(vm,
                             "mkdir -p /run/fill && mount -t tmpfs -o size=400m fill /run/fill && "
                             "head -c 320M /dev/urandom > /run/fill/x && echo filled",
                             300000);
  EXPECT_EQ(r.out, "filled\n") << r.rc << " " << r.err;
  return r.out == "filled\n";
}

// A running VM whose guest holds 320 MiB of random bytes (fill_guest_memory).
smolvm_vm* big_vm(const std::string& id) {
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.vm_id = id.c_str();
  o.vcpu_count = 1;
  o.mem_size_mib = kBigMemMib;
  o.network = "none";
  smolvm_vm* vm = nullptr;
  if (smolvm_vm_create(&vm, vmtest::runtime(), &o) != 0 || smolvm_vm_start(vm) != 0) {
    ADD_FAILURE() << "create/start " << id << ": " << smolvm_last_error();
    if (vm) {
      smolvm_vm_delete(vm);
      smolvm_vm_free(vm);
    }
    return nullptr;
  }
  if (!fill_guest_memory(vm)) {
    smolvm_vm_delete(vm);
    smolvm_vm_free(vm);
    return nullptr;
  }
  return vm;
}

// The snapshot folders and the staging ones (.tmp-*) in the state dir.
std::vector<std::string> snapshot_entries() { return files_in(state_dir() + "/snapshots"); }

// The state file of a snapshot being written, once it has bytes; "" if no
// snapshot was seen being written within kSeeMs.
std::string wait_for_state_being_written() {
  for (int64_t t0 = now_ms(); now_ms() - t0 < kSeeMs; usleep(5000)) {
    for (const auto& e : snapshot_entries()) {
      if (e.rfind(".tmp-", 0) != 0) continue;
      const std::string state = state_dir() + "/snapshots/" + e + "/state";
      struct stat st {};
      if (stat(state.c_str(), &st) == 0 && st.st_size > 0) return state;
    }
  }
  return "";
}

// Markers under the image's used-by/ (and any snapshot's) naming a snapshot.
std::vector<std::string> snapshot_markers() {
  std::vector<std::string> found;
  std::error_code ec;
  const std::string snaps = state_dir() + "/snapshots/";
  for (const auto& image : fs::directory_iterator(vmtest::cache_dir() + "/images", ec)) {
    for (const auto& m : fs::directory_iterator(image.path() / "used-by", ec)) {
      const std::string target = fs::read_symlink(m.path(), ec).string();
      if (target.rfind(snaps, 0) == 0) found.push_back(m.path().string() + " -> " + target);
    }
  }
  return found;
}

struct SnapshotResult {
  int rc = 0;
  std::string error, id;
};

// A snapshot taken on a thread of its own (the test acts meanwhile).
std::future<SnapshotResult> snapshot_async(smolvm_vm* vm) {
  return std::async(std::launch::async, [vm] {
    smolvm_snapshot_options o = SMOLVM_SNAPSHOT_OPTIONS_INIT;
    char* id = nullptr;
    SnapshotResult r;
    r.rc = smolvm_vm_snapshot(&id, vm, &o);
    if (r.rc != 0) r.error = smolvm_last_error();
    if (id) r.id = id;
    smolvm_free(id);
    return r;
  });
}

// Snapshots vm, SIGKILLs pid once the state is being written, and checks
// that the snapshot failed and that its client removed its staging folder
// (nothing was published).
SnapshotResult snapshot_killed_half_way(smolvm_vm* vm, int64_t pid) {
  auto snap = snapshot_async(vm);
  EXPECT_FALSE(wait_for_state_being_written().empty()) << "no snapshot seen being written";
  EXPECT_EQ(kill(static_cast<pid_t>(pid), SIGKILL), 0);
  const SnapshotResult r = snap.get();
  EXPECT_NE(r.rc, 0);
  EXPECT_TRUE(r.id.empty());
  EXPECT_TRUE(snapshot_entries().empty());
  return r;
}

struct Deleter {  // whatever fails, the VM does not outlive the test
  smolvm_vm* vm;
  ~Deleter() {
    if (!vm) return;
    smolvm_vm_delete(vm);
    smolvm_vm_free(vm);
  }
};

// The killed snapshot left nothing, gc repaired the VM and then had
// nothing more to do.
void expect_nothing_of_the_snapshot_left(smolvm_vm* vm, const smolvm_vm_info& before) {
  EXPECT_TRUE(snapshot_markers().empty());
  char* list = nullptr;
  ASSERT_EQ(smolvm_snapshot_list(&list, vmtest::runtime()), 0) << smolvm_last_error();
  EXPECT_STREQ(list, "[]");
  smolvm_free(list);
  uint32_t fixed = 99;
  ASSERT_EQ(smolvm_runtime_gc(&fixed, vmtest::runtime()), 0) << smolvm_last_error();
  std::printf("gc after the kill fixed %u\n", fixed);
  EXPECT_TRUE(nothing_left(before.state_dir, before.supervisor_pid, before.vmm_pid, false));
  const smolvm_vm_info after = info(vm);
  EXPECT_STREQ(after.state_name, "failed");
  EXPECT_EQ(after.supervisor_pid, 0);
  EXPECT_EQ(after.vmm_pid, 0);
  EXPECT_EQ(smolvm_runtime_gc(&fixed, vmtest::runtime()), 0) << smolvm_last_error();
  EXPECT_EQ(fixed, 0u) << "a second gc still found something";
  EXPECT_TRUE(snapshot_entries().empty());
  EXPECT_TRUE(snapshot_markers().empty());
}

TEST(SnapshotFault, SupervisorKilledDuringASnapshotLeavesNoHalfSnapshot) {
  smolvm_vm* vm = big_vm("sf-sup");
  ASSERT_NE(vm, nullptr);
  Deleter deleter{vm};
  const smolvm_vm_info before = info(vm);
  const SnapshotResult r = snapshot_killed_half_way(vm, before.supervisor_pid);
  std::printf("supervisor killed mid-snapshot: %d: %s\n", r.rc, r.error.c_str());
  expect_nothing_of_the_snapshot_left(vm, before);
  EXPECT_NE(std::string(info(vm).last_error).find("is gone; the VM was cleaned up"),
            std::string::npos)
      << info(vm).last_error;
}

TEST(SnapshotFault, QemuKilledDuringASnapshotLeavesNoHalfSnapshot) {
  smolvm_vm* vm = big_vm("sf-qemu");
  ASSERT_NE(vm, nullptr);
  Deleter deleter{vm};
  const smolvm_vm_info before = info(vm);
  const SnapshotResult r = snapshot_killed_half_way(vm, before.vmm_pid);
  std::printf("QEMU killed mid-snapshot: %d: %s\n", r.rc, r.error.c_str());
  // The supervisor saw its VMM die and ended the VM itself.
  for (int n = 0; n < 1000 && vmtest::pid_alive(before.supervisor_pid); ++n) usleep(20000);
  EXPECT_FALSE(vmtest::pid_alive(before.supervisor_pid));
  const std::string why = info(vm).last_error;
  std::printf("recorded: %s: %s\n", info(vm).state_name, why.c_str());
  EXPECT_NE(why.find("signal 9"), std::string::npos) << why;
  expect_nothing_of_the_snapshot_left(vm, before);
}

// While its state is written the VM is paused, and the store says so; a
// command, a resume and a look arriving meanwhile wait or answer, none
// hangs or gets a bare "no answer".
TEST(SnapshotFault, AVmBeingSnapshottedShowsItAndCommandsWaitForIt) {
  smolvm_vm* vm = big_vm("sf-busy");
  ASSERT_NE(vm, nullptr);
  Deleter deleter{vm};
  auto snap = snapshot_async(vm);
  ASSERT_FALSE(wait_for_state_being_written().empty()) << "no snapshot seen being written";
  // What a look shows (the supervisor cannot answer now: the store can).
  const vmtest::CliResult ls = vmtest::cli("ls");
  const vmtest::CliResult inspect = vmtest::cli("inspect sf-busy");
  auto command = std::async(std::launch::async, [vm] { return vmtest::run(vm, "echo after"); });
  // A resume (which the supervisor could not answer now) waits for the
  // snapshot, then finds the VM running. (Not a pause here: a pause that
  // came after the command started would hold the command forever.)
  const vmtest::CliResult resume = vmtest::cli("resume sf-busy");
  const SnapshotResult r = snap.get();
  ASSERT_EQ(r.rc, 0) << r.error;
  const vmtest::Result cmd = command.get();
  std::printf("ls while snapshotting:\n%s", ls.out.c_str());
  EXPECT_NE(ls.out.find("paused for a snapshot"), std::string::npos) << ls.out;
  const auto j = nlohmann::json::parse(inspect.out.substr(inspect.out.find('{')));
  EXPECT_EQ(j.value("state", ""), "paused") << inspect.out;
  EXPECT_EQ(j["lifetime"].value("paused_by", ""), "snapshot") << inspect.out;
  // The command ran once the snapshot was written.
  EXPECT_EQ(cmd.rc, 0) << cmd.err;
  EXPECT_EQ(cmd.out, "after\n");
  std::printf("resume while snapshotting: exit %d: %s", resume.status, resume.out.c_str());
  EXPECT_NE(resume.status, 0);
  EXPECT_NE(resume.out.find("is running: only a paused VM can be resumed"), std::string::npos)
      << resume.out;
  EXPECT_STREQ(info(vm).state_name, "running");
  EXPECT_STREQ(info(vm).paused_by, "");
  EXPECT_TRUE(answers(vm));
  EXPECT_EQ(smolvm_snapshot_delete(vmtest::runtime(), r.id.c_str()), 0) << smolvm_last_error();
}

// The VM's supervisor token, from the store (the test plays a client that
// speaks to the supervisor itself, as an executor plugin does).
std::string token_of(const std::string& id) {
  std::string out;
  sh("sqlite3 -readonly " + state_dir() + "/smolvm.db \"select json_extract(runtime_json, " +
         "'$.token') from vms where id = '" + id + "'\"",
     &out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool is_stopped(smolvm_vm* vm) { return std::string(info(vm).state_name) == "stopped"; }

struct Answer {
  proto::Type type = proto::Type::kError;
  std::string code, message;  // of an ERROR
  int64_t ms = 0;             // from the request to the answer
};

// Sends one control frame straight to the VM's supervisor (not through the
// library, which waits on the store first) and takes its answer.
Answer ask_supervisor(smolvm_vm* vm, const std::string& id, proto::Type request,
                      const std::string& payload) {
  Answer a;
  proto::Client client;
  std::string error;
  const std::string sock = std::string(info(vm).state_dir) + "/supervisor.sock";
  if (client.open(sock, token_of(id), "hardening-test", 5000, error) != 0) {
    a.message = "HELLO: " + error;
    return a;
  }
  const int64_t t0 = now_ms();
  proto::Frame f;
  if (!client.send(request, 0, 0, payload) || client.next_frame(0, f, 30000, error) != 0) {
    a.message = error;
    return a;
  }
  a.ms = now_ms() - t0;
  a.type = f.type;
  proto::ErrorMsg e;
  if (f.type == proto::Type::kError && proto::parse(f.payload, e, error)) {
    a.code = e.code;
    a.message = e.message;
  }
  return a;
}

// The supervisor writes the state on a thread of its own: a pause sent to
// it meanwhile is refused at once (EBUSY, naming the snapshot) rather than
// left unanswered, and a stop is taken at once and carried out once the
// snapshot is written, which is whole.
TEST(SnapshotFault, TheSupervisorAnswersWhileASnapshotIsWrittenAndStopsAfterIt) {
  smolvm_vm* vm = big_vm("sf-answer");
  ASSERT_NE(vm, nullptr);
  Deleter deleter{vm};
  auto snap = snapshot_async(vm);
  const std::string state = wait_for_state_being_written();
  ASSERT_FALSE(state.empty()) << "no snapshot seen being written";
  const Answer pause = ask_supervisor(vm, "sf-answer", proto::Type::kVmPause, "{}");
  const Answer stop = ask_supervisor(vm, "sf-answer", proto::Type::kVmStop,
                                     proto::to_json(proto::VmStop{10000, false}));
  // Both answered while the state was still being written.
  const bool still_writing = fs::exists(state);
  const SnapshotResult r = snap.get();
  std::printf("pause during the snapshot: %s %s in %lld ms\n", pause.code.c_str(),
              pause.message.c_str(), static_cast<long long>(pause.ms));
  std::printf("stop during the snapshot: %s in %lld ms; snapshot: %d %s\n",
              proto::type_name(stop.type), static_cast<long long>(stop.ms), r.rc, r.error.c_str());
  EXPECT_TRUE(still_writing);
  EXPECT_EQ(pause.code, "EBUSY") << pause.message;
  EXPECT_NE(pause.message.find("is being snapshotted"), std::string::npos) << pause.message;
  const std::string staging = fs::path(state).parent_path().filename().string();
  EXPECT_NE(pause.message.find(staging), std::string::npos) << pause.message;
  EXPECT_LT(pause.ms, 2000);
  EXPECT_EQ(stop.type, proto::Type::kVmStopping) << stop.code << " " << stop.message;
  EXPECT_LT(stop.ms, 2000);
  // The stop waited for the snapshot, which is whole and restores.
  ASSERT_EQ(r.rc, 0) << r.error;
  for (int64_t t0 = now_ms(); now_ms() - t0 < kSeeMs && !is_stopped(vm);) usleep(20000);
  EXPECT_STREQ(info(vm).state_name, "stopped");
  smolvm_vm* restored = nullptr;
  smolvm_restore_options ro;
  smolvm_restore_options_init(&ro);
  ro.vm_id = "sf-answer-r";
  ASSERT_EQ(smolvm_vm_create_from_snapshot(&restored, vmtest::runtime(), r.id.c_str(), &ro), 0)
      << smolvm_last_error();
  Deleter restored_deleter{restored};
  ASSERT_EQ(smolvm_vm_start(restored), 0) << smolvm_last_error();
  const vmtest::Result filled = vmtest::run(restored, "wc -c < /run/fill/x");
  EXPECT_EQ(filled.out, "335544320\n") << filled.err;
  smolvm_vm_delete(restored);
  smolvm_vm_free(restored);
  restored_deleter.vm = nullptr;
  EXPECT_EQ(smolvm_snapshot_delete(vmtest::runtime(), r.id.c_str()), 0) << smolvm_last_error();
}

// A full state folder (a small tmpfs in a mount namespace of the CLI's
// own, as HostFault.DiskFullDuringImageBuildLeavesNoHalfImage does for the
// cache): the snapshot fails naming the cause, leaves no folder, and the
// VM runs on and answers. The whole VM lives in that namespace, so the
// script deletes it before it ends.
TEST(SnapshotFault, DiskFullDuringASnapshotRollsBack) {
  if (sh("unshare -m true") != 0) GTEST_SKIP() << "unshare -m is not permitted here";
  const std::string dir = state_dir() + "/tiny-state";
  mkdir(dir.c_str(), 0700);
  const std::string cli = "SMOLVM_STATE_DIR=" + dir + " " SMOLVM_CLI;
  // 512 MiB of guest RAM saves to about 40 MB; the filler leaves 12 MiB.
  const std::string script = state_dir() + "/disk-full.sh";
  std::ofstream(script) << "mount -t tmpfs -o size=96m tmpfs " << dir << " || exit 1\n"
                        << cli << " create --id sf-full --mem 512 >/dev/null\n"
                        << cli << " start sf-full && echo started\n"
                        << "free=$(df -k --output=avail " << dir << " | tail -1)\n"
                        << "fallocate -l $(( (free - 12288) * 1024 )) " << dir
                        << "/filler && echo filled\n"
                        << cli << " snapshot create sf-full; echo snapshot-exit=$?\n"
                        << "echo entries=[$(ls -A " << dir << "/snapshots)]\n"
                        << "echo state=$(" << cli << " inspect sf-full | python3 -c "
                        << "'import json,sys; print(json.load(sys.stdin)[\"state\"])')\n"
                        << "tail -12 " << dir << "/vms/sf-full/supervisor.log\n"
                        << "rm -f " << dir << "/filler\n"
                        << cli << " exec sf-full -- echo still-here\n"
                        << cli << " rm sf-full; echo rm-exit=$?\n";
  std::string out;
  const int status = sh("unshare -m --propagation private sh " + script + " 2>&1", &out);
  std::printf("disk full during a snapshot (status %d):\n%s", status, out.c_str());
  EXPECT_NE(out.find("started"), std::string::npos);
  EXPECT_NE(out.find("filled"), std::string::npos);
  EXPECT_EQ(out.find("snapshot-exit=0"), std::string::npos) << out;
  EXPECT_NE(out.find("No space left on device"), std::string::npos) << out;
  EXPECT_NE(out.find("entries=[]"), std::string::npos) << "a half snapshot was left: " << out;
  EXPECT_NE(out.find("state=running"), std::string::npos) << out;
  EXPECT_NE(out.find("still-here"), std::string::npos) << out;
  EXPECT_NE(out.find("rm-exit=0"), std::string::npos) << out;
  EXPECT_TRUE(snapshot_markers().empty());
}

}  // namespace
}  // namespace hardening
