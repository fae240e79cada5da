#include "plugins/net-common/tools.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "smolvm/sdk/capability.h"
#include "smolvm/sdk/guard.h"
#include "smolvm/sdk/json.h"
#include "smolvm/sdk/path.h"

namespace smolvm_net {

bool write_sysctl(const std::string& path, const std::string& value, std::string& error) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    error = "cannot set " + path + "=" + value + ": " + std::strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  close(fd);
  return true;
}

void probe_tool(const std::string& tool, const std::string& package, int rank, char* out,
                size_t cap) {
  const std::string bin = smolvm::sdk::find_system_tool(tool);
  std::string reason;
  if (bin.empty()) {
    reason = tool + " not found (apt-get install " + package + ")";
  } else if (!smolvm::sdk::has_cap_net_admin()) {
    reason = "no CAP_NET_ADMIN (run as root)";
  }
  const std::string json = std::string("{\"available\":") + (reason.empty() ? "true" : "false") +
                           ",\"binary\":" + smolvm::sdk::json_quote(bin) +
                           ",\"reason\":" + smolvm::sdk::json_quote(reason) + ",\"fix\":" +
                           smolvm::sdk::json_quote("apt-get install " + package +
                                                   "; run as root or grant CAP_NET_ADMIN") +
                           ",\"rank\":" + std::to_string(rank) + "}";
  smolvm::sdk::copy_out(out, cap, json, "probe JSON");
}

FileLock::FileLock(const std::string& name) {
  std::string dir = "/run/lock";
  if (access(dir.c_str(), W_OK) != 0) dir = "/tmp";
  fd_ = open((dir + "/" + name).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ >= 0) flock(fd_, LOCK_EX);
}

FileLock::~FileLock() {
  if (fd_ >= 0) close(fd_);  // releases the lock
}

}  // namespace smolvm_net
