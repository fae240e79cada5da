#include "smolvm/sdk/path.h"

#include <unistd.h>

#include <cstdlib>

namespace smolvm::sdk {
namespace {

// The first dir/name in the ':'-separated dirs that is executable.
std::string search(const std::string& name, const std::string& dirs, bool empty_is_cwd) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    if (end > start || empty_is_cwd) {
      const std::string dir = end > start ? dirs.substr(start, end - start) : ".";
      const std::string candidate = dir + "/" + name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return "";
}

std::string path_env() {
  const char* path = std::getenv("PATH");
  return path != nullptr ? path : "";
}

}  // namespace

std::string which(const std::string& name) {
  const std::string path = path_env();
  return search(name, path.empty() ? "/usr/local/bin:/usr/bin:/bin" : path, true);
}

std::string find_system_tool(const std::string& name) {
  return search(name, path_env() + ":/usr/sbin:/sbin:/usr/bin:/bin", false);
}

}  // namespace smolvm::sdk
