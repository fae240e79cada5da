// The firecracker (or jailer) child process.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace smolvm_fc {

// Forks and execs argv with stdin /dev/null, stdout to stdout_fd (the
// supervisor's console pipe) or, when it is -1, appended to stdout_path
// (Firecracker writes the guest's serial console there) and stderr appended
// to stderr_path. The child gets SIGKILL when the calling thread ends
// (PR_SET_PDEATHSIG follows the thread): call it from the thread that owns
// the VM for its whole life, as the supervisor's main thread does. Returns
// the pid, or -1 with error set.
pid_t spawn(const std::vector<std::string>& argv, const std::string& stdout_path, int stdout_fd,
            const std::string& stderr_path, std::string& error);

// True while pid has not exited. Does not reap it: the supervisor's SIGCHLD
// handling must still see its exit status. When it has exited, why says how.
bool still_running(pid_t pid, std::string& why);

// SIGKILL and reap, for a child nobody else will learn about (launch failed).
void kill_and_reap(pid_t pid);

// Waits until a Unix socket at path accepts connections, the process
// exits, or timeout_ms passes.
bool wait_for_socket(const std::string& path, pid_t pid, int timeout_ms, std::string& error);

// The last max_bytes of a file, for error messages ("" if unreadable).
std::string tail_of(const std::string& path, size_t max_bytes);

}  // namespace smolvm_fc
