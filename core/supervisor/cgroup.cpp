#include "core/supervisor/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace smolvm {
namespace {

constexpr long kCgroup2Magic = 0x63677270;  // CGROUP2_SUPER_MAGIC
constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint32_t kCpuPeriodUs = 100000;

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

// Returns "" or the error.
std::string write_file(const std::string& path, const std::string& value) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return "open " + path + ": " + std::strerror(errno);
  const ssize_t n = ::write(fd, value.data(), value.size());
  const int e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return "write '" + value + "' to " + path + ": " + std::strerror(n < 0 ? e : EIO);
  }
  return "";
}

bool is_cgroup2(const std::string& path) {
  struct statfs s {};
  return ::statfs(path.c_str(), &s) == 0 && static_cast<long>(s.f_type) == kCgroup2Magic;
}

bool has_word(const std::string& list, const std::string& word) {
  std::istringstream in(list);
  std::string w;
  while (in >> w) {
    if (w == word) return true;
  }
  return false;
}

// Why the host cannot give us cgroup v2 limits at `root`, or "".
std::string unusable_reason(const std::string& root, bool trust_root) {
  if (!trust_root && !is_cgroup2(root)) {
    std::string why =
        root + " is not a cgroup v2 mount (the host uses cgroup v1 or a hybrid layout)";
    const std::string unified = root + "/unified";
    if (is_cgroup2(unified)) {
      const std::string c = read_line(unified + "/cgroup.controllers");
      why += "; its cgroup2 at " + unified + " offers only: " + (c.empty() ? "no controllers" : c);
    }
    return why;
  }
  const std::string have = read_line(root + "/cgroup.controllers");
  std::string missing;
  for (const char* c : {"cpu", "memory", "pids"}) {
    if (!has_word(have, c)) missing += std::string(missing.empty() ? "" : ", ") + c;
  }
  if (!missing.empty()) return root + " lacks the cgroup v2 controllers " + missing;
  if (::access(root.c_str(), W_OK) != 0) {
    return root + " is not writable by this process: " + std::strerror(errno);
  }
  return "";
}

// Enables the controllers for the children of `dir` (no-op when they are).
std::string enable_controllers(const std::string& dir) {
  const std::string have = read_line(dir + "/cgroup.subtree_control");
  for (const char* c : {"cpu", "memory", "pids"}) {
    if (has_word(have, c)) continue;
    if (auto err = write_file(dir + "/cgroup.subtree_control", std::string("+") + c);
        !err.empty()) {
      return err;
    }
  }
  return "";
}

}  // namespace

CgroupLimits limits_for(uint32_t vcpus, uint32_t mem_mib, const std::string& accel) {
  CgroupLimits l;
  l.cpu_max = std::to_string(uint64_t{vcpus} * kCpuPeriodUs) + " " + std::to_string(kCpuPeriodUs);
  const uint64_t overhead = accel == "kvm" ? kVmmOverheadMibKvm : kVmmOverheadMibTcg;
  l.memory_max = (uint64_t{mem_mib} + overhead) * kMiB;
  l.pids_max = kVmmPidsBase + vcpus;
  return l;
}

void VmCgroup::disable(const std::string& why) {
  enabled_ = false;
  reason_ = why;
  if (!path_.empty()) ::rmdir(path_.c_str());
  path_.clear();
}

void VmCgroup::prepare(const std::string& vm_id, const CgroupLimits& limits) {
  limits_ = limits;
  const char* env = std::getenv("SMOLVM_CGROUP_ROOT");
  const bool from_env = env && *env;
  const std::string root = from_env ? env : "/sys/fs/cgroup";
  if (auto why = unusable_reason(root, from_env); !why.empty()) return disable(why);
  if (auto err = enable_controllers(root); !err.empty()) return disable(err);
  const std::string parent = root + "/smolvm";
  if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
    return disable("mkdir " + parent + ": " + std::strerror(errno));
  }
  if (auto err = enable_controllers(parent); !err.empty()) return disable(err);
  const std::string dir = parent + "/" + vm_id;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return disable("mkdir " + dir + ": " + std::strerror(errno));
  }
  path_ = dir;
  for (const auto& [file, value] : {std::pair<const char*, std::string>{"cpu.max", limits.cpu_max},
                                    {"memory.max", std::to_string(limits.memory_max)},
                                    {"pids.max", std::to_string(limits.pids_max)}}) {
    if (auto err = write_file(dir + "/" + file, value); !err.empty()) return disable(err);
  }
  enabled_ = true;
}

void VmCgroup::add(int64_t pid) {
  if (!enabled_) return;
  if (auto err = write_file(path_ + "/cgroup.procs", std::to_string(pid)); !err.empty()) {
    disable(err);
  }
}

void VmCgroup::remove() {
  if (path_.empty()) return;
  // The VMM was reaped, but the kernel may take a moment to empty the group.
  for (int i = 0; i < 50 && ::rmdir(path_.c_str()) != 0 && errno == EBUSY; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

nlohmann::json VmCgroup::json() const {
  if (!enabled_) return {{"enabled", false}, {"reason", reason_}};
  return {{"enabled", true},
          {"path", path_},
          {"cpu_max", limits_.cpu_max},
          {"memory_max", limits_.memory_max},
          {"pids_max", limits_.pids_max}};
}

void remove_recorded_cgroup(const nlohmann::json& runtime) {
  const auto it = runtime.find("cgroup");
  if (it == runtime.end() || !it->is_object()) return;
  const std::string path = it->value("path", std::string());
  // Only ever a folder we made: <root>/smolvm/<vm-id>.
  if (path.find("/smolvm/") == std::string::npos) return;
  ::rmdir(path.c_str());
}

}  // namespace smolvm
