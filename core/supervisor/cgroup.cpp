#include "core/supervisor/cgroup.h"

#include <cstdlib>
#include <fstream>

#include "core/supervisor/cgroup_fs.h"
#include "core/supervisor/cgroup_v1.h"
#include "core/supervisor/cgroup_v2.h"

namespace smolvm {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint32_t kCpuPeriodUs = 100000;
constexpr const char* kV2Root = "/sys/fs/cgroup";

// ".../smolvm/<id>" -> "...": the group the folder was made in, where a VMM
// that could not be moved everywhere is put back.
std::string made_in(const std::string& dir) {
  return dir.substr(0, dir.rfind('/', dir.rfind('/') - 1));
}

}  // namespace

CgroupLimits limits_for(uint32_t vcpus, uint32_t mem_mib, uint64_t vmm_overhead_mib) {
  CgroupLimits l;
  l.cpu_quota_us = uint64_t{vcpus} * kCpuPeriodUs;
  l.cpu_period_us = kCpuPeriodUs;
  l.cpu_max = std::to_string(l.cpu_quota_us) + " " + std::to_string(l.cpu_period_us);
  l.memory_max = (uint64_t{mem_mib} + vmm_overhead_mib) * kMiB;
  l.pids_max = kVmmPidsBase + vcpus;
  return l;
}

void VmCgroup::disable(const std::string& why) {
  enabled_ = false;
  reason_ = why;
  remove();  // keeps what cannot be removed yet, for a later remove() and json()
  if (dirs_.made.empty()) dirs_.by_controller.clear();
}

void VmCgroup::prepare(const std::string& vm_id, const CgroupLimits& limits) {
  limits_ = limits;
  const char* env = std::getenv("SMOLVM_CGROUP_ROOT");
  const bool from_env = env && *env;
  const std::string root = from_env ? env : kV2Root;
  const std::string why_v2 = cgroup_v2::unusable_reason(root, from_env);
  if (why_v2.empty()) {
    version_ = 2;
    if (auto err = cgroup_v2::create(root, vm_id, limits, &dirs_); !err.empty()) {
      return disable(err);
    }
    enabled_ = true;
    return;
  }
  if (from_env) return disable(why_v2);  // a test's root: no fallback
  cgroup_v1::OwnGroups own;
  if (auto why_v1 = cgroup_v1::unusable_reason(&own); !why_v1.empty()) {
    return disable("no usable cgroup v2: " + why_v2 + "; no usable cgroup v1: " + why_v1);
  }
  version_ = 1;
  cgroup_v1::Applied applied;
  if (auto err = cgroup_v1::create(own, vm_id, limits, &dirs_, &applied); !err.empty()) {
    return disable(err);
  }
  if (!applied.cpu_max.empty()) limits_.cpu_max = applied.cpu_max;
  cpu_note_ = applied.cpu_note;
  swap_limited_ = applied.swap_limited;
  enabled_ = true;
}

void VmCgroup::add(int64_t pid) {
  if (!enabled_) return;
  const std::string p = std::to_string(pid);
  for (size_t i = 0; i < dirs_.made.size(); ++i) {
    if (auto err = cgroup_fs::write_file(dirs_.made[i] + "/cgroup.procs", p); !err.empty()) {
      // Not confined everywhere: put it back where it was (so the groups
      // it entered can go) and say so, rather than half-confined.
      for (size_t j = 0; j < i; ++j) {
        cgroup_fs::write_file(made_in(dirs_.made[j]) + "/cgroup.procs", p);
      }
      return disable(err);
    }
  }
}

VmCgroup::OomReport VmCgroup::oom_report() const {
  OomReport report;
  const auto it = dirs_.by_controller.find("memory");
  if (!enabled_ || it == dirs_.by_controller.end()) return report;
  std::ifstream f(it->second + (version_ == 1 ? "/memory.oom_control" : "/memory.events"));
  std::string key;
  uint64_t value = 0;
  while (f >> key >> value) {
    if (key == "oom_kill") report.kills = value;
  }
  // "max" (v2, unlimited) does not parse and leaves 0.
  const std::string limit =
      cgroup_fs::read_line(it->second + (version_ == 1 ? "/memory.limit_in_bytes" : "/memory.max"));
  report.limit_bytes = std::strtoull(limit.c_str(), nullptr, 10);
  return report;
}

void VmCgroup::remove() {
  std::vector<std::string> left;
  for (const auto& dir : dirs_.made) {
    if (!cgroup_fs::remove_vm_group(dir)) left.push_back(dir);
  }
  dirs_.made = left;
}

nlohmann::json VmCgroup::json() const {
  nlohmann::json j;
  if (enabled_) {
    j = {{"enabled", true},
         {"version", version_},
         {"cpu_max", limits_.cpu_max},
         {"memory_max", limits_.memory_max},
         {"pids_max", limits_.pids_max}};
    if (version_ == 1) j["memory_includes_swap"] = swap_limited_;
    if (!cpu_note_.empty()) j["cpu_note"] = cpu_note_;
  } else {
    j = {{"enabled", false}, {"reason", reason_}};
    if (dirs_.made.empty()) return j;
    j["version"] = version_;  // groups left to remove
  }
  if (version_ == 2 && !dirs_.made.empty()) j["path"] = dirs_.made.front();
  if (version_ == 1) j["paths"] = dirs_.by_controller;
  return j;
}

int cgroup_support(std::string* detail) {
  const std::string why_v2 = cgroup_v2::unusable_reason(kV2Root, false);
  if (why_v2.empty()) {
    *detail = std::string("cgroup v2 at ") + kV2Root + "/smolvm/<vm-id>";
    return 2;
  }
  cgroup_v1::OwnGroups own;
  const std::string why_v1 = cgroup_v1::unusable_reason(&own);
  if (why_v1.empty()) {
    *detail = "cgroup v1 (no usable v2):";
    for (const auto& [controller, dir] : own) *detail += " " + dir + "/smolvm/<vm-id>";
    return 1;
  }
  *detail = "no usable cgroup v2: " + why_v2 + "; no usable cgroup v1: " + why_v1;
  return 0;
}

void remove_recorded_cgroup(const nlohmann::json& report) {
  if (!report.is_object()) return;
  std::vector<std::string> dirs;
  if (const auto p = report.find("path"); p != report.end() && p->is_string()) dirs.push_back(*p);
  if (const auto ps = report.find("paths"); ps != report.end() && ps->is_object()) {
    for (const auto& p : *ps) {
      if (p.is_string()) dirs.push_back(p);
    }
  }
  // remove_vm_group() refuses anything not shaped .../smolvm/<vm-id>, and
  // a folder shared by two controllers is simply gone the second time.
  for (const auto& dir : dirs) cgroup_fs::remove_vm_group(dir);
}

}  // namespace smolvm
