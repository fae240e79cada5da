// What only the network plugins share: sysctls, their probe answer and the
// lock around shared firewall scaffolding. Running tools, finding them and
// checking CAP_NET_ADMIN are the plugin SDK's (smolvm/sdk/process.h,
// path.h, capability.h).
#pragma once

#include <cstddef>
#include <string>

namespace smolvm_net {

bool write_sysctl(const std::string& path, const std::string& value, std::string& error);
// The network plugins' probe: {"available","binary","reason","fix","rank"}
// for a tool (e.g. "nft") and the package that provides it, written into
// out; throws
// smolvm::sdk::Error when out is too small.
void probe_tool(const std::string& tool, const std::string& package, int rank, char* out,
                size_t cap);

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
