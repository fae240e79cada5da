// smolvm/sdk/capability.h - what the plugin's process may do.
#ifndef SMOLVM_SDK_CAPABILITY_H
#define SMOLVM_SDK_CAPABILITY_H

namespace smolvm::sdk {

// True when the calling thread has capability cap (CAP_* of
// <linux/capability.h>) in its effective set.
bool has_capability(int cap);
// has_capability(CAP_NET_ADMIN): what TAP devices and firewall rules need.
bool has_cap_net_admin();

}  // namespace smolvm::sdk

#endif  // SMOLVM_SDK_CAPABILITY_H
