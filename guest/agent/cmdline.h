// The kernel command line: how the host passes the guest its channel and
// network settings (smolvm.channel=, smolvm.ip=, smolvm.gw=, smolvm.dns=).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smolvm::agent {

// Contents of /proc/cmdline, or "" if it cannot be read.
std::string read_kernel_cmdline();

// Value of the last `key=value` word on cmdline (the kernel's rule: later
// wins), or nullopt. A bare `key` yields "".
std::optional<std::string> cmdline_param(std::string_view cmdline, std::string_view key);

}  // namespace smolvm::agent
