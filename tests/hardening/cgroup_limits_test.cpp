// Per-VM cgroup limits on a real QEMU (1 vCPU, 256 MiB, TCG): QEMU and all
// its threads are in the VM's group in every hierarchy, the limit files
// match the VM, a CPU-bound guest is held to its vCPU count, a guest memory
// hog leaves QEMU alive within its memory limit, and the groups are gone
// after the VM is deleted and after its supervisor is killed. On this host
// the groups are cgroup v1 (cpu, memory and pids hierarchies); the same
// checks read the v2 files where the host has cgroup v2. One VM is shared,
// in order; a second one is killed at the end.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/hardening/hardening.h"
#include "tests/support/temp_dir.h"

namespace hardening {
namespace {

using vmtest::files_in;
using vmtest::info;
using vmtest::pid_alive;
using vmtest::run;

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

// A "key value" line of a control file (cpu.stat, memory.stat,
// memory.oom_control, memory.events), or -1.
long long value_of(const std::string& file, const std::string& key) {
  std::istringstream in(smolvm::test::read_file(file));
  std::string k;
  long long v;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return -1;
}

long long number_in(const std::string& file) {
  const std::string t = smolvm::test::read_file(file);
  return t.empty() ? -1 : std::stoll(t);
}

// CPU seconds used by a process, all its threads (utime + stime).
double cpu_seconds(int64_t pid) {
  const std::string stat = smolvm::test::read_file("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream in(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long long ticks = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i >= 14) ticks += std::stoll(field);
  }
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

nlohmann::json cgroup_of(smolvm_vm* vm) {
  return nlohmann::json::parse(info(vm).limits).value("cgroup", nlohmann::json::object());
}

// controller -> its folder (v2: the one folder for all three).
std::map<std::string, std::string> groups_of(const nlohmann::json& cg) {
  std::map<std::string, std::string> g;
  if (cg.contains("path")) {
    for (const char* c : {"cpu", "memory", "pids"}) g[c] = cg["path"];
  }
  const auto paths = cg.value("paths", nlohmann::json::object());
  for (const auto& [c, dir] : paths.items()) g[c] = dir;
  return g;
}

// Which of `dirs` still exist.
std::string still_there(const std::map<std::string, std::string>& groups) {
  std::string left;
  for (const auto& [c, dir] : groups) {
    if (exists(dir)) left += " " + dir;
  }
  return left;
}

// The group /proc/<pid>[/task/<tid>]/cgroup names for `controller` ("" for
// the v2 line), or "".
std::string group_in(const std::string& proc_cgroup, const std::string& controller, bool v1) {
  std::istringstream lines(proc_cgroup);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
    if (v1 ? controllers.find("," + controller + ",") != std::string::npos : controllers == ",,") {
      return line.substr(b + 1);
    }
  }
  return "";
}

bool ends_with(const std::string& s, const std::string& end) {
  return !end.empty() && s.size() >= end.size() &&
         s.compare(s.size() - end.size(), end.size(), end) == 0;
}

class CgroupLimits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { vm_ = make_vm("cglimits", 1, true); }
  static void TearDownTestSuite() {
    if (!vm_) return;
    smolvm_vm_delete(vm_);  // ENOTFOUND when a test deleted it already
    smolvm_vm_free(vm_);
    vm_ = nullptr;
  }
  void SetUp() override {
    if (!vm_) GTEST_SKIP() << "the shared VM did not start";
    cg_ = cgroup_of(vm_);
    if (!cg_.value("enabled", false)) {
      GTEST_SKIP() << "cgroup limits not applied on this host: " << cg_.value("reason", "");
    }
    v1_ = cg_.value("version", 0) == 1;
    groups_ = groups_of(cg_);
    vmm_ = info(vm_).vmm_pid;
  }
  std::string file(const char* controller, const char* v1_name, const char* v2_name) const {
    return groups_.at(controller) + "/" + (v1_ ? v1_name : v2_name);
  }
  long long oom_kills() const {
    return value_of(file("memory", "memory.oom_control", "memory.events"), "oom_kill");
  }
  static smolvm_vm* vm_;
  nlohmann::json cg_;
  std::map<std::string, std::string> groups_;
  bool v1_ = false;
  int64_t vmm_ = 0;
};

smolvm_vm* CgroupLimits::vm_ = nullptr;

TEST_F(CgroupLimits, QemuAndAllItsThreadsAreInTheVmsGroupInEveryHierarchy) {
  std::printf("cgroup v%d: %s\n", v1_ ? 1 : 2, cg_.dump().c_str());
  ASSERT_EQ(groups_.size(), 3u) << cg_.dump();
  for (const auto& [c, dir] : groups_) {
    EXPECT_TRUE(ends_with(dir, "/smolvm/cglimits")) << dir;
    EXPECT_NE(("\n" + smolvm::test::read_file(dir + "/cgroup.procs"))
                  .find("\n" + std::to_string(vmm_) + "\n"),
              std::string::npos)
        << c << ": " << dir;
  }
  const std::string task_dir = "/proc/" + std::to_string(vmm_) + "/task";
  size_t threads = 0;
  for (const auto& tid : files_in(task_dir)) {
    const std::string proc_cgroup = smolvm::test::read_file(task_dir + "/" + tid + "/cgroup");
    if (proc_cgroup.empty()) continue;  // the thread just ended
    ++threads;
    for (const auto& [c, dir] : groups_) {
      const std::string in = group_in(proc_cgroup, c, v1_);
      EXPECT_TRUE(ends_with(dir, in) && ends_with(in, "/smolvm/cglimits"))
          << "thread " << tid << " is in " << c << " group '" << in << "', not " << dir;
    }
  }
  EXPECT_GT(threads, 1u);
  // The supervisor stays where it was: only the VMM is limited.
  const std::string sup =
      smolvm::test::read_file("/proc/" + std::to_string(info(vm_).supervisor_pid) + "/cgroup");
  EXPECT_EQ(sup.find("/smolvm/cglimits"), std::string::npos) << sup;
  std::printf("QEMU %lld: %zu threads, all in the VM's groups\n", static_cast<long long>(vmm_),
              threads);
}

TEST_F(CgroupLimits, TheLimitFilesMatchTheVcpusAndTheMemory) {
  const long long memory_max = (256ll + 192) << 20;
  EXPECT_EQ(cg_["cpu_max"], "100000 100000");
  EXPECT_EQ(cg_["memory_max"], memory_max);
  EXPECT_EQ(cg_["pids_max"], 129);
  if (v1_) {
    EXPECT_EQ(number_in(groups_.at("cpu") + "/cpu.cfs_quota_us"), 100000);
    EXPECT_EQ(number_in(groups_.at("cpu") + "/cpu.cfs_period_us"), 100000);
    EXPECT_EQ(number_in(groups_.at("memory") + "/memory.limit_in_bytes"), memory_max);
    if (cg_.value("memory_includes_swap", false)) {
      EXPECT_EQ(number_in(groups_.at("memory") + "/memory.memsw.limit_in_bytes"), memory_max);
    }
  } else {
    EXPECT_EQ(smolvm::test::read_file(groups_.at("cpu") + "/cpu.max"), "100000 100000\n");
    EXPECT_EQ(number_in(groups_.at("memory") + "/memory.max"), memory_max);
  }
  EXPECT_EQ(number_in(groups_.at("pids") + "/pids.max"), 129);
  // What `smolvm inspect` shows is the same record.
  const auto inspect = nlohmann::json::parse(vmtest::cli("inspect cglimits").out, nullptr, false);
  ASSERT_TRUE(inspect.is_object());
  EXPECT_EQ(inspect["limits"]["cgroup"], cg_);
}

TEST_F(CgroupLimits, ACpuBoundGuestIsHeldToItsOneVcpu) {
  const std::string cpu_stat = groups_.at("cpu") + "/cpu.stat";
  // Runs `command` in the guest; returns QEMU's CPU use in CPUs and how
  // many periods the group was throttled meanwhile.
  const auto measure = [&](const char* what, const std::string& command) {
    const long long t0 = value_of(cpu_stat, "nr_throttled");
    const double c0 = cpu_seconds(vmm_);
    const int64_t w0 = now_ms();
    const vmtest::Result r = run(vm_, command, 60000);
    EXPECT_EQ(r.rc, 0) << r.err;
    const double cpus = (cpu_seconds(vmm_) - c0) * 1000.0 / static_cast<double>(now_ms() - w0);
    const long long throttled = value_of(cpu_stat, "nr_throttled") - t0;
    std::printf("%s: QEMU used %.2f CPUs for %lld ms, throttled in %lld periods\n", what, cpus,
                static_cast<long long>(now_ms() - w0), throttled);
    EXPECT_LE(cpus, 1.1) << what << ": above its 1-vCPU quota";
    return throttled;
  };
  const std::string busy =
      "for i in $(seq $(nproc)); do timeout 4 sh -c 'while :; do :; done' & done; ";
  // TCG runs the one vCPU on one host thread, so computing alone cannot
  // pass the quota: reported, not asserted.
  measure("busy loop on every vCPU", busy + "wait");
  // Disk I/O on top keeps QEMU's other threads busy beside the vCPU's:
  // now the quota is what holds QEMU to one CPU.
  // QEMU can only be throttled when the host gives it more than one CPU; on
  // a loaded 2-core host it sometimes gets less for a whole run, so up to
  // three runs are made and one of them must be throttled.
  long long throttled = 0;
  for (int attempt = 1; attempt <= 3 && throttled == 0; ++attempt) {
    throttled = measure("busy loop + O_DIRECT disk writes",
                        busy +
                            "timeout 4 sh -c 'while :; do dd if=/dev/zero of=/root/cpu-io bs=1M "
                            "count=50 oflag=direct 2>/dev/null; done'; rm -f /root/cpu-io; wait");
  }
  EXPECT_GT(throttled, 0) << "cpu.stat nr_throttled did not grow in three runs";
  EXPECT_TRUE(answers(vm_));
}

TEST_F(CgroupLimits, AGuestMemoryHogLeavesQemuAliveWithinItsLimit) {
  const std::string hog = memory_hog(vm_);
  const long long limit = number_in(file("memory", "memory.limit_in_bytes", "memory.max"));
  const long long peak = number_in(file("memory", "memory.max_usage_in_bytes", "memory.peak"));
  // The group's usage also counts page cache (the disk writes above),
  // which the kernel reclaims at the limit: the peak may well touch it.
  const long long cache =
      value_of(file("memory", "memory.stat", "memory.stat"), v1_ ? "total_cache" : "file");
  std::printf(
      "memory hog: %s; QEMU alive %d, RSS %ld MiB (anon %ld MiB), group peak %lld MiB of %lld "
      "MiB (page cache now %lld MiB), OOM kills %lld\n",
      hog.substr(0, hog.size() - 1).c_str(), pid_alive(vmm_), status_kb(vmm_, "VmRSS") / 1024,
      status_kb(vmm_, "RssAnon") / 1024, peak >> 20, limit >> 20, cache >> 20, oom_kills());
  EXPECT_TRUE(pid_alive(vmm_)) << "QEMU died: " << info(vm_).last_error;
  EXPECT_EQ(oom_kills(), 0);
  EXPECT_LE(peak, limit);
  EXPECT_TRUE(answers(vm_));
}

// Guest RAM is all touched now; what else can grow is QEMU's own: under
// TCG mostly the translated-code cache, which new guest programs fill.
TEST_F(CgroupLimits, QemuStaysWithinItsLimitThroughFurtherWork) {
  const long long anon_before = status_kb(vmm_, "RssAnon");
  const vmtest::Result r = run(vm_,
                               "for i in $(seq 12); do python3 -c 'import json, email, "
                               "http.client, sqlite3, asyncio, unittest, argparse, logging'; "
                               "done; echo done",
                               120000);
  const bool alive = pid_alive(vmm_);
  std::printf("12 python3 runs: %s; QEMU alive %d, anon RSS %lld -> %ld MiB, OOM kills %lld\n",
              r.rc == 0 ? "done" : r.err.c_str(), alive, anon_before / 1024,
              alive ? status_kb(vmm_, "RssAnon") / 1024 : -1L, oom_kills());
  EXPECT_EQ(r.out, "done\n") << r.err;
  EXPECT_TRUE(alive) << "QEMU was killed (OOM kills in its group: " << oom_kills()
                     << "): its memory limit (guest RAM + "
                     << (cg_.value("memory_max", 0ll) >> 20) - 256
                     << " MiB) is too tight for TCG's translated-code cache; "
                     << info(vm_).last_error;
}

TEST_F(CgroupLimits, DeletingTheVmRemovesItsGroups) {
  // (Already gone if QEMU was killed above: the supervisor removes them.)
  if (pid_alive(vmm_)) {
    for (const auto& [c, dir] : groups_) EXPECT_TRUE(exists(dir)) << dir;
  }
  ASSERT_EQ(smolvm_vm_delete(vm_), 0) << smolvm_last_error();
  smolvm_vm_free(vm_);
  vm_ = nullptr;
  EXPECT_EQ(still_there(groups_), "") << "left behind after delete";
}

// Waits (up to 5 s) for a process to end; true when it did.
bool ended(int64_t pid) {
  for (int n = 0; n < 250 && pid_alive(pid); ++n) usleep(20000);
  return !pid_alive(pid);
}

// Whoever ends the VM removes its groups: its supervisor when QEMU dies,
// and, when the supervisor itself is killed with SIGKILL (it cannot), gc or
// the VM's next lifecycle call (remove_recorded_cgroup). A look (info())
// shows the VM failed but removes nothing.
TEST(CgroupCleanup, TheSupervisorOrElseGcRemovesTheGroups) {
  smolvm_vm* vm = make_vm("cgkilled", 1, true);
  ASSERT_NE(vm, nullptr);
  struct Deleter {  // whatever fails below, the VM does not outlive the test
    smolvm_vm* vm;
    ~Deleter() {
      smolvm_vm_delete(vm);
      smolvm_vm_free(vm);
    }
  } deleter{vm};
  smolvm_vm_info i = info(vm);
  auto cg = nlohmann::json::parse(i.limits).value("cgroup", nlohmann::json::object());
  if (!cg.value("enabled", false)) {
    GTEST_SKIP() << "cgroup limits not applied on this host: " << cg.value("reason", "");
  }
  auto groups = groups_of(cg);
  // 1. QEMU killed: the supervisor sees it exit and removes the groups.
  ASSERT_EQ(kill(static_cast<pid_t>(i.vmm_pid), SIGKILL), 0);
  EXPECT_TRUE(ended(i.supervisor_pid));
  EXPECT_EQ(still_there(groups), "") << "left behind by the supervisor";
  // 2. Started again, then the supervisor killed: QEMU dies with it
  // (PR_SET_PDEATHSIG) and the groups stay until gc.
  ASSERT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
  i = info(vm);
  cg = nlohmann::json::parse(i.limits).value("cgroup", nlohmann::json::object());
  groups = groups_of(cg);
  ASSERT_NE(still_there(groups), "") << cg.dump();
  ASSERT_EQ(kill(static_cast<pid_t>(i.supervisor_pid), SIGKILL), 0);
  EXPECT_TRUE(ended(i.supervisor_pid));
  EXPECT_TRUE(ended(i.vmm_pid));
  EXPECT_NE(still_there(groups), "") << "already gone: this no longer tests gc";
  EXPECT_STREQ(info(vm).state_name, "failed");  // a look only shows it
  EXPECT_NE(still_there(groups), "") << "removed by a look, which must not write";
  uint32_t fixed = 99;
  EXPECT_EQ(smolvm_runtime_gc(&fixed, vmtest::runtime()), 0) << smolvm_last_error();
  EXPECT_EQ(fixed, 1u);
  EXPECT_EQ(still_there(groups), "") << "left behind after gc";
}

// A VMM over its memory limit is killed by the kernel inside its own group,
// and the VM says so instead of a bare "signal 9". The limit is lowered for
// real on a fresh VM (whose QEMU has not yet touched most guest RAM) to a
// little above what it uses, then a guest hog makes QEMU touch more.
TEST(CgroupOom, AVmmOverItsLimitIsKilledInItsGroupAndTheVmSaysWhy) {
  smolvm_vm* vm = make_vm("cgoom", 1, true);
  ASSERT_NE(vm, nullptr);
  struct Deleter {
    smolvm_vm* vm;
    ~Deleter() {
      smolvm_vm_delete(vm);
      smolvm_vm_free(vm);
    }
  } deleter{vm};
  const smolvm_vm_info i = info(vm);
  const auto cg = nlohmann::json::parse(i.limits).value("cgroup", nlohmann::json::object());
  if (!cg.value("enabled", false)) {
    GTEST_SKIP() << "cgroup limits not applied on this host: " << cg.value("reason", "");
  }
  const bool v1 = cg.value("version", 0) == 1;
  const std::string dir = groups_of(cg).at("memory");
  const long long usage = number_in(dir + (v1 ? "/memory.usage_in_bytes" : "/memory.current"));
  const long long lowered = usage + (48ll << 20);
  std::ofstream(dir + (v1 ? "/memory.limit_in_bytes" : "/memory.max")) << lowered;
  ASSERT_EQ(number_in(dir + (v1 ? "/memory.limit_in_bytes" : "/memory.max")), lowered);
  const int64_t vmm = i.vmm_pid;
  vmtest::run(vm, "python3 -c 'b=[]\nwhile True: b.append(bytearray(8<<20))'", 30000);
  EXPECT_EQ(vmtest::wait_state_change(vm, "running", 10000), "failed");
  EXPECT_FALSE(pid_alive(vmm));
  const std::string why = info(vm).last_error;
  std::printf("limit lowered to %lld MiB (usage %lld MiB): %s\n", lowered >> 20, usage >> 20,
              why.c_str());
  EXPECT_NE(why.find("was killed by signal 9 by the out-of-memory killer of its cgroup"),
            std::string::npos)
      << why;
  // The limit in force when it died, not the one set at start.
  EXPECT_NE(why.find("(memory limit " + std::to_string(lowered >> 20) + " MiB)"), std::string::npos)
      << why;
  EXPECT_TRUE(host_unaffected());
}

}  // namespace
}  // namespace hardening
