// Finds this process's own group in each cgroup v1 hierarchy, so that a
// VM's groups can be made beneath it: /proc/self/mountinfo says where each
// hierarchy is mounted and which part of it the mount shows (its root
// field: a container may see only its own subtree), /proc/self/cgroup
// which group this process is in.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace smolvm::cgroup_v1 {

// controller -> the folder of this process's group in that controller's
// hierarchy, e.g. "memory" -> "/sys/fs/cgroup/memory/process_api/3509b3".
using OwnGroups = std::map<std::string, std::string>;

// From the text of a mountinfo and of a /proc/<pid>/cgroup. Returns "" with
// every one of `controllers` in *out, or why not, naming each controller
// that is missing and what was looked at.
std::string own_groups(const std::string& mountinfo, const std::string& proc_cgroup,
                       const std::vector<std::string>& controllers, OwnGroups* out);
// The same for this process.
std::string own_groups(const std::vector<std::string>& controllers, OwnGroups* out);

}  // namespace smolvm::cgroup_v1
