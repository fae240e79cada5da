// The supervisor's least privilege: once the VM's network is set up, it (and
// the QEMU it launches next) keeps only the capabilities the rest of the
// VM's life needs, and can never gain new ones (no_new_privs).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace smolvm {

// keep_network: CAP_NET_ADMIN and CAP_NET_RAW stay (the VMM opens the TAP,
// teardown removes it and its firewall rules). The DAC capabilities stay
// only when one of `paths` (or a folder above it) belongs to another user,
// because owner permissions alone would then lock the VM out of its files.
// Returns what was done, for runtime["privileges"]. Never throws.
nlohmann::json drop_privileges(bool keep_network, const std::vector<std::string>& paths);

}  // namespace smolvm
