#include "guest/agent/command_cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

#include "guest/agent/log.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace smolvm::agent {
namespace {

bool g_enabled = false;
uint64_t g_serial = 0;
// Released groups that still had processes (a command's background
// children outliving it); removed by sweep_command_cgroups once empty.
std::vector<std::string> g_released;

bool is_cgroup2(const char* path) {
  struct statfs fs {};
  return ::statfs(path, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

bool write_text(const std::string& path, const char* text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const size_t len = std::strlen(text);
  const bool ok = ::write(fd, text, len) == static_cast<ssize_t>(len);
  ::close(fd);
  return ok;
}

// Kills each process listed in cgroup.procs (for signals other than
// SIGKILL, and as the fallback on kernels without cgroup.kill).
void signal_each(const std::string& dir, int sig) {
  const int fd = ::open((dir + "/cgroup.procs").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  ::close(fd);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const long pid = std::strtol(text.c_str() + pos, nullptr, 10);
    if (pid > 1) ::kill(static_cast<pid_t>(pid), sig);
    pos = end + 1;
  }
}

}  // namespace

bool enable_command_cgroups() {
  const char* mnt = "/sys/fs/cgroup";
  if (!is_cgroup2(mnt)) {
    ::mkdir(mnt, 0755);
    if (::mount("cgroup2", mnt, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
      logf(
          "cgroup2 unavailable (mount on %s: %s): a command's timeout or kill reaches only its "
          "process group",
          mnt, std::strerror(errno));
      return false;
    }
  }
  if (::mkdir(kCommandCgroupRoot, 0755) != 0 && errno != EEXIST) {
    logf(
        "cgroup2 unavailable (mkdir %s: %s): a command's timeout or kill reaches only its "
        "process group",
        kCommandCgroupRoot, std::strerror(errno));
    return false;
  }
  g_enabled = true;
  return true;
}

bool command_cgroups_enabled() { return g_enabled; }

CommandCgroup::~CommandCgroup() { release(); }

bool CommandCgroup::create(std::string& err) {
  if (!g_enabled) {
    err = "command cgroups are off";
    return false;
  }
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string path = std::string(kCommandCgroupRoot) + "/" + std::to_string(++g_serial);
    if (::mkdir(path.c_str(), 0755) != 0) {
      if (errno == EEXIST) continue;  // left by an earlier session of this agent
      err = "mkdir " + path + ": " + std::strerror(errno);
      return false;
    }
    dir_fd_ = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) {
      err = "open " + path + ": " + std::strerror(errno);
      ::rmdir(path.c_str());
      return false;
    }
    path_ = std::move(path);
    return true;
  }
  err = "no free command cgroup name";
  return false;
}

void CommandCgroup::signal(int sig) const {
  if (path_.empty()) return;
  if (sig == SIGKILL && write_text(path_ + "/cgroup.kill", "1")) return;
  signal_each(path_, sig);
}

void CommandCgroup::release() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
  dir_fd_ = -1;
  if (path_.empty()) return;
  if (::rmdir(path_.c_str()) != 0 && errno == EBUSY) g_released.push_back(path_);
  path_.clear();
}

void sweep_command_cgroups() {
  std::erase_if(g_released,
                [](const std::string& p) { return ::rmdir(p.c_str()) == 0 || errno != EBUSY; });
}

bool valid_command_cgroup_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

void sweep_named_command_cgroups() {
  DIR* dir = ::opendir(kCommandCgroupRoot);
  if (!dir) return;
  const time_t old = ::time(nullptr) - 10;
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    // The agent's own groups are numbered; it removes them itself.
    if (!valid_command_cgroup_name(name) ||
        name.find_first_not_of("0123456789") == std::string::npos) {
      continue;
    }
    const std::string path = std::string(kCommandCgroupRoot) + "/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_ctime < old) {
      ::rmdir(path.c_str());  // EBUSY while its processes live: kept
    }
  }
  ::closedir(dir);
}

bool join_named_command_cgroup(const std::string& name, std::string& err) {
  if (!valid_command_cgroup_name(name)) {
    err = "cgroup name '" + name + "' is not 1-64 of [A-Za-z0-9_-]";
    return false;
  }
  if (!is_cgroup2("/sys/fs/cgroup")) {
    err = "no cgroup2 on /sys/fs/cgroup";
    return false;
  }
  if (::mkdir(kCommandCgroupRoot, 0755) != 0 && errno != EEXIST) {
    err = std::string("mkdir ") + kCommandCgroupRoot + ": " + std::strerror(errno);
    return false;
  }
  const std::string path = std::string(kCommandCgroupRoot) + "/" + name;
  if (::mkdir(path.c_str(), 0755) != 0) {
    err = "mkdir " + path + ": " + std::strerror(errno);
    return false;
  }
  if (!write_text(path + "/cgroup.procs", "0")) {
    err = "join " + path + ": " + std::strerror(errno);
    ::rmdir(path.c_str());
    return false;
  }
  return true;
}

bool kill_named_command_cgroup(const std::string& name, int wait_ms, bool& no_group,
                               std::string& err) {
  no_group = false;
  if (!valid_command_cgroup_name(name)) {
    err = "cgroup name '" + name + "' is not 1-64 of [A-Za-z0-9_-]";
    return false;
  }
  const std::string path = std::string(kCommandCgroupRoot) + "/" + name;
  if (!write_text(path + "/cgroup.kill", "1")) {
    no_group = errno == ENOENT;
    err = "cannot write " + path + "/cgroup.kill: " + std::strerror(errno);
    if (no_group) return false;
    signal_each(path, SIGKILL);  // a kernel before 5.14: no cgroup.kill
  }
  // The killed processes leave the group as they exit, a moment later.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (::rmdir(path.c_str()) != 0 && errno == EBUSY) {
    if (std::chrono::steady_clock::now() >= until) {
      err = path + " still has processes after " + std::to_string(wait_ms) + " ms";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace smolvm::agent
