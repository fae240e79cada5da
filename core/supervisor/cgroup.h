// Per-VM cgroup limits for the VMM process: CPU quota from the vCPU count,
// memory = guest RAM + the VMM's own overhead, and a pids cap, so one VM
// cannot starve the host or the other VMs. cgroup v2 where /sys/fs/cgroup is
// a usable cgroup2 (cgroup_v2.h), else the cpu, memory and pids hierarchies
// of cgroup v1 (a hybrid host, cgroup_v1.h). Where neither is usable (no
// controllers, no write access) nothing is applied and the reason is
// recorded instead; the VM still runs.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace smolvm {

// QEMU's threads: vCPUs, the main loop, RCU, up to 64 block-I/O workers.
constexpr uint64_t kVmmPidsBase = 128;

struct CgroupLimits {
  std::string cpu_max;  // "quota period" in microseconds (cgroup v2 cpu.max)
  uint64_t cpu_quota_us = 0, cpu_period_us = 0;  // the same, for v1's two files
  uint64_t memory_max = 0;
  uint64_t pids_max = 0;
};

// vmm_overhead_mib: what the VMM uses beyond the guest's RAM, as its
// plugin's probe says (core/plugins/backend_choice.h).
CgroupLimits limits_for(uint32_t vcpus, uint32_t mem_mib, uint64_t vmm_overhead_mib);

// What a backend made for one VM.
struct CgroupDirs {
  // Each controller's group; under v2 all three name the same folder, under
  // v1 hierarchies mounted together (cpu,pids) share one too.
  std::map<std::string, std::string> by_controller;
  // The distinct folders created, in order: where the VMM is moved into and
  // what is removed.
  std::vector<std::string> made;
};

class VmCgroup {
 public:
  // Creates the VM's group(s) with the limits: v2 <root>/smolvm/<vm_id>
  // (root: /sys/fs/cgroup, or $SMOLVM_CGROUP_ROOT for tests, which forces v2
  // and skips the file-system type check), or under v1
  // <mount>/<this process's group>/smolvm/<vm_id> in each hierarchy. Never
  // throws: on any failure whatever was made is removed, the VM runs
  // unconfined and json() says why.
  void prepare(const std::string& vm_id, const CgroupLimits& limits);
  // Moves the VMM (all its threads) in, in every hierarchy.
  void add(int64_t pid);
  // What the kernel's OOM killer did in the VM's memory group: how many
  // times it acted (memory.oom_control under v1, memory.events under v2)
  // and the limit in force now (which someone may have changed since
  // prepare; 0 when unlimited). All 0 when the VM has no memory group.
  // Read before remove().
  struct OomReport {
    uint64_t kills = 0;
    uint64_t limit_bytes = 0;
  };
  OomReport oom_report() const;
  // Removes the (empty) group(s) once the VMM has exited. Idempotent.
  void remove();
  // For runtime.limits.cgroup:
  //   v2: {enabled, version: 2, path, cpu_max, memory_max, pids_max}
  //   v1: {enabled, version: 1, paths: {cpu, memory, pids}, cpu_max,
  //        memory_max, memory_includes_swap, pids_max[, cpu_note]}
  //   or {enabled: false, reason} (plus path/paths of any group that could
  //   not be removed yet, for remove_recorded_cgroup).
  nlohmann::json json() const;

 private:
  void disable(const std::string& why);
  CgroupDirs dirs_;
  std::string reason_, cpu_note_;
  CgroupLimits limits_;
  int version_ = 0;
  bool swap_limited_ = false;
  bool enabled_ = false;
};

// For `smolvm doctor`: the cgroup version VMs will get here (2 or 1) and
// where, or 0 and why none, without creating anything.
int cgroup_support(std::string* detail);

// Removes the group(s) of a recorded json() report ("path" of v2, the
// "paths" of v1; runtime.limits.cgroup), for cleanup after a supervisor that
// died without doing it itself. Only ever folders named .../smolvm/<vm-id>;
// idempotent.
void remove_recorded_cgroup(const nlohmann::json& report);

}  // namespace smolvm
