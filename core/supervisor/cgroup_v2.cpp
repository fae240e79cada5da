#include "core/supervisor/cgroup_v2.h"

#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/common/files.h"
#include "core/supervisor/cgroup_fs.h"

namespace smolvm::cgroup_v2 {
namespace {

using cgroup_fs::has_word;
using cgroup_fs::read_line;
using cgroup_fs::write_file;

constexpr long kCgroup2Magic = 0x63677270;  // CGROUP2_SUPER_MAGIC
constexpr const char* kControllers[] = {"cpu", "memory", "pids"};

bool is_cgroup2(const std::string& path) {
  struct statfs s {};
  return ::statfs(path.c_str(), &s) == 0 && static_cast<long>(s.f_type) == kCgroup2Magic;
}

// Enables the controllers for the children of `dir` (no-op when they are).
std::string enable_controllers(const std::string& dir) {
  const std::string have = read_line(dir + "/cgroup.subtree_control");
  for (const char* c : kControllers) {
    if (has_word(have, c)) continue;
    if (auto err = write_file(dir + "/cgroup.subtree_control", std::string("+") + c);
        !err.empty()) {
      return err;
    }
  }
  return "";
}

}  // namespace

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
  if (!path_exists(root + "/cgroup.controllers")) {
    return root + " is not a cgroup v2 root (it has no cgroup.controllers)";
  }
  const std::string have = read_line(root + "/cgroup.controllers");
  std::string missing;
  for (const char* c : kControllers) {
    if (!has_word(have, c)) missing += std::string(missing.empty() ? "" : ", ") + c;
  }
  if (!missing.empty()) {
    return root + " lacks the cgroup v2 controllers " + missing +
           " (it offers: " + (have.empty() ? "none" : have) + ")";
  }
  if (::access(root.c_str(), W_OK) != 0) {
    return root + " is not writable by this process: " + std::strerror(errno);
  }
  return "";
}

std::string create(const std::string& root, const std::string& vm_id, const CgroupLimits& limits,
                   CgroupDirs* dirs) {
  if (auto err = enable_controllers(root); !err.empty()) return err;
  const std::string parent = root + "/smolvm";
  if (auto err = cgroup_fs::make_dir(parent); !err.empty()) return err;
  if (auto err = enable_controllers(parent); !err.empty()) return err;
  const std::string dir = parent + "/" + vm_id;
  if (auto err = cgroup_fs::make_vm_group(dir); !err.empty()) return err;
  dirs->made.push_back(dir);
  for (const char* c : kControllers) dirs->by_controller[c] = dir;
  for (const auto& [file, value] : {std::pair<const char*, std::string>{"cpu.max", limits.cpu_max},
                                    {"memory.max", std::to_string(limits.memory_max)},
                                    {"pids.max", std::to_string(limits.pids_max)}}) {
    if (auto err = write_file(dir + "/" + file, value); !err.empty()) return err;
  }
  return "";
}

}  // namespace smolvm::cgroup_v2
