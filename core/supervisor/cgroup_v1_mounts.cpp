#include "core/supervisor/cgroup_v1_mounts.h"

#include <fstream>
#include <iterator>
#include <sstream>

#include "core/supervisor/cgroup_fs.h"

namespace smolvm::cgroup_v1 {
namespace {

using cgroup_fs::has_item;

struct Mount {
  std::string root, point;
};

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto octal = [&](size_t j) { return j < s.size() && s[j] >= '0' && s[j] <= '7'; };
    if (s[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The v1 mounts of `controller`: fstype "cgroup" and the controller among
// the super options ("rw,cpu,cpuacct").
std::vector<Mount> mounts_of(const std::string& mountinfo, const std::string& controller) {
  std::vector<Mount> found;
  std::istringstream lines(mountinfo);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    std::vector<std::string> f{std::istream_iterator<std::string>(in), {}};
    // id parent dev root point options [optional...] - fstype source super
    size_t sep = 6;
    while (sep < f.size() && f[sep] != "-") ++sep;
    if (sep + 3 >= f.size() || f[sep + 1] != "cgroup" || !has_item(f[sep + 3], controller)) {
      continue;
    }
    found.push_back({unescape(f[3]), unescape(f[4])});
  }
  return found;
}

// This process's group in the hierarchy of `controller`, from lines of
// /proc/self/cgroup ("4:memory:/process_api/3509b3", "2:cpu,cpuacct:/").
bool own_path(const std::string& proc_cgroup, const std::string& controller, std::string* path) {
  std::istringstream lines(proc_cgroup);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    if (!has_item(line.substr(a + 1, b - a - 1), controller)) continue;
    *path = line.substr(b + 1);
    return true;
  }
  return false;
}

// `path` below `root` ("" when equal), or false when it is not under it.
bool relative_to(const std::string& root, const std::string& path, std::string* rest) {
  if (root == "/") {
    *rest = path == "/" ? "" : path;
    return true;
  }
  if (path == root) {
    *rest = "";
    return true;
  }
  if (path.compare(0, root.size(), root) != 0 || path[root.size()] != '/') return false;
  *rest = path.substr(root.size());
  return true;
}

std::string read_all(const char* path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

std::string own_groups(const std::string& mountinfo, const std::string& proc_cgroup,
                       const std::vector<std::string>& controllers, OwnGroups* out) {
  std::string why;
  const auto add_why = [&](const std::string& w) { why += (why.empty() ? "" : "; ") + w; };
  for (const auto& c : controllers) {
    const std::vector<Mount> mounts = mounts_of(mountinfo, c);
    if (mounts.empty()) {
      add_why("no cgroup v1 hierarchy has the " + c + " controller mounted");
      continue;
    }
    std::string path;
    if (!own_path(proc_cgroup, c, &path)) {
      add_why("/proc/self/cgroup names no " + c + " group for this process");
      continue;
    }
    std::string roots;
    bool found = false;
    for (const Mount& m : mounts) {
      std::string rest;
      if (relative_to(m.root, path, &rest)) {
        (*out)[c] = m.point + rest;
        found = true;
        break;
      }
      roots += (roots.empty() ? "" : ", ") + m.root + " at " + m.point;
    }
    if (!found) {
      add_why("this process's " + c + " group " + path + " is outside what its mounts show (root " +
              roots + ")");
    }
  }
  return why;
}

std::string own_groups(const std::vector<std::string>& controllers, OwnGroups* out) {
  return own_groups(read_all("/proc/self/mountinfo"), read_all("/proc/self/cgroup"), controllers,
                    out);
}

}  // namespace smolvm::cgroup_v1
