// How a VM is launched: the argv (firecracker directly, or through the
// jailer), where its sockets and log are on the host, which files the jail
// needs, and the names Firecracker must be given for them. A pure function
// of the config and settings, so tests check it without a binary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plugins/vmm-firecracker/fc_requests.h"
#include "smolvm/plugin.h"

namespace smolvm_fc {

struct LaunchSettings {
  std::string firecracker;  // the binary (a path for the jailer's --exec-file)
  std::string jailer;       // "" launches firecracker directly
  uint32_t uid = 0, gid = 0;
  int cgroup_version = 2;
};

// A file placed into the jail's chroot before launch.
struct StagedFile {
  std::string from, to;  // host paths
  // Writes must reach `from` (the VM's own disk, the log): a hard link only,
  // never a copy.
  bool must_link = false;
  bool chown = false;  // give it to the jail's uid/gid
};

// The sockets Firecracker gets in the VM's folder (or its jail's root).
inline constexpr const char* kApiSocketName = "fc-api.sock";
inline constexpr const char* kVsockSocketName = "fc-vsock.sock";

struct LaunchPlan {
  std::vector<std::string> argv;
  std::string api_socket;    // host path
  std::string vsock_socket;  // host path
  std::string log_file;      // host path of Firecracker's log (vm_dir/vmm.log)
  GuestFiles files;          // as Firecracker names them
  // Jailer only:
  std::string jail_root;  // the chroot, host path
  std::string jail_base;  // --chroot-base-dir (removed at release)
  std::vector<StagedFile> staged;
  std::vector<std::string> cgroup_dirs;  // the jailer leaves these behind
};

// Sets problem (and returns {}) when the config cannot be launched: accel
// other than kvm, missing fields, an id Firecracker refuses, a socket path
// over the Unix limit.
LaunchPlan plan_launch(const smolvm_vmm_config& cfg, const LaunchSettings& s, std::string& problem);

}  // namespace smolvm_fc
