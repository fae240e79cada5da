// Per-VM cgroups made for real in this host's hierarchies (cgroup v1 here:
// cpu, memory and pids under /sys/fs/cgroup/<controller>), with a real
// `sleep` standing in for the VMM. Needs root; skipped with the reason
// otherwise. The VM-level checks (QEMU itself confined, throttled, bounded)
// are in tests/hardening/cgroup_limits_test.cpp.
#include "core/supervisor/cgroup.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "core/common/files.h"
#include "core/supervisor/cgroup_fs.h"
#include "core/supervisor/cgroup_v1_mounts.h"
#include "core/supervisor/cgroup_v2.h"

namespace smolvm {
namespace {

using cgroup_fs::is_vm_group;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string line_of(const std::string& path) { return cgroup_fs::read_line(path); }

std::string unique_id(const char* what) {
  return std::string("cgtest-") + what + "-" + std::to_string(getpid());
}

// A real process to confine: `sleep 60`, killed and reaped by the test.
pid_t spawn_sleep() {
  const pid_t pid = fork();
  if (pid == 0) {
    execlp("sleep", "sleep", "60", static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

void reap(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// Why this host cannot run the real-cgroup tests, or "".
std::string cannot_test() {
  if (geteuid() != 0) return "needs root to create cgroups";
  VmCgroup probe;
  probe.prepare(unique_id("probe"), limits_for(1, 128, 192));
  const auto j = probe.json();
  probe.remove();
  if (!j.value("enabled", false)) return "no usable cgroup: " + j.value("reason", std::string());
  return "";
}

TEST(CgroupLimitsFor, FollowTheVcpusTheGuestRamAndTheVmmsOverhead) {
  const CgroupLimits tcg = limits_for(1, 256, 192);
  EXPECT_EQ(tcg.cpu_max, "100000 100000");
  EXPECT_EQ(tcg.cpu_quota_us, 100000u);
  EXPECT_EQ(tcg.cpu_period_us, 100000u);
  EXPECT_EQ(tcg.memory_max, (256u + 192u) << 20);
  EXPECT_EQ(tcg.pids_max, kVmmPidsBase + 1);
  const CgroupLimits kvm = limits_for(4, 1024, 64);
  EXPECT_EQ(kvm.cpu_max, "400000 100000");
  EXPECT_EQ(kvm.memory_max, (1024u + 64u) << 20);
  EXPECT_EQ(kvm.pids_max, kVmmPidsBase + 4);
}

TEST(CgroupFs, OnlyFoldersNamedSmolvmSlashIdAreVmGroups) {
  EXPECT_TRUE(is_vm_group("/sys/fs/cgroup/smolvm/vm-1"));
  EXPECT_TRUE(is_vm_group("/sys/fs/cgroup/memory/process_api/3509/smolvm/agent-1"));
  for (const char* bad :
       {"", "smolvm/vm-1", "/sys/fs/cgroup/smolvm", "/sys/fs/cgroup/smolvm/", "/sys/fs/cgroup",
        "/sys/fs/cgroup/smolvm/vm-1/", "/sys/fs/cgroup/smolvm/..", "/sys/fs/cgroup/smolvm/.",
        "/sys/fs/cgroup/smolvm/../memory", "/sys/fs/cgroup/x-smolvm/vm-1", "/sys//smolvm/vm"}) {
    EXPECT_FALSE(is_vm_group(bad)) << bad;
  }
}

// A container's view: its hierarchy mounted with the root field naming the
// container's subtree, and /proc/self/cgroup naming a group below it.
constexpr const char* kContainerMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
    "32 31 0:29 /docker/c1 /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    "35 31 0:32 /docker/c1 /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 /docker/c1 /sys/fs/cgroup/my\\040pids rw,relatime - cgroup cgroup rw,pids\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(CgroupV1Mounts, FindsTheOwnGroupBelowEachMountsRoot) {
  const std::string proc_cgroup =
      "8:pids:/docker/c1/svc\n4:memory:/docker/c1\n1:cpu,cpuacct:/docker/c1/svc\n0::/\n";
  cgroup_v1::OwnGroups own;
  EXPECT_EQ(
      cgroup_v1::own_groups(kContainerMountinfo, proc_cgroup, {"cpu", "memory", "pids"}, &own), "");
  EXPECT_EQ(own["cpu"], "/sys/fs/cgroup/cpu,cpuacct/svc");
  EXPECT_EQ(own["memory"], "/sys/fs/cgroup/memory");
  EXPECT_EQ(own["pids"], "/sys/fs/cgroup/my pids/svc");  // \040 is a space
}

TEST(CgroupV1Mounts, SaysWhichControllerIsMissingAndWhy) {
  const std::string mountinfo =
      "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
      "35 31 0:32 /docker/c1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,pids\n";
  const std::string proc_cgroup = "4:memory:/docker/c2\n1:cpu:/\n";
  cgroup_v1::OwnGroups own;
  const std::string why =
      cgroup_v1::own_groups(mountinfo, proc_cgroup, {"cpu", "memory", "pids"}, &own);
  EXPECT_NE(why.find("memory group /docker/c2 is outside what its mounts show (root /docker/c1 "
                     "at /sys/fs/cgroup/memory)"),
            std::string::npos)
      << why;
  // A cgroup2 mount listing pids does not count as a v1 hierarchy.
  EXPECT_NE(why.find("no cgroup v1 hierarchy has the pids controller mounted"), std::string::npos)
      << why;
  EXPECT_EQ(why.find("cpu"), std::string::npos) << why;
  EXPECT_EQ(own["cpu"], "/sys/fs/cgroup/cpu");
}

TEST(CgroupV1Mounts, FindsThisProcessesRealGroups) {
  cgroup_v1::OwnGroups own;
  const std::string why = cgroup_v1::own_groups({"cpu", "memory", "pids"}, &own);
  if (!why.empty()) GTEST_SKIP() << "no cgroup v1 hierarchies here: " << why;
  for (const auto& [c, dir] : own) {
    EXPECT_TRUE(path_exists(dir + "/cgroup.procs")) << c << ": " << dir;
    // This process is listed in its own group.
    const std::string procs = slurp(dir + "/cgroup.procs");
    EXPECT_NE(("\n" + procs).find("\n" + std::to_string(getpid()) + "\n"), std::string::npos)
        << c << ": " << dir;
  }
}

TEST(CgroupV2, TheHostsUnifiedMountWithoutControllersIsRefusedWithTheReason) {
  const std::string unified = "/sys/fs/cgroup/unified";
  if (!path_exists(unified + "/cgroup.controllers")) GTEST_SKIP() << "no cgroup2 at " << unified;
  const std::string offers = line_of(unified + "/cgroup.controllers");
  if (offers.find("cpu") != std::string::npos && offers.find("memory") != std::string::npos &&
      offers.find("pids") != std::string::npos) {
    GTEST_SKIP() << unified << " offers every controller: " << offers;
  }
  setenv("SMOLVM_CGROUP_ROOT", unified.c_str(), 1);
  VmCgroup cg;
  cg.prepare(unique_id("v2"), limits_for(1, 256, 192));
  unsetenv("SMOLVM_CGROUP_ROOT");
  const auto j = cg.json();
  EXPECT_EQ(j["enabled"], false);
  const std::string reason = j.value("reason", "");
  std::printf("cgroup v2 at %s: %s\n", unified.c_str(), reason.c_str());
  EXPECT_NE(reason.find(unified + " lacks the cgroup v2 controllers"), std::string::npos) << reason;
  EXPECT_NE(reason.find("it offers: " + (offers.empty() ? "none" : offers)), std::string::npos)
      << reason;
  EXPECT_FALSE(j.contains("path"));  // nothing was made
  EXPECT_FALSE(path_exists(unified + "/smolvm/" + unique_id("v2")));
}

TEST(CgroupV2, ATestRootThatIsNotThereIsNotReplacedByV1) {
  setenv("SMOLVM_CGROUP_ROOT", "/nonexistent/cgroup", 1);
  VmCgroup cg;
  cg.prepare(unique_id("none"), limits_for(1, 256, 192));
  unsetenv("SMOLVM_CGROUP_ROOT");
  EXPECT_EQ(cg.json()["enabled"], false);
  EXPECT_NE(cg.json().value("reason", "").find("/nonexistent/cgroup is not a cgroup v2 root"),
            std::string::npos)
      << cg.json().dump();
}

// The real thing on this host: the groups made, the limits in their files,
// a process moved in everywhere, and nothing left after remove().
class RealCgroup : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = cannot_test(); !why.empty()) GTEST_SKIP() << why;
  }
  void TearDown() override {
    if (child_ > 0) reap(child_);
    remove_recorded_cgroup(cg_.json());
  }
  // Each controller's group (the same folder for all three under v2).
  std::map<std::string, std::string> groups() const {
    const auto j = cg_.json();
    std::map<std::string, std::string> g;
    if (j.value("version", 0) == 2) {
      for (const char* c : {"cpu", "memory", "pids"}) g[c] = j["path"];
    } else {
      for (const auto& [c, dir] : j["paths"].items()) g[c] = dir;
    }
    return g;
  }
  VmCgroup cg_;
  pid_t child_ = -1;
};

TEST_F(RealCgroup, HoldsTheLimitsAndTheProcessAndLeavesNothing) {
  const std::string id = unique_id("real");
  cg_.prepare(id, limits_for(1, 256, 192));
  const auto j = cg_.json();
  std::printf("cgroup: %s\n", j.dump().c_str());
  ASSERT_EQ(j["enabled"], true) << j.dump();
  EXPECT_EQ(j["cpu_max"], "100000 100000");
  EXPECT_EQ(j["memory_max"], 448ull << 20);
  EXPECT_EQ(j["pids_max"], 129u);
  const auto g = groups();
  ASSERT_EQ(g.size(), 3u) << j.dump();
  for (const auto& [c, dir] : g) {
    EXPECT_TRUE(is_vm_group(dir)) << dir;
    EXPECT_EQ(dir.substr(dir.size() - id.size() - 8), "/smolvm/" + id) << dir;
    EXPECT_TRUE(path_exists(dir)) << dir;
  }
  if (j["version"] == 1) {
    // Beneath this process's own group in each hierarchy.
    cgroup_v1::OwnGroups own;
    ASSERT_EQ(cgroup_v1::own_groups({"cpu", "memory", "pids"}, &own), "");
    for (const auto& [c, dir] : g) EXPECT_EQ(dir, own[c] + "/smolvm/" + id);
    EXPECT_EQ(line_of(g.at("cpu") + "/cpu.cfs_quota_us"), "100000");
    EXPECT_EQ(line_of(g.at("cpu") + "/cpu.cfs_period_us"), "100000");
    EXPECT_EQ(line_of(g.at("memory") + "/memory.limit_in_bytes"), std::to_string(448ull << 20));
    const bool memsw = path_exists(g.at("memory") + "/memory.memsw.limit_in_bytes");
    EXPECT_EQ(j["memory_includes_swap"], memsw);
    if (memsw) {
      EXPECT_EQ(line_of(g.at("memory") + "/memory.memsw.limit_in_bytes"),
                std::to_string(448ull << 20));
    }
  } else {
    EXPECT_EQ(line_of(g.at("cpu") + "/cpu.max"), "100000 100000");
    EXPECT_EQ(line_of(g.at("memory") + "/memory.max"), std::to_string(448ull << 20));
  }
  EXPECT_EQ(line_of(g.at("pids") + "/pids.max"), "129");

  child_ = spawn_sleep();
  ASSERT_GT(child_, 0);
  cg_.add(child_);
  EXPECT_EQ(cg_.json()["enabled"], true) << cg_.json().dump();
  const std::string procs_of_child = slurp("/proc/" + std::to_string(child_) + "/cgroup");
  for (const auto& [c, dir] : g) {
    EXPECT_EQ(line_of(dir + "/cgroup.procs"), std::to_string(child_)) << c;
  }
  // /proc/<pid>/cgroup names the VM's group for every controller.
  size_t named = 0, at = 0;
  while ((at = procs_of_child.find("/smolvm/" + id + "\n", at)) != std::string::npos) ++named, ++at;
  EXPECT_GE(named, j["version"] == 1 ? 3u : 1u) << procs_of_child;

  reap(child_);
  child_ = -1;
  cg_.remove();
  for (const auto& [c, dir] : g) EXPECT_FALSE(path_exists(dir)) << c << ": " << dir << " left";
  cg_.remove();  // idempotent
}

TEST_F(RealCgroup, ARecordedGroupIsRemovedAfterItsSupervisorDied) {
  const std::string id = unique_id("recorded");
  {
    VmCgroup dead;  // a supervisor killed before its remove()
    dead.prepare(id, limits_for(1, 256, 192));
    ASSERT_EQ(dead.json()["enabled"], true);
    child_ = spawn_sleep();
    dead.add(child_);
    cg_ = dead;  // TearDown cleans up should this test fail
  }
  const nlohmann::json recorded = cg_.json();
  const auto g = groups();
  // The VMM died with its supervisor.
  reap(child_);
  child_ = -1;
  for (const auto& [c, dir] : g) ASSERT_TRUE(path_exists(dir)) << dir;
  remove_recorded_cgroup(recorded);
  for (const auto& [c, dir] : g) EXPECT_FALSE(path_exists(dir)) << c << ": " << dir << " left";
  remove_recorded_cgroup(recorded);  // idempotent
  remove_recorded_cgroup({{"enabled", false}, {"reason", "x"}});
  remove_recorded_cgroup({});
}

TEST_F(RealCgroup, ARecordedPathOfAnotherShapeIsNeverRemoved) {
  // An empty group that is not .../smolvm/<id>: what a corrupt or hostile
  // record might name. rmdir would succeed on it; we must not try.
  const std::string id = unique_id("shape");
  cg_.prepare(id, limits_for(1, 256, 192));
  ASSERT_EQ(cg_.json()["enabled"], true);
  const std::string parent = groups().at("memory");  // .../smolvm/<id>
  const std::string other = parent + "/not-smolvm-shaped";
  ASSERT_EQ(mkdir(other.c_str(), 0755), 0) << other;
  remove_recorded_cgroup({{"path", other}, {"paths", {{"memory", other}}}});
  EXPECT_TRUE(path_exists(other));
  rmdir(other.c_str());
}

TEST_F(RealCgroup, AGroupHeldByAnotherLiveVmWithTheSameIdIsRefused) {
  // Two state folders may each have a VM "agent-1"; the second must not
  // share (and later fail to remove) the first one's groups.
  const std::string id = unique_id("twin");
  cg_.prepare(id, limits_for(1, 256, 192));
  ASSERT_EQ(cg_.json()["enabled"], true);
  child_ = spawn_sleep();
  cg_.add(child_);
  VmCgroup twin;
  twin.prepare(id, limits_for(2, 512, 192));
  const auto j = twin.json();
  std::printf("twin: %s\n", j.dump().c_str());
  EXPECT_EQ(j["enabled"], false);
  EXPECT_NE(j.value("reason", "")
                .find("already holds processes (pid " + std::to_string(child_) +
                      "): another VM with this id"),
            std::string::npos)
      << j.dump();
  EXPECT_FALSE(j.contains("paths") || j.contains("path")) << j.dump();
  twin.remove();
  for (const auto& [c, dir] : groups()) {
    EXPECT_TRUE(path_exists(dir)) << dir << " was removed by the twin";
    EXPECT_EQ(line_of(dir + "/cgroup.procs"), std::to_string(child_)) << c;
  }
  EXPECT_EQ(line_of(groups().at("pids") + "/pids.max"), "129");  // not the twin's 130
}

TEST_F(RealCgroup, AFailureHalfWayRemovesWhatWasMade) {
  // 500 us is below the kernel's 1 ms minimum CFS quota: refused by the
  // kernel after the groups were made, whichever version.
  CgroupLimits bad = limits_for(1, 256, 192);
  bad.cpu_quota_us = 500;
  bad.cpu_max = "500 100000";
  const std::string id = unique_id("half");
  cg_.prepare(id, bad);
  const auto j = cg_.json();
  std::printf("half-way failure: %s\n", j.dump().c_str());
  EXPECT_EQ(j["enabled"], false);
  const std::string reason = j.value("reason", "");
  EXPECT_NE(reason.find("'500"), std::string::npos) << reason;  // v1 '500', v2 '500 100000'
  EXPECT_NE(reason.find("Invalid argument"), std::string::npos) << reason;
  EXPECT_FALSE(j.contains("paths")) << j.dump();
  EXPECT_FALSE(j.contains("path")) << j.dump();
  cgroup_v1::OwnGroups own;
  if (cgroup_v1::own_groups({"cpu", "memory", "pids"}, &own).empty()) {
    for (const auto& [c, dir] : own) EXPECT_FALSE(path_exists(dir + "/smolvm/" + id)) << c;
  }
  EXPECT_FALSE(path_exists("/sys/fs/cgroup/smolvm/" + id));
}

// v1 refuses a child's CPU quota above an ancestor's. Here this process is
// put in a cpu group allowing half a CPU, below the 1-vCPU VM's quota: the
// VM's group keeps its memory and pids limits and goes without a quota of
// its own, bounded by the ancestor's, and json() says so.
TEST_F(RealCgroup, V1AnAncestorsSmallerCpuQuotaBoundsTheVmInstead) {
  cgroup_v1::OwnGroups own;
  if (!cgroup_v1::own_groups({"cpu"}, &own).empty() ||
      path_exists("/sys/fs/cgroup/cgroup.controllers")) {
    GTEST_SKIP() << "needs a cgroup v1 cpu hierarchy";
  }
  const std::string home = own["cpu"];
  const std::string capped = home + "/" + unique_id("cap");
  ASSERT_EQ(mkdir(capped.c_str(), 0755), 0) << capped;
  ASSERT_EQ(cgroup_fs::write_file(capped + "/cpu.cfs_quota_us", "50000"), "");
  ASSERT_EQ(cgroup_fs::write_file(capped + "/cgroup.procs", std::to_string(getpid())), "");
  const std::string id = unique_id("capped");
  cg_.prepare(id, limits_for(1, 256, 192));
  const auto j = cg_.json();
  // Back home before any assertion can return early.
  EXPECT_EQ(cgroup_fs::write_file(home + "/cgroup.procs", std::to_string(getpid())), "");
  std::printf("under a half-CPU ancestor: %s\n", j.dump().c_str());
  EXPECT_EQ(j["enabled"], true) << j.dump();
  EXPECT_EQ(j["cpu_max"], "max 100000");
  EXPECT_NE(j.value("cpu_note", "").find(capped + " allows less (quota, period: 50000 100000)"),
            std::string::npos)
      << j.dump();
  EXPECT_EQ(j["paths"]["cpu"], capped + "/smolvm/" + id);
  EXPECT_EQ(line_of(capped + "/smolvm/" + id + "/cpu.cfs_quota_us"), "-1");
  EXPECT_EQ(line_of(j["paths"]["memory"].get<std::string>() + "/memory.limit_in_bytes"),
            std::to_string(448ull << 20));
  cg_.remove();
  rmdir((capped + "/smolvm").c_str());
  EXPECT_EQ(rmdir(capped.c_str()), 0) << capped << " left";
}

}  // namespace
}  // namespace smolvm
