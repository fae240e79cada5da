// One running Firecracker: launched and configured through its API, its
// agent channel connected, forced off, cleaned up. The plugin entry points
// (fc_plugin.cpp) resolve the settings from the host first; tests call these
// directly with settings of their own.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "plugins/vmm-firecracker/fc_launch.h"
#include "smolvm/plugin.h"

namespace smolvm_fc {

struct Instance {
  pid_t pid = -1;
  std::string vm_dir;  // canonical
  std::string console_log;
  LaunchPlan plan;
};

// Starts firecracker (or the jailer) as a child, configures the VM through
// the API and starts it. Returns 0, or a smolvm_status with error set; on
// failure nothing is left running and the child has been reaped.
int launch_instance(Instance** out, const smolvm_vmm_config& cfg, const LaunchSettings& s,
                    std::string& error);

// The guest agent's byte stream over hybrid vsock, waiting up to
// timeout_ms for the guest to listen.
int connect_agent(Instance& inst, uint32_t timeout_ms, int* out_fd, std::string& error);

// Pauses (or resumes) the guest's vCPUs through the API (PATCH /vm).
int set_paused(Instance& inst, bool paused, std::string& error);

// SIGKILL (see README.md for why that is the right way off). Idempotent.
int kill_instance(Instance& inst, std::string& error);

// After the process has been reaped: removes its sockets and jail.
void release_instance(Instance* inst);

}  // namespace smolvm_fc
