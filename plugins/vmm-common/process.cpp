#include "plugins/vmm-common/process.h"

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

namespace smolvm_vmm {
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
    if (high[i] < 0) die("smolvm: passing a descriptor to the VMM: ");
  }
  for (int i = 0; i < n; ++i) {
    if (dup2(high[i], 3 + i) < 0) die("smolvm: passing a descriptor to the VMM: ");
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

std::string which(const std::string& name) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  const std::string p = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    const std::string dir = end > start ? p.substr(start, end - start) : ".";
    const std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

std::string first_line_of(const std::vector<std::string>& argv, int* exit_code) {
  if (exit_code) *exit_code = 127;
  if (argv.empty()) return "";
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return "";
  SpawnRequest req;
  req.argv = argv;
  req.stdout_fd = fds[1];
  req.stderr_fd = fds[1];
  req.confine = false;
  std::string error;
  const pid_t pid = spawn(req, error);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return error;
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0 && out.size() < 65536) out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  const auto nl = out.find('\n');
  return nl == std::string::npos ? out : out.substr(0, nl);
}

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
      if (setgroups(0, nullptr) != 0) die("smolvm: setgroups before starting the VMM: ");
      if (setresgid(request.gid, request.gid, request.gid) != 0) {
        die("smolvm: setresgid before starting the VMM: ");
      }
      if (setresuid(request.uid, request.uid, request.uid) != 0) {
        die("smolvm: setresuid before starting the VMM: ");
      }
    }
    if (request.confine && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      die("smolvm: no_new_privs: ");
    }
    // A VM must never outlive its supervisor. Set after the uid switch,
    // which clears it; exec of a plain binary keeps it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    execv(binary.c_str(), args.data());
    die("smolvm: exec: ");
  }
  close(devnull);
  return pid;
}

}  // namespace smolvm_vmm
