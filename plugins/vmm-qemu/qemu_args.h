// The QEMU command line for a VM: a pure function of the config, so tests
// can check it without starting QEMU.
//
// QEMU is handed every host file it uses as an open descriptor (see
// qemu_files.h) and names none by path: it can then run as a user who
// cannot reach the supervisor's folders at all.
#pragma once

#include <string>
#include <vector>

#include "smolvm/plugin.h"

namespace smolvm_qemu {

// The descriptor numbers QEMU receives, in this order from 3 (the order of
// VmmFiles::pass_list()).
enum ChildFd : int {
  kKernelFd = 3,   // the guest kernel, read-only
  kBaseFd = 4,     // the base image, read-only
  kDiskFd = 5,     // the VM's qcow2 overlay on the base, read-write
  kConsoleFd = 6,  // the console log, write-only
  kAgentFd = 7,    // listening Unix socket for the agent channel
  kQmpFd = 8,      // listening Unix socket for QMP
  kTapFd = 9,      // the VM's TAP (when it has a network)
};

// After those: the saved state to load (restore only), then the disk
// layers (plugin ABI 1.5), oldest first, then the initrd (1.6). Their numbers depend on which of
// the optional descriptors come before them.
int state_fd_number(const smolvm_vmm_config& cfg);
int layer_fd_number(const smolvm_vmm_config& cfg, bool restore, uint32_t layer);
// cfg's disk layers (0 when the config predates them).
uint32_t layer_count(const smolvm_vmm_config& cfg);
// cfg's initrd (plugin ABI 1.6), or "" when it has none; it comes on the
// descriptor after the layers.
std::string initrd_path(const smolvm_vmm_config& cfg);
int initrd_fd_number(const smolvm_vmm_config& cfg, bool restore);

// Kernel command line parts that every SmolVM guest needs on this backend.
std::string kernel_cmdline(const smolvm_vmm_config& cfg);

// Sets problem (and returns {}) when the config cannot be launched.
// restore: QEMU loads the state on state_fd_number() instead of booting,
// and stays paused until `cont` (the source was paused when it was saved).
std::vector<std::string> build_args(const smolvm_vmm_config& cfg, const std::string& binary,
                                    std::string& problem, bool restore = false);

}  // namespace smolvm_qemu
