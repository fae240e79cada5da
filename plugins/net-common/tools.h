// Running the host's network tools (ip, nft, iptables) and reading sysctls.
#pragma once

#include <string>
#include <vector>

namespace smolvm_net {

struct ToolResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs argv with `input` on stdin; never through a shell.
ToolResult run_tool(const std::vector<std::string>& argv, const std::string& input = "");
// Finds a tool on PATH, /usr/sbin or /sbin; "" if absent.
std::string find_tool(const std::string& name);
bool write_sysctl(const std::string& path, const std::string& value, std::string& error);
bool has_cap_net_admin();
// The network plugins' probe: {"available","binary","reason"} for a tool
// (e.g. "nft") and the package that provides it; written into out.
int probe_tool(const std::string& tool, const std::string& package, char* out, size_t cap,
               char* err, size_t err_cap);
// Writes msg into a smolvm_plugin_error-sized buffer and returns status.
int set_error(char* buf, size_t cap, int status, const std::string& msg);

// Holds an exclusive lock on a file under /run/lock (or /tmp) while alive:
// serialises the creation of shared firewall scaffolding between the
// supervisors of VMs starting at the same time.
class FileLock {
 public:
  explicit FileLock(const std::string& name);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace smolvm_net
