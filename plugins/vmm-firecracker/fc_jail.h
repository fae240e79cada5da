// The jailer's chroot: files placed in it before launch, and everything the
// jailer leaves behind removed after the VM ends.
#pragma once

#include <string>

#include "plugins/vmm-firecracker/fc_launch.h"

namespace smolvm_fc {

// Creates the chroot folder and puts plan.staged in it: hard links where
// possible (instant, no space), else copies for files that allow it.
bool stage_jail(const LaunchPlan& plan, uint32_t uid, uint32_t gid, std::string& error);

// Removes the jail base folder (links, device nodes, the copied binary) and
// the jail's cgroup folders. Best effort: the VM is gone either way.
void remove_jail(const LaunchPlan& plan);

// rm -rf without following symlinks; true if path is gone.
bool remove_tree(const std::string& path);

}  // namespace smolvm_fc
