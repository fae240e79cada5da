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

// What `smolvm-supervisor --cleanup` needs: the VM and how to record its end.
struct CleanupRequest {
  std::string vm_id;
  std::string state_dir;
  std::string plugin_path;
  std::string store;
  bool failed = true;  // the end recorded: failed, or stopped
  std::string error;   // last_error recorded with it
  int timeout_ms = 60000;
};

// Runs `smolvm-supervisor --cleanup` for a VM whose supervisor died or hung
// (the supervisor's own teardown: processes, cgroup, network, sockets, the
// recorded end) and waits for it. Throws EIO with its output when it
// fails, ETIMEOUT when it does not finish in time.
void run_supervisor_cleanup(const CleanupRequest& req);

}  // namespace smolvm
