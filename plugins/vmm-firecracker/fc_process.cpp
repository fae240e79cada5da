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

#include "smolvm/sdk/process.h"

namespace smolvm_fc {

pid_t spawn(const std::vector<std::string>& argv, const std::string& stdout_path, int stdout_fd,
            const std::string& stderr_path, std::string& error) {
  const int out = stdout_fd >= 0
                      ? fcntl(stdout_fd, F_DUPFD_CLOEXEC, 3)
                      : open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  pid_t pid = -1;
  if (out < 0 || err < 0) {
    error = std::string("opening the console or log file: ") + std::strerror(errno);
  } else {
    smolvm::sdk::SpawnRequest req;
    req.argv = argv;
    req.stdout_fd = out;
    req.stderr_fd = err;
    // The jailer needs its privileges to build the jail and switch uid;
    // without it, Firecracker opens the TAP itself (CAP_NET_ADMIN).
    req.confine = false;
    pid = smolvm::sdk::spawn(req, error);
  }
  for (int fd : {out, err}) {
    if (fd >= 0) close(fd);
  }
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
