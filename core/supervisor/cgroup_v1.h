// The cgroup v1 backend, for hosts where cpu, memory and pids are v1
// hierarchies (a hybrid layout): a group per hierarchy at
// <mount>/<this process's group>/smolvm/<vm-id>, so that the limits of the
// container or service the supervisor runs in still contain the VM (v1
// allows processes beside child groups, and memory is always hierarchical).
#pragma once

#include <string>

#include "core/supervisor/cgroup.h"
#include "core/supervisor/cgroup_v1_mounts.h"

namespace smolvm::cgroup_v1 {

// Why the host cannot give us v1 limits, or "" with this process's group in
// the cpu, memory and pids hierarchies in *own (each writable).
std::string unusable_reason(OwnGroups* own);

// What was applied where it differs from the limits asked for.
struct Applied {
  std::string cpu_max;        // "max <period>" when the quota was refused
  std::string cpu_note;       // why
  bool swap_limited = false;  // memory.memsw.limit_in_bytes set as well
};

// Makes the VM's group in each hierarchy (once for hierarchies mounted
// together) with the limits. Returns "" or the error; whatever it created is
// in dirs->made either way.
std::string create(const OwnGroups& own, const std::string& vm_id, const CgroupLimits& limits,
                   CgroupDirs* dirs, Applied* applied);

}  // namespace smolvm::cgroup_v1
