// The nftables scripts of SmolVM, as text. One table, `ip smolvm`, whose
// rules never change after creation: VMs come and go as elements of its
// sets and maps, so adding or removing a VM never rewrites another's rules.
#pragma once

#include <string>
#include <vector>

#include "smolvm/plugin.h"

namespace smolvm_nft {

inline constexpr const char* kTable = "ip smolvm";

// The table with its sets, maps and fixed rules (created once).
std::string base_table();
// The anti-spoofing set, counter and rule, added to the table on its own
// so that a table made by an older SmolVM (without them) gains them too.
std::string antispoof();
// "ip smolvm sources { "TAP" . IP }": the one address TAP may send from;
// after "add element " or "delete element ".
std::string source_element(const std::string& tap, const std::string& ip);
// Statements adding one VM (its TAP and address) to the sets.
std::string add_vm(const smolvm_network_config& cfg);
// One statement each, so that a missing element does not stop the rest.
std::vector<std::string> remove_vm(const smolvm_network_config& cfg);
std::string add_forward(const smolvm_network_forward& f);
std::string remove_forward(const smolvm_network_forward& f);

}  // namespace smolvm_nft
