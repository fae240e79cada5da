#include "plugins/vmm-firecracker/fc_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

namespace smolvm_fc {

pid_t spawn(const std::vector<std::string>& argv, const std::string& stdout_path,
            const std::string& stderr_path, std::string& error) {
  if (argv.empty()) {
    error = "empty command";
    return -1;
  }
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  const int out = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  auto close_all = [&] {
    for (int fd : {devnull, out, err}) {
      if (fd >= 0) close(fd);
    }
  };
  if (devnull < 0 || out < 0 || err < 0) {
    error = std::string("opening the console or log file: ") + std::strerror(errno);
    close_all();
    return -1;
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    close_all();
    return -1;
  }
  if (pid == 0) {
    // A VM must never outlive its supervisor. (The kernel clears this at
    // the jailer's setuid: see README.md.)
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    // The supervisor blocks signals it reads from a signalfd; firecracker
    // must start with none blocked.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(devnull, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(args[0], args.data());
    const char* msg = "smolvm: exec of the VMM failed: ";
    (void)!write(2, msg, strlen(msg));
    const char* why = strerror(errno);
    (void)!write(2, why, strlen(why));
    (void)!write(2, "\n", 1);
    _exit(127);
  }
  close_all();
  return pid;
}

bool still_running(pid_t pid, std::string& why) {
  siginfo_t info{};
  // WNOWAIT leaves the zombie for the supervisor's own waitpid.
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    why = "the VMM process is gone";
    return false;
  }
  if (info.si_pid == 0) return true;
  if (info.si_code == CLD_EXITED) {
    why = "firecracker exited with status " + std::to_string(info.si_status);
  } else {
    why = "firecracker was killed by signal " + std::to_string(info.si_status);
  }
  return false;
}

void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

bool wait_for_socket(const std::string& path, pid_t pid, int timeout_ms, std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    error = "socket path too long: " + path;
    return false;
  }
  path.copy(addr.sun_path, path.size());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error = std::string("socket: ") + std::strerror(errno);
      return false;
    }
    const int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    const int e = errno;
    close(fd);
    if (rc == 0) return true;
    std::string why;
    if (!still_running(pid, why)) {
      error = why + " before opening its API socket";
      return false;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      error = "the API socket " + path + " did not appear within " + std::to_string(timeout_ms) +
              " ms (" + std::strerror(e) + ")";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string tail_of(const std::string& path, size_t max_bytes) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat st;
  std::string out;
  if (fstat(fd, &st) == 0) {
    const off_t start =
        st.st_size > static_cast<off_t>(max_bytes) ? st.st_size - static_cast<off_t>(max_bytes) : 0;
    out.resize(static_cast<size_t>(st.st_size - start));
    const ssize_t n = pread(fd, out.data(), out.size(), start);
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  close(fd);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace smolvm_fc
