#include "core/supervisor/cgroup_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace smolvm::cgroup_fs {

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

std::string write_file(const std::string& path, const std::string& value, int* errno_out) {
  if (errno_out) *errno_out = 0;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno_out) *errno_out = errno;
    return "open " + path + ": " + std::strerror(errno);
  }
  const ssize_t n = ::write(fd, value.data(), value.size());
  const int e = n < 0 ? errno : EIO;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    if (errno_out) *errno_out = e;
    return "write '" + value + "' to " + path + ": " + std::strerror(e);
  }
  return "";
}

bool has_word(const std::string& list, const std::string& word) {
  std::istringstream in(list);
  std::string w;
  while (in >> w) {
    if (w == word) return true;
  }
  return false;
}

bool has_item(const std::string& list, const std::string& word) {
  std::istringstream in(list);
  std::string w;
  while (std::getline(in, w, ',')) {
    if (w == word) return true;
  }
  return false;
}

std::string make_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return "mkdir " + dir + ": " + std::strerror(errno);
  }
  return "";
}

std::string make_vm_group(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return "";
  if (errno != EEXIST) return "mkdir " + dir + ": " + std::strerror(errno);
  const std::string pid = read_line(dir + "/cgroup.procs");
  if (pid.empty()) return "";
  return dir + " already holds processes (pid " + pid +
         "): another VM with this id, from another state folder, is running";
}

bool is_vm_group(const std::string& path) {
  if (path.empty() || path[0] != '/') return false;
  std::vector<std::string> parts;
  std::istringstream in(path.substr(1));
  std::string part;
  while (std::getline(in, part, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
    parts.push_back(part);
  }
  if (path.back() == '/') return false;
  return parts.size() >= 2 && parts[parts.size() - 2] == "smolvm";
}

bool remove_vm_group(const std::string& path) {
  if (!is_vm_group(path)) return false;
  // The VMM was reaped, but the kernel may take a moment to empty the group.
  for (int i = 0; i < 50; ++i) {
    if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace smolvm::cgroup_fs
