// The unprivileged user a VM's VMM runs as. A supervisor running as root
// takes a uid of its own for its QEMU, unique among the VMs running on the
// host, so that an escape from one guest lands as a user that owns nothing:
// not the supervisor's folders, not another VM's disk or process.
//
// Uniqueness without a registry: the VM holds an flock on
// /run/smolvm/vmm-uids/<uid>.lock for the supervisor's life. The kernel
// drops it when the supervisor dies, and its VMM dies with it (PDEATHSIG),
// so a crash never leaks a uid.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace smolvm {

// First uid of the range: 0x70000000, in the span systemd leaves unused
// (above the container ranges, below 2^31). SMOLVM_VMM_UID_BASE overrides
// it; "off" keeps the VMM as the supervisor's user.
constexpr uint32_t kDefaultVmmUidBase = 0x70000000u;
constexpr uint32_t kVmmUidCount = 65536;

// For `smolvm doctor`: who VMMs will run as here, and whether that is a
// uid of their own (true) or the caller's (false).
bool vmm_user_plan(std::string* detail);

class VmmUser {
 public:
  VmmUser() = default;
  VmmUser(const VmmUser&) = delete;
  VmmUser& operator=(const VmmUser&) = delete;
  ~VmmUser();

  // Picks and locks the lowest free uid of the range (gid = uid). Throws
  // smolvm::Error for a malformed SMOLVM_VMM_UID_BASE or a full range;
  // when switching is not possible (not root) or turned off, uid() is 0
  // and the reason is kept.
  void acquire();
  uint32_t uid() const { return uid_; }
  uint32_t gid() const { return uid_; }

  // After launch: what the VMM process really runs as (read from /proc),
  // for runtime.limits.vmm_user. Releases the lock if the VMM did not take the
  // uid (a backend that manages its own user, like Firecracker's jailer).
  nlohmann::json confirm(int64_t vmm_pid);

 private:
  void release();
  uint32_t uid_ = 0;
  int lock_fd_ = -1;
  std::string reason_;
};

}  // namespace smolvm
