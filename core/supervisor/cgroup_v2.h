// The cgroup v2 backend: one folder, <root>/smolvm/<vm-id>, holding all
// three controllers. Its parent is the v2 root rather than the supervisor's
// own group, because v2 forbids processes in a group whose controllers are
// delegated to children ("no internal processes").
#pragma once

#include <string>

#include "core/supervisor/cgroup.h"

namespace smolvm::cgroup_v2 {

// Why the host cannot give us cgroup v2 limits at `root`, or "".
// `trust_root` skips the file-system type check (a test's own root).
std::string unusable_reason(const std::string& root, bool trust_root);
// Makes <root>/smolvm/<vm_id> with the limits. Returns "" or the error;
// whatever it created is in dirs->made either way.
std::string create(const std::string& root, const std::string& vm_id, const CgroupLimits& limits,
                   CgroupDirs* dirs);

}  // namespace smolvm::cgroup_v2
