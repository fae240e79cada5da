// The per-VM supervisor (the pattern of conmon / containerd-shim): one
// small process per running VM that owns the VMM child, its console log and
// the agent channel, multiplexes many client connections onto that channel,
// and, whenever the VMM exits, records it in the store and cleans up.
//
// It is started detached by Runtime::start and reports on a pipe:
// "READY\n" once the guest agent answered, or "ERROR <message>\n".
#pragma once

#include <string>

namespace smolvm {

struct SupervisorArgs {
  std::string vm_id;
  std::string state_dir;
  std::string plugin_path;
  std::string store = "sqlite";
  int ready_fd = -1;
};

// Runs the supervisor to the end of the VM's life; returns the exit code.
int run_supervisor(const SupervisorArgs& args);

}  // namespace smolvm
