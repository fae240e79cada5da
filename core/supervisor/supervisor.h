// The per-VM supervisor (the pattern of conmon / containerd-shim): one
// small process per running VM that owns the VMM child, its console log and
// the agent channel, multiplexes many client connections onto that channel,
// and, whenever the VMM exits, records it in the store and cleans up.
//
// It is started detached by Runtime::start and reports on a pipe:
// "READY\n" once the guest agent answered, or "ERROR <status> <message>\n"
// (core/common/supervisor_report.h).
// SIGTERM, SIGINT or SIGHUP stop the VM (while it boots too: it then ends
// "stopped", not "failed").
#pragma once

#include <string>

#include "smolvm/smolvm.h"

namespace smolvm {

struct SupervisorArgs {
  std::string vm_id;
  std::string state_dir;
  std::string plugin_path;
  std::string store = SMOLVM_STORE_DEFAULT;
  std::string cache_dir;  // for deleting the VM like `smolvm rm` does
  int ready_fd = -1;
  // An ephemeral VM's link to its owner (core/runtime/owner_link.h): EOF
  // without the detach byte means the owner is gone and the VM is deleted.
  int owner_fd = -1;
};

// Runs the supervisor to the end of the VM's life; returns the exit code.
int run_supervisor(const SupervisorArgs& args);

}  // namespace smolvm
