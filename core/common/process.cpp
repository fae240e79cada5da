#include "core/common/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/common/error.h"

namespace smolvm {

int64_t process_start_time(int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return -1;
  std::string line;
  std::getline(in, line);
  // The command name (field 2) may hold spaces and ')': skip past the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  // Fields 3..22: 20 fields, the last being starttime.
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return -1;
  }
  try {
    return std::stoll(field);
  } catch (...) {
    return -1;
  }
}

bool process_alive(int64_t pid, int64_t start_time) {
  if (pid <= 0) return false;
  const int64_t st = process_start_time(pid);
  if (st < 0) return false;
  if (start_time >= 0 && st != start_time) return false;
  // A zombie still has /proc/<pid>/stat; it is not alive for our purposes.
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z';
}

bool wait_process_exit(int64_t pid, int64_t start_time, int timeout_ms) {
  const int64_t deadline = monotonic_ms() + timeout_ms;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
  if (pidfd >= 0) {
    if (start_time >= 0 && process_start_time(pid) != start_time) {
      ::close(pidfd);
      return true;  // the pid already belongs to someone else
    }
    for (;;) {
      const int64_t left = deadline - monotonic_ms();
      if (left <= 0) break;
      pollfd p{pidfd, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left));
      if (r > 0) {
        ::close(pidfd);
        // Reap it if it happens to be our child.
        ::waitpid(static_cast<pid_t>(pid), nullptr, WNOHANG);
        return true;
      }
      if (r < 0 && errno != EINTR) break;
    }
    ::close(pidfd);
    return !process_alive(pid, start_time);
  }
  while (monotonic_ms() < deadline) {
    ::waitpid(static_cast<pid_t>(pid), nullptr, WNOHANG);
    if (!process_alive(pid, start_time)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return !process_alive(pid, start_time);
}

void kill_process(int64_t pid, int64_t start_time) {
  if (!process_alive(pid, start_time)) return;
  ::kill(static_cast<pid_t>(pid), SIGKILL);
  wait_process_exit(pid, start_time, 5000);
}

CommandResult run_command(const std::vector<std::string>& argv, int timeout_ms) {
  CommandResult result;
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) fail_errno(SMOLVM_EIO, "pipe");
  const pid_t pid = ::fork();
  if (pid < 0) fail_errno(SMOLVM_EIO, "fork");
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  ::close(pipefd[1]);
  const int64_t deadline = timeout_ms >= 0 ? monotonic_ms() + timeout_ms : -1;
  char buf[4096];
  for (;;) {
    if (deadline >= 0) {
      const int64_t left = deadline - monotonic_ms();
      pollfd p{pipefd[0], POLLIN, 0};
      const int r = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) {
        // Its children may hold the pipe open too: stop reading, kill it.
        result.timed_out = true;
        ::kill(pid, SIGKILL);
        break;
      }
    }
    const ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n > 0) {
      result.output.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(pipefd[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t monotonic_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace smolvm
