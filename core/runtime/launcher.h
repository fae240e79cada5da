// Starts a VM's supervisor as a detached process and waits for its report.
#pragma once

#include <cstdint>
#include <string>

#include "smolvm/smolvm.h"

namespace smolvm {

struct LaunchRequest {
  std::string vm_id;
  std::string state_dir;
  std::string plugin_path;
  std::string store;
  std::string cache_dir;
  std::string log_path;  // the supervisor's stderr
  int timeout_ms = 0;
  // The supervisor's end of an ephemeral VM's owner link, or -1.
  int owner_fd = -1;
};

struct LaunchResult {
  bool ready = false;
  std::string error;          // why not, when !ready
  int status = SMOLVM_ERROR;  // and its smolvm_status, as the supervisor reported it
  int64_t pid = 0;            // the supervisor's pid (0 if it never started)
};

// Path of smolvm-supervisor: $SMOLVM_SUPERVISOR, else next to the library.
std::string supervisor_binary();

LaunchResult launch_supervisor(const LaunchRequest& req);

}  // namespace smolvm
