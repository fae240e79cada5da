// The supervisor's least privilege: once the VM's network is set up, it (and
// the QEMU it launches next) keeps only the capabilities the rest of the
// VM's life needs, and can never gain new ones (no_new_privs).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace smolvm {

// keep_network: CAP_NET_ADMIN and CAP_NET_RAW stay (teardown removes the
// TAP and its firewall rules). keep_kill: CAP_KILL stays, for a VMM that
// runs as another uid: without it neither the SIGKILL fallback of a stop
// nor the kernel's parent-death signal (which is checked against the dying
// supervisor's credentials) could reach the VMM. The DAC capabilities stay
// only when one of `paths` (or a folder above it) belongs to another user,
// because owner permissions alone would then lock the VM out of its files.
// Returns what was done, for runtime.limits.privileges. Never throws.
nlohmann::json drop_privileges(bool keep_network, bool keep_kill,
                               const std::vector<std::string>& paths);

}  // namespace smolvm
