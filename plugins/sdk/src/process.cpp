#include "smolvm/sdk/process.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "smolvm/sdk/path.h"

namespace smolvm::sdk {
namespace {

// After fork only async-signal-safe calls: no allocation, no stdio.
void say(const char* a, const char* b = "") {
  (void)!write(2, a, strlen(a));
  (void)!write(2, b, strlen(b));
  (void)!write(2, "\n", 1);
}

[[noreturn]] void die(const char* what) {
  say(what, strerror(errno));
  _exit(127);
}

// Moves `fds` to 3, 4, ... without clobbering a source that sits on a
// target number, then closes everything above them.
void place_fds(const int* fds, int n) {
  int high[64];
  for (int i = 0; i < n; ++i) {
    // Close-on-exec: if close_range below is missing, these copies still
    // do not reach the VMM (dup2 clears the flag on the final numbers).
    high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + n);
    if (high[i] < 0) die("smolvm: passing a descriptor to the child: ");
  }
  for (int i = 0; i < n; ++i) {
    if (dup2(high[i], 3 + i) < 0) die("smolvm: passing a descriptor to the child: ");
  }
  // Older kernels lack close_range; the caller's descriptors and the copies
  // above are close-on-exec anyway, this is the belt to those braces.
  syscall(SYS_close_range, static_cast<unsigned>(3 + n), ~0u, 0u);
}

// Without CAP_SETPCAP (not root) there is nothing to drop: PR_CAPBSET_DROP
// fails harmlessly.
void drop_bounding_set() {
  for (int cap = 0; cap < 64; ++cap) prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

}  // namespace

pid_t spawn(const SpawnRequest& request, std::string& error) {
  if (request.argv.empty()) {
    error = "empty command";
    return -1;
  }
  if (request.pass_fds.size() > 60) {
    error = "too many descriptors to pass";
    return -1;
  }
  // Everything the child needs is prepared before fork.
  const std::string binary = which(request.argv[0]);
  if (binary.empty()) {
    error = request.argv[0] + " not found" +
            (request.argv[0].find('/') == std::string::npos ? " on PATH" : "");
    return -1;
  }
  std::vector<char*> args;
  for (const auto& a : request.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) {
    error = std::string("open /dev/null: ") + std::strerror(errno);
    return -1;
  }
  const int stdio[3] = {request.stdin_fd >= 0 ? request.stdin_fd : devnull,
                        request.stdout_fd >= 0 ? request.stdout_fd : devnull,
                        request.stderr_fd >= 0 ? request.stderr_fd : devnull};
  const int* pass = request.pass_fds.data();
  const int npass = static_cast<int>(request.pass_fds.size());
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    close(devnull);
    return -1;
  }
  if (pid == 0) {
    // The supervisor blocks the signals it reads from a signalfd; the
    // child must start with none blocked.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int i = 0; i < 3; ++i) {
      if (dup2(stdio[i], i) < 0) _exit(127);
    }
    place_fds(pass, npass);
    if (request.confine) drop_bounding_set();
    if (request.uid != 0) {
      if (setgroups(0, nullptr) != 0) die("smolvm: setgroups before exec: ");
      if (setresgid(request.gid, request.gid, request.gid) != 0) {
        die("smolvm: setresgid before exec: ");
      }
      if (setresuid(request.uid, request.uid, request.uid) != 0) {
        die("smolvm: setresuid before exec: ");
      }
    }
    if (request.confine && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      die("smolvm: no_new_privs: ");
    }
    // A VM must never outlive its supervisor (nor a tool its caller). Set after the uid switch,
    // which clears it; exec of a plain binary keeps it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    execv(binary.c_str(), args.data());
    die("smolvm: exec: ");
  }
  close(devnull);
  return pid;
}

ToolResult run_tool(const std::vector<std::string>& argv, const std::string& input) {
  ToolResult r;
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    r.output = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  if (pipe2(out, O_CLOEXEC) != 0) {
    r.output = std::string("pipe: ") + std::strerror(errno);
    close(in[0]);
    close(in[1]);
    return r;
  }
  SpawnRequest req;
  req.argv = argv;
  req.stdin_fd = in[0];
  req.stdout_fd = out[1];
  req.stderr_fd = out[1];
  req.confine = false;
  std::string error;
  const pid_t pid = spawn(req, error);
  close(in[0]);
  close(out[1]);
  if (pid < 0) {
    close(in[1]);
    close(out[0]);
    r.exit_code = 127;
    r.output = error;
    return r;
  }
  // Tool inputs are small scripts: one write fits the pipe buffer.
  if (!input.empty() && write(in[1], input.data(), input.size()) < 0) {
    r.output = std::string("write: ") + std::strerror(errno) + "\n";
  }
  close(in[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) r.output.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  while (!r.output.empty() && r.output.back() == '\n') r.output.pop_back();
  return r;
}

std::string first_line_of(const std::vector<std::string>& argv, int* exit_code) {
  const ToolResult r = run_tool(argv);
  if (exit_code) *exit_code = r.exit_code;
  const auto nl = r.output.find('\n');
  return nl == std::string::npos ? r.output : r.output.substr(0, nl);
}

}  // namespace smolvm::sdk
