// SmolVM's iptables rules as argument lists. Fixed chains (SMOLVM-*) are
// jumped to from the built-in chains once; each VM and each forward adds
// its own rules and deletes exactly those (-D with the same spec), so no
// other VM's rules are touched.
#pragma once

#include <string>
#include <vector>

#include "smolvm/plugin.h"

namespace smolvm_ipt {

struct Rule {
  std::string table;  // "filter" | "nat" | "raw"
  std::string chain;
  std::vector<std::string> spec;  // match and target, without -A/-D
};

// Chains to create and the built-in chain each is jumped to from.
struct Chain {
  std::string table, chain, from;
};
std::vector<Chain> chains();

std::vector<Rule> vm_rules(const smolvm_network_config& cfg);
std::vector<Rule> forward_rules(const smolvm_network_forward& f);

}  // namespace smolvm_ipt
