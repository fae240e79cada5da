#include "smolvm/sdk/capability.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace smolvm::sdk {

bool has_capability(int cap) {
  if (cap < 0 || cap >= 64) return false;
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

bool has_cap_net_admin() { return has_capability(CAP_NET_ADMIN); }

}  // namespace smolvm::sdk
