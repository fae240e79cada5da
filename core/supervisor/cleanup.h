// `smolvm-supervisor --cleanup --vm-id ID`: the end of a VM whose supervisor
// died (or hung, and is killed here), done with the supervisor's own
// teardown code (teardown.h) so the client library needs none of it. Runs
// in the caller's process tree and returns when done; gc and the lifecycle
// calls of core/runtime spawn it (launcher.h, run_supervisor_cleanup).
#pragma once

#include <string>

#include "core/state/vm_writer.h"
#include "smolvm/smolvm.h"

namespace smolvm {

struct CleanupArgs {
  std::string vm_id;
  std::string state_dir;
  std::string plugin_path;
  std::string store = SMOLVM_STORE_DEFAULT;
  // How the VM is recorded as ended (record_end: only a VM still live).
  VmEnd end{VmState::kFailed, "the VM's supervisor is gone; the VM was cleaned up", ""};
};

// Kills the recorded processes, removes the recorded cgroup, tears the
// network down, removes the sockets and records the end. Returns the exit
// code: 0, or 1 with the reason on stderr. A network that cannot be torn
// down is reported but left for delete or gc, which retry it.
int run_cleanup(const CleanupArgs& args);

}  // namespace smolvm
