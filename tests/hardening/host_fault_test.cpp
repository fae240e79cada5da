// Faults on the host side, without booting: a process killed during create,
// the store locked by another process, an unwritable state folder, a full
// disk during the image build and a recipe build, two deletes racing. Each
// checks that nothing is half-written or left behind.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <set>

#include "tests/hardening/hardening.h"

namespace hardening {
namespace {

using vmtest::files_in;
using vmtest::state_dir;

const std::string& cli() {
  static const std::string c = "SMOLVM_STATE_DIR='" + state_dir() + "' '" SMOLVM_CLI "'";
  return c;
}

std::set<std::string> rows() {
  std::string out;
  sh(cli() + " ls -q", &out);
  std::set<std::string> ids;
  size_t start = 0, nl;
  while ((nl = out.find('\n', start)) != std::string::npos) {
    if (nl > start) ids.insert(out.substr(start, nl - start));
    start = nl + 1;
  }
  return ids;
}

std::set<std::string> folders() {
  const auto v = files_in(state_dir() + "/vms");
  return {v.begin(), v.end()};
}

// Every row has its folder (and its disk), every folder its row.
void expect_store_matches_disk() {
  EXPECT_EQ(rows(), folders());
  for (const auto& id : rows()) {
    struct stat st {};
    EXPECT_EQ(stat((state_dir() + "/vms/" + id + "/disk.qcow2").c_str(), &st), 0) << id;
  }
}

TEST(HostFault, KilledDuringCreateLeavesNothingAfterGc) {
  std::mt19937 rng(std::random_device{}());
  int killed = 0;
  for (int round = 0; round < 6; ++round) {
    // The CLI creating VMs in a loop, in a process group of its own so that
    // SIGKILL hits whichever create is running, at a random moment.
    const std::string loop = "i=0; while :; do i=$((i+1)); " + cli() + " create --id kc" +
                             std::to_string(round) + "-$i >/dev/null || exit 1; done";
    const pid_t child = fork();
    if (child == 0) {
      setpgid(0, 0);
      execl("/bin/sh", "sh", "-c", loop.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    setpgid(child, child);
    usleep(std::uniform_int_distribution<int>(50, 600)(rng) * 1000);
    kill(-child, SIGKILL);
    waitpid(child, nullptr, 0);
    ++killed;
  }
  usleep(300 * 1000);  // an orphaned qemu-img finishes or fails
  const size_t before = rows().size();
  uint32_t fixed = 0;
  ASSERT_EQ(smolvm_runtime_gc(&fixed, vmtest::runtime()), 0) << smolvm_last_error();
  std::printf("killed during create: %d kills, %zu VMs recorded, gc fixed %u\n", killed, before,
              fixed);
  expect_store_matches_disk();
  std::string out;
  if (!rows().empty()) sh(cli() + " rm $(" + cli() + " ls -q)", &out);
  EXPECT_TRUE(rows().empty()) << out;
  EXPECT_TRUE(folders().empty());
}

TEST(HostFault, ALockedStoreWaitsThenFailsWithEbusy) {
  const std::string db = state_dir() + "/smolvm.db";
  // Another process holds the write lock (and never lets go in time).
  FILE* holder = popen(("python3 -c \"import sqlite3,time,sys\n"
                        "c=sqlite3.connect('" +
                        db +
                        "',isolation_level=None)\n"
                        "c.execute('BEGIN EXCLUSIVE'); print('locked',flush=True)\n"
                        "sys.stdin.read()\"")
                           .c_str(),
                       "w");
  ASSERT_NE(holder, nullptr);
  usleep(800 * 1000);  // let it take the lock
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.vm_id = "locked";
  o.network = "none";
  smolvm_vm* vm = nullptr;
  const int64_t t0 = now_ms();
  const int rc = smolvm_vm_create(&vm, vmtest::runtime(), &o);
  const int64_t took = now_ms() - t0;
  const std::string err = smolvm_last_error();
  pclose(holder);  // closing its stdin ends it
  std::printf("locked store: create returned %d after %lld ms: %s\n", rc,
              static_cast<long long>(took), err.c_str());
  EXPECT_EQ(rc, SMOLVM_EBUSY);
  EXPECT_GE(took, 9000);  // the busy timeout (10 s) was honoured
  EXPECT_LT(took, 20000);
  EXPECT_NE(err.find("lock"), std::string::npos) << err;
  EXPECT_EQ(rows().count("locked"), 0u);
  EXPECT_EQ(folders().count("locked"), 0u);
  // Once released, the store works.
  ASSERT_EQ(smolvm_vm_create(&vm, vmtest::runtime(), &o), 0) << smolvm_last_error();
  EXPECT_EQ(smolvm_vm_delete(vm), 0);
  smolvm_vm_free(vm);
}

// Root ignores file modes, so the folder is made read-only for real: a
// read-only bind mount in a private mount namespace of the CLI's own.
std::string in_readonly(const std::string& dir, const std::string& command, int* status) {
  std::string out;
  *status = sh("unshare -m --propagation private sh -c \"mount --bind '" + dir + "' '" + dir +
                   "' && mount -o remount,bind,ro '" + dir + "' && " + command + "\"",
               &out);
  return out;
}

TEST(HostFault, AnUnwritableStateFolderIsAClearErrorAndWritesNothing) {
  if (sh("unshare -m true") != 0) GTEST_SKIP() << "unshare -m is not permitted here";
  int status = 0;
  // The VMs folder read-only: the row is written, then rolled back.
  std::string out = in_readonly(state_dir() + "/vms", cli() + " create --id ro1", &status);
  std::printf("read-only vms/: exit %d: %s", status, out.c_str());
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("Read-only file system"), std::string::npos) << out;
  // The whole state folder read-only: the store refuses the write.
  out = in_readonly(state_dir(), cli() + " create --id ro2", &status);
  std::printf("read-only state dir: exit %d: %s", status, out.c_str());
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("Read-only file system"), std::string::npos) << out;
  EXPECT_EQ(rows().count("ro1") + rows().count("ro2"), 0u);
  EXPECT_EQ(folders().count("ro1") + folders().count("ro2"), 0u);
}

// The developer's cache, whose kernel and rootfs layers a tiny cache links
// to (the build's earlier, slow steps are then cached).
std::string real_cache() {
  const char* home = getenv("HOME");
  return getenv("SMOLVM_REAL_CACHE") ? getenv("SMOLVM_REAL_CACHE")
                                     : std::string(home) + "/.cache/smolvm";
}

bool has_layers(const std::string& cache) {
  struct stat st {};
  return stat((cache + "/kernel").c_str(), &st) == 0 &&
         stat((cache + "/rootfs-base").c_str(), &st) == 0;
}

TEST(HostFault, DiskFullDuringImageBuildLeavesNoHalfImage) {
  if (sh("unshare -m true") != 0) GTEST_SKIP() << "unshare -m is not permitted here";
  const std::string real = real_cache();
  if (!has_layers(real)) {
    GTEST_SKIP() << "no cached kernel and rootfs layers in " << real << " (smolvm image build)";
  }
  const std::string cache = state_dir() + "/tiny-cache";
  mkdir(cache.c_str(), 0700);
  // 20 MiB of tmpfs, private to this mount namespace; the kernel and base
  // layers are the real cached ones (links), so only the final assemble
  // step runs, and it needs far more than 20 MiB. The agent's content does
  // not matter to this failure: /bin/true stands in for it.
  std::string out;
  const int status =
      sh("unshare -m --propagation private sh -c \""
         "mount -t tmpfs -o size=20m tmpfs '" +
             cache +
             "' && "
             "ln -s '" +
             real + "/kernel' '" + cache +
             "/kernel' && "
             "ln -s '" +
             real + "/rootfs-base' '" + cache +
             "/rootfs-base' && "
             "SMOLVM_CACHE_DIR='" +
             cache +
             "' '" BUILD_IMAGE
             "' --agent /bin/true --quiet; "
             "echo build-exit=\\$?; echo images=[\\$(ls -A '" +
             cache +
             "/images' 2>&1)]; "
             "echo df=\\$(df -k --output=used '" +
             cache + "' | tail -1)\"",
         &out);
  // tar names every file it could not write: show the first and the end.
  const auto first = out.find('\n');
  const auto tail = out.rfind('\n', out.rfind("build-image:"));
  std::printf("disk full during image build (status %d):\n%s\n...%s", status,
              out.substr(0, first).c_str(),
              tail == std::string::npos ? out.c_str() : out.substr(tail).c_str());
  EXPECT_EQ(out.find("build-exit=0"), std::string::npos) << out;
  EXPECT_NE(out.find("No space left on device"), std::string::npos) << out;
  EXPECT_NE(out.find("nothing was added to the cache"), std::string::npos) << out;
  EXPECT_NE(out.find("images=[]"), std::string::npos) << "a half image was left: " << out;
}

// The same full disk under a recipe build (guest/build-recipe.sh): the
// step's tree does not fit, and the cache keeps no layer, image or work
// folder of it.
TEST(HostFault, DiskFullDuringARecipeBuildLeavesTheCacheAsItWas) {
  if (sh("unshare -m true") != 0) GTEST_SKIP() << "unshare -m is not permitted here";
  const std::string real = real_cache();
  if (!has_layers(real)) {
    GTEST_SKIP() << "no cached kernel and rootfs layers in " << real << " (smolvm image build)";
  }
  const std::string cache = state_dir() + "/tiny-recipe-cache";
  mkdir(cache.c_str(), 0700);
  const std::string recipe = state_dir() + "/tiny.yaml";
  sh("printf 'apiVersion: smolvm/v1\\nkind: ImageRecipe\\nname: tiny\\nrun: [\"true\"]\\n' > '" +
     recipe + "'");
  std::string out;
  sh("unshare -m --propagation private sh -c \"mount -t tmpfs -o size=20m tmpfs '" + cache +
         "' && ln -s '" + real + "/kernel' '" + cache + "/kernel' && ln -s '" + real +
         "/rootfs-base' '" + cache + "/rootfs-base' && SMOLVM_CACHE_DIR='" + cache + "' " + cli() +
         " image build -f '" + recipe + "' 2>&1; echo build-exit=\\$?; echo layers=[\\$(ls -A '" +
         cache + "/layers' 2>&1)]; echo images=[\\$(ls '" + cache + "/images' 2>/dev/null)]\"",
     &out);
  std::printf("disk full during a recipe build:\n...%s",
              out.substr(out.size() > 600 ? out.size() - 600 : 0).c_str());
  EXPECT_EQ(out.find("build-exit=0"), std::string::npos) << out;
  EXPECT_NE(out.find("No space left on device"), std::string::npos) << out;
  EXPECT_NE(out.find("layers=[]"), std::string::npos) << "a half layer was left: " << out;
  EXPECT_NE(out.find("images=[]"), std::string::npos) << "a half image was left: " << out;
}

TEST(HostFault, TwoDeletesOfACreatedVmRaceCleanly) {
  for (int round = 0; round < 3; ++round) {
    smolvm_vm* vm = vmtest::create("race" + std::to_string(round));
    ASSERT_NE(vm, nullptr);
    smolvm_vm_free(vm);
    std::string out;
    const std::string rm = cli() + " rm race" + std::to_string(round) + " 2>&1; echo rc=$?";
    sh("(" + rm + ") & (" + rm + ") & wait", &out);
    size_t ok = 0, pos = 0;
    while ((pos = out.find("rc=0", pos)) != std::string::npos) ++ok, ++pos;
    EXPECT_EQ(ok, 1u) << out;
    EXPECT_NE(out.find("no VM with id"), std::string::npos) << out;
  }
  EXPECT_TRUE(rows().empty());
  EXPECT_TRUE(folders().empty());
}

}  // namespace
}  // namespace hardening
