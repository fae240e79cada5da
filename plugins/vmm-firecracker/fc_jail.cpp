#include "plugins/vmm-firecracker/fc_jail.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "plugins/vmm-firecracker/fc_disk.h"

namespace smolvm_fc {
namespace {

bool make_dirs(const std::string& path, std::string& error) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    const std::string part = path.substr(0, pos);
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      error = "mkdir " + part + ": " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

int remove_entry(const char* path, const struct stat*, int, struct FTW*) {
  remove(path);
  return 0;
}

}  // namespace

bool stage_jail(const LaunchPlan& plan, uint32_t uid, uint32_t gid, std::string& error) {
  if (plan.jail_root.empty()) return true;
  // A jail left by a crashed run would hold stale links and device nodes.
  remove_tree(plan.jail_base);
  if (!make_dirs(plan.jail_root, error)) return false;
  for (const auto& f : plan.staged) {
    if (link(f.from.c_str(), f.to.c_str()) != 0) {
      const int e = errno;
      if (f.must_link) {
        error = "cannot hard-link " + f.from + " into the jail (" + std::strerror(e) +
                "); it must be on the same file system as " + plan.jail_root;
        return false;
      }
      CopyMethod used;
      if (!clone_file(f.from, f.to, used, error)) return false;
      // A copy of a read-only input must stay readable to the jail's uid.
      chmod(f.to.c_str(), 0644);
    }
    if (f.chown && chown(f.to.c_str(), uid, gid) != 0) {
      error = "chown " + f.to + " to " + std::to_string(uid) + ":" + std::to_string(gid) + ": " +
              std::strerror(errno);
      return false;
    }
  }
  return true;
}

void remove_jail(const LaunchPlan& plan) {
  if (!plan.jail_base.empty()) remove_tree(plan.jail_base);
  for (const auto& dir : plan.cgroup_dirs) rmdir(dir.c_str());
}

bool remove_tree(const std::string& path) {
  if (path.empty()) return true;
  nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  return access(path.c_str(), F_OK) != 0;
}

}  // namespace smolvm_fc
