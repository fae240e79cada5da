// Starting and querying the processes a VMM plugin runs: the VMM itself
// (confined, tied to its supervisor's life) and its tools (--version,
// qemu-img).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace smolvm_vmm {

// Resolves a command name through PATH the way execvp does ("" if absent);
// a name with a '/' is checked as is.
std::string which(const std::string& name);

// Runs argv (argv[0] resolved through PATH) and returns the first line of
// its combined stdout and stderr. exit_code (optional) gets its exit status,
// 127 when it could not be run.
std::string first_line_of(const std::vector<std::string>& argv, int* exit_code = nullptr);

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0]: a path or a name on PATH
  int stdin_fd = -1;              // -1: /dev/null
  int stdout_fd = -1;             // -1: /dev/null
  int stderr_fd = -1;             // -1: /dev/null
  // Handed to the child as descriptors 3, 4, ... in this order; everything
  // else the caller has open is closed in the child.
  std::vector<int> pass_fds;
  // Empty the capability bounding set and set no_new_privs, so nothing the
  // child runs can hold or gain a capability. Off for launchers that need
  // privileges themselves (Firecracker's jailer).
  bool confine = true;
  // Non-zero: the child switches to this uid/gid (no supplementary groups)
  // before exec. Needs CAP_SETUID/CAP_SETGID in the caller.
  uint32_t uid = 0, gid = 0;
};

// Forks and execs. The child gets SIGKILL when the calling thread ends
// (PR_SET_PDEATHSIG follows the thread, and is set after the uid switch,
// which would clear it): call it from the thread that owns the VM for its
// whole life. Returns the pid, or -1 with error set. A failure in the child
// after fork (uid switch, exec) is written to its stderr, exit status 127.
pid_t spawn(const SpawnRequest& request, std::string& error);

}  // namespace smolvm_vmm
