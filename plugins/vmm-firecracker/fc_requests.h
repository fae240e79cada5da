// The Firecracker API requests that configure and start a VM: a pure
// function of the config, so tests can validate every body against the API
// spec without a firecracker binary (fc_api.h sends them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "smolvm/plugin.h"

namespace smolvm_fc {

// The guest agent listens on this vsock port (docs/protocol.md).
inline constexpr uint32_t kAgentVsockPort = 1024;
// Any CID >= 3 works: hybrid vsock never routes by CID on the host side.
inline constexpr uint32_t kGuestCid = 3;

struct ApiRequest {
  std::string method;  // "PUT", "PATCH"
  std::string path;    // "/boot-source"
  std::string body;    // JSON
};

// Files as Firecracker names them: host paths, or paths inside the jail's
// chroot when launched through the jailer.
struct GuestFiles {
  std::string kernel;
  std::string disk;
  bool disk_read_only = false;
  std::string vsock_uds;
};

// The guest kernel command line on this backend.
std::string kernel_cmdline(const smolvm_vmm_config& cfg);

// machine-config, boot-source, drives, network-interfaces (with a TAP),
// vsock and entropy, in that order. Sets problem (and returns {}) when the
// config cannot be expressed.
std::vector<ApiRequest> config_requests(const smolvm_vmm_config& cfg, const GuestFiles& files,
                                        std::string& problem);

ApiRequest instance_start();
// PATCH /vm: {"state":"Paused"} stops the guest's vCPUs, "Resumed" restarts
// them.
ApiRequest vm_state(bool paused);
// The x86 keyboard-controller reset. Not used by kill (see README.md).
ApiRequest send_ctrl_alt_del();

}  // namespace smolvm_fc
