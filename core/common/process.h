// Process helpers: identity that survives pid reuse, liveness, waiting for
// a process that is not our child, and running a helper command.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace smolvm {

// /proc/<pid>/stat field 22 (start time in clock ticks since boot), or -1.
int64_t process_start_time(int64_t pid);
// True if pid runs and (when start_time >= 0) is the same process.
bool process_alive(int64_t pid, int64_t start_time);
// Waits for any process (not only a child) to exit; false on timeout.
bool wait_process_exit(int64_t pid, int64_t start_time, int timeout_ms);
// SIGKILLs pid if it is still the same process, and waits for it.
void kill_process(int64_t pid, int64_t start_time);

struct CommandResult {
  int exit_code = -1;
  std::string output;      // stdout and stderr together
  bool timed_out = false;  // killed (SIGKILL) at the timeout
};
// Runs argv (no shell) to completion, capturing its output. With
// timeout_ms >= 0, a command still running then is killed.
CommandResult run_command(const std::vector<std::string>& argv, int timeout_ms = -1);

int64_t now_ms();
int64_t monotonic_ms();

}  // namespace smolvm
