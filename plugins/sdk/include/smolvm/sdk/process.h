// smolvm/sdk/process.h - starting the processes a plugin runs: a VMM
// (confined, tied to its supervisor's life) and the host's tools (qemu-img,
// nft, --version), whose output the plugin reads.
#ifndef SMOLVM_SDK_PROCESS_H
#define SMOLVM_SDK_PROCESS_H

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace smolvm::sdk {

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0]: a path or a name on PATH
  int stdin_fd = -1;              // -1: /dev/null
  int stdout_fd = -1;             // -1: /dev/null
  int stderr_fd = -1;             // -1: /dev/null
  // Handed to the child as descriptors 3, 4, ... in this order; everything
  // else the caller has open is closed in the child.
  std::vector<int> pass_fds;
  // Empty the capability bounding set and set no_new_privs, so nothing the
  // child runs can hold or gain a capability. Off for tools and for
  // launchers that need privileges themselves (Firecracker's jailer).
  bool confine = true;
  // Non-zero: the child switches to this uid/gid (no supplementary groups)
  // before exec. Needs CAP_SETUID/CAP_SETGID in the caller.
  uint32_t uid = 0, gid = 0;
};

// Forks and execs (argv[0] resolved with which()). The child gets SIGKILL
// when the calling thread ends (PR_SET_PDEATHSIG follows the thread, and is
// set after the uid switch, which would clear it): call it from the thread
// that owns the child for its whole life. Returns the pid, or -1 with error
// set. A failure in the child after fork (uid switch, exec) is written to
// its stderr, exit status 127.
pid_t spawn(const SpawnRequest& request, std::string& error);

struct ToolResult {
  int exit_code = -1;  // 127: could not be run; 128 + N: killed by signal N
  std::string output;  // stdout and stderr together, trailing newlines cut
};

// Runs argv to its end with input on its stdin (never through a shell) and
// returns its exit status and output. input must fit a pipe's buffer (64
// KiB): it is written before the output is read.
ToolResult run_tool(const std::vector<std::string>& argv, const std::string& input = "");

// The first line of run_tool(argv)'s output; exit_code (optional) gets its
// exit status.
std::string first_line_of(const std::vector<std::string>& argv, int* exit_code = nullptr);

}  // namespace smolvm::sdk

#endif  // SMOLVM_SDK_PROCESS_H
