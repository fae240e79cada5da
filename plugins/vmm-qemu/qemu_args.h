// The QEMU command line for a VM: a pure function of the config, so tests
// can check it without starting QEMU.
#pragma once

#include <string>
#include <vector>

#include "smolvm/plugin.h"

namespace smolvm_qemu {

// Kernel command line parts that every SmolVM guest needs on this backend.
std::string kernel_cmdline(const smolvm_vmm_config& cfg);

// Sets problem (and returns {}) when the config cannot be launched.
std::vector<std::string> build_args(const smolvm_vmm_config& cfg, const std::string& binary,
                                    std::string& problem);

}  // namespace smolvm_qemu
