#include "core/supervisor/cgroup_v1.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/common/files.h"
#include "core/supervisor/cgroup_fs.h"

namespace smolvm::cgroup_v1 {
namespace {

using cgroup_fs::write_file;

const std::vector<std::string> kControllers = {"cpu", "memory", "pids"};

// The nearest group above `dir` whose CPU quota is smaller (as a share of
// its period) than `quota`/`period`, with that quota as "quota period", or
// "" when there is none. Walks up until it leaves the hierarchy (the folder
// holding the mount point has no cpu.cfs_quota_us).
std::string smaller_ancestor_quota(std::string dir, uint64_t quota, uint64_t period,
                                   std::string* which) {
  for (dir = dir.substr(0, dir.rfind('/')); !dir.empty(); dir = dir.substr(0, dir.rfind('/'))) {
    const std::string q = cgroup_fs::read_line(dir + "/cpu.cfs_quota_us");
    const std::string p = cgroup_fs::read_line(dir + "/cpu.cfs_period_us");
    if (q.empty() || p.empty()) return "";  // above the mount point
    if (q == "-1") continue;
    const long long aq = std::strtoll(q.c_str(), nullptr, 10);
    const long long ap = std::strtoll(p.c_str(), nullptr, 10);
    if (aq > 0 && ap > 0 && static_cast<unsigned long long>(aq) * period < quota * ap) {
      *which = dir;
      return q + " " + p;
    }
  }
  return "";
}

// CFS bandwidth. v1 refuses (EINVAL) a quota above an ancestor's (say a
// container allowed 1 CPU and the VM has 2 vCPUs); the VM then goes without
// a quota of its own, so the ancestor's smaller one bounds it, rather than
// losing its memory and pids limits too. Any other refusal is an error.
std::string limit_cpu(const std::string& dir, const CgroupLimits& limits, Applied* applied) {
  if (auto err = write_file(dir + "/cpu.cfs_period_us", std::to_string(limits.cpu_period_us));
      !err.empty()) {
    return err;
  }
  int e = 0;
  const std::string quota = std::to_string(limits.cpu_quota_us);
  auto err = write_file(dir + "/cpu.cfs_quota_us", quota, &e);
  if (err.empty() || e != EINVAL) return err;
  std::string ancestor;
  const std::string cap =
      smaller_ancestor_quota(dir, limits.cpu_quota_us, limits.cpu_period_us, &ancestor);
  if (cap.empty()) return err;
  applied->cpu_max = "max " + std::to_string(limits.cpu_period_us);
  applied->cpu_note = "cpu.cfs_quota_us=" + quota + " (period " +
                      std::to_string(limits.cpu_period_us) + ") was refused because " + ancestor +
                      " allows less (quota, period: " + cap +
                      "); that quota bounds this VM instead";
  return "";
}

// memory.limit_in_bytes bounds RAM only; where swap is accounted
// (memory.memsw.*) the same figure also bounds RAM + swap, so a VMM past its
// limit is reclaimed or OOM-killed inside its group instead of pushing its
// excess into the host's swap. The RAM limit must be set first (memsw may
// never be below it).
std::string limit_memory(const std::string& dir, uint64_t bytes, Applied* applied) {
  const std::string value = std::to_string(bytes);
  if (auto err = write_file(dir + "/memory.limit_in_bytes", value); !err.empty()) return err;
  const std::string memsw = dir + "/memory.memsw.limit_in_bytes";
  if (!path_exists(memsw)) return "";
  if (auto err = write_file(memsw, value); !err.empty()) return err;
  applied->swap_limited = true;
  return "";
}

}  // namespace

std::string unusable_reason(OwnGroups* own) {
  if (auto why = own_groups(kControllers, own); !why.empty()) return why;
  for (const auto& c : kControllers) {
    const std::string& dir = own->at(c);
    if (::access(dir.c_str(), W_OK) != 0) {
      return "this process's " + c + " group " + dir + " is not writable: " + std::strerror(errno);
    }
  }
  return "";
}

std::string create(const OwnGroups& own, const std::string& vm_id, const CgroupLimits& limits,
                   CgroupDirs* dirs, Applied* applied) {
  for (const auto& c : kControllers) {
    const std::string parent = own.at(c) + "/smolvm", dir = parent + "/" + vm_id;
    dirs->by_controller[c] = dir;
    // Hierarchies mounted together share one folder.
    if (std::find(dirs->made.begin(), dirs->made.end(), dir) != dirs->made.end()) continue;
    if (auto err = cgroup_fs::make_dir(parent); !err.empty()) return err;
    if (auto err = cgroup_fs::make_vm_group(dir); !err.empty()) return err;
    dirs->made.push_back(dir);
  }
  if (auto err = limit_cpu(dirs->by_controller["cpu"], limits, applied); !err.empty()) return err;
  if (auto err = limit_memory(dirs->by_controller["memory"], limits.memory_max, applied);
      !err.empty()) {
    return err;
  }
  return write_file(dirs->by_controller["pids"] + "/pids.max", std::to_string(limits.pids_max));
}

}  // namespace smolvm::cgroup_v1
