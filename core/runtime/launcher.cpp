#include "core/runtime/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/common/paths.h"
#include "core/common/process.h"
#include "core/common/supervisor_report.h"
#include "protocol/fd_io.h"

namespace smolvm {

std::string supervisor_binary() {
  if (const char* env = std::getenv("SMOLVM_SUPERVISOR"); env && *env) return env;
  const std::string self = self_dir();
  for (const std::string& p : {self + "/smolvm/smolvm-supervisor", self + "/smolvm-supervisor"}) {
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  fail(SMOLVM_ENOTFOUND, "smolvm-supervisor not found next to the library (" + self +
                             "/smolvm/); set SMOLVM_SUPERVISOR");
}

LaunchResult launch_supervisor(const LaunchRequest& req) {
  const std::string binary = supervisor_binary();
  int ready[2];   // supervisor -> us: READY / ERROR
  int report[2];  // grandchild pid, from the intermediate child
  if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(report, O_CLOEXEC) != 0) {
    fail_errno(SMOLVM_EIO, "pipe");
  }
  std::vector<std::string> args = {binary,         "--vm-id",    req.vm_id, "--state-dir",
                                   req.state_dir,  "--store",    req.store, "--cache-dir",
                                   req.cache_dir,  "--ready-fd", "3",       "--plugin-path",
                                   req.plugin_path};
  if (req.owner_fd >= 0) args.insert(args.end(), {"--owner-fd", "4"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // Double fork + setsid: the supervisor belongs to no caller's session or
  // process group, so it outlives the process that started the VM and is
  // not hit by the caller's terminal signals. Its stdio never holds the
  // caller's pipes open.
  const pid_t child = ::fork();
  if (child < 0) fail_errno(SMOLVM_EIO, "fork");
  if (child == 0) {
    ::setsid();
    const pid_t grandchild = ::fork();
    if (grandchild != 0) {
      const int64_t pid = grandchild;
      (void)!::write(report[1], &pid, sizeof pid);
      _exit(grandchild < 0 ? 1 : 0);
    }
    const int devnull = ::open("/dev/null", O_RDWR);
    const int log = ::open(req.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(devnull, 0);
    ::dup2(log >= 0 ? log : devnull, 1);
    ::dup2(log >= 0 ? log : devnull, 2);
    // Out of the way of 0..4 first, so no dup2 below overwrites a source.
    const int ready_fd = ::fcntl(ready[1], F_DUPFD_CLOEXEC, 10);
    const int owner_fd = req.owner_fd >= 0 ? ::fcntl(req.owner_fd, F_DUPFD_CLOEXEC, 10) : -1;
    ::dup2(ready_fd, 3);  // dup2 clears close-on-exec on the copy
    if (owner_fd >= 0) ::dup2(owner_fd, 4);
    ::execv(binary.c_str(), argv.data());
    _exit(127);
  }
  ::close(ready[1]);
  ::close(report[1]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  LaunchResult result;
  int64_t pid = 0;
  if (::read(report[0], &pid, sizeof pid) == static_cast<ssize_t>(sizeof pid)) result.pid = pid;
  ::close(report[0]);

  std::string line;
  const int64_t deadline = monotonic_ms() + req.timeout_ms;
  char buf[4096];
  for (;;) {
    const int64_t left = deadline - monotonic_ms();
    if (left <= 0) {
      result.error =
          "the supervisor did not report within " + std::to_string(req.timeout_ms / 1000) + " s";
      break;
    }
    pollfd p{ready[0], POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    const long n = proto::read_some(ready[0], buf, sizeof buf);
    if (n > 0) {
      line.append(buf, static_cast<size_t>(n));
      // One line is the whole report; do not wait for EOF, which a child
      // that inherited the pipe could delay.
      if (line.find('\n') != std::string::npos) break;
      continue;
    }
    break;  // EOF: the supervisor died without a report
  }
  ::close(ready[0]);
  SupervisorReport parsed;
  if (parse_supervisor_report(line, parsed)) {
    result.ready = parsed.ready;
    if (!parsed.ready) {
      result.error = parsed.message;
      result.status = parsed.status;
    }
  } else if (result.error.empty()) {
    result.error = "the supervisor exited without a report (see " + req.log_path + ")";
    const std::string tail = tail_file(req.log_path, 400);
    if (!tail.empty()) result.error += ":\n" + tail;
  }
  return result;
}

void run_supervisor_cleanup(const CleanupRequest& req) {
  const CommandResult r =
      run_command({supervisor_binary(), "--cleanup", "--vm-id", req.vm_id, "--state-dir",
                   req.state_dir, "--plugin-path", req.plugin_path, "--store", req.store,
                   "--end-state", req.failed ? "failed" : "stopped", "--error", req.error},
                  req.timeout_ms);
  std::string output = r.output;
  while (!output.empty() && output.back() == '\n') output.pop_back();
  if (r.timed_out) {
    fail(SMOLVM_ETIMEOUT, "cleaning up after vm '" + req.vm_id +
                              "': smolvm-supervisor --cleanup did not finish within " +
                              std::to_string(req.timeout_ms / 1000) + " s" +
                              (output.empty() ? "" : ": " + output));
  }
  if (r.exit_code != 0) {
    fail(SMOLVM_EIO, "cleaning up after vm '" + req.vm_id +
                         "': smolvm-supervisor --cleanup exited with status " +
                         std::to_string(r.exit_code) + (output.empty() ? "" : ": " + output));
  }
}

}  // namespace smolvm
