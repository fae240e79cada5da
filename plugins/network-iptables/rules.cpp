#include "plugins/network-iptables/rules.h"

namespace smolvm_ipt {
namespace {

std::string s(const char* v) { return v ? v : ""; }

}  // namespace

std::vector<Chain> chains() {
  return {
      {"filter", "SMOLVM-FORWARD", "FORWARD"},      {"filter", "SMOLVM-INPUT", "INPUT"},
      {"nat", "SMOLVM-PREROUTING", "PREROUTING"},   {"nat", "SMOLVM-OUTPUT", "OUTPUT"},
      {"nat", "SMOLVM-POSTROUTING", "POSTROUTING"}, {"raw", "SMOLVM-PREROUTING", "PREROUTING"},
  };
}

std::vector<Rule> vm_rules(const smolvm_network_config& cfg) {
  const std::string tap = s(cfg.tap_name), ip = s(cfg.guest_ip) + "/32";
  // The same policy as the nftables plugin: from its TAP only its own
  // address (raw, before conntrack; the rule's counters count the drops),
  // no VM to VM, out through NAT, in only through port forwards, no host
  // services.
  return {
      {"raw", "SMOLVM-PREROUTING", {"-i", tap, "!", "-s", ip, "-j", "DROP"}},
      {"filter", "SMOLVM-FORWARD", {"-i", tap, "-o", "svm+", "-j", "DROP"}},
      {"filter",
       "SMOLVM-FORWARD",
       {"-o", tap, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}},
      {"filter",
       "SMOLVM-FORWARD",
       {"-o", tap, "-m", "conntrack", "--ctstate", "DNAT", "-j", "ACCEPT"}},
      {"filter", "SMOLVM-FORWARD", {"-o", tap, "-j", "DROP"}},
      {"filter", "SMOLVM-FORWARD", {"-i", tap, "-j", "ACCEPT"}},
      {"filter",
       "SMOLVM-INPUT",
       {"-i", tap, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}},
      {"filter", "SMOLVM-INPUT", {"-i", tap, "-j", "DROP"}},
      {"nat", "SMOLVM-POSTROUTING", {"-s", ip, "!", "-o", "svm+", "-j", "MASQUERADE"}},
      {"nat", "SMOLVM-POSTROUTING", {"-o", tap, "-s", "127.0.0.0/8", "-j", "MASQUERADE"}},
  };
}

std::vector<Rule> forward_rules(const smolvm_network_forward& f) {
  std::vector<std::string> match;
  if (s(f.host_addr) != "0.0.0.0") {
    match = {"-d", s(f.host_addr) + "/32"};
  } else {
    match = {"-m", "addrtype", "--dst-type", "LOCAL"};
  }
  const std::vector<std::string> tail = {
      "-p", s(f.protocol), "--dport",          std::to_string(f.host_port),
      "-j", "DNAT",        "--to-destination", s(f.guest_ip) + ":" + std::to_string(f.guest_port)};
  std::vector<std::string> spec = match;
  spec.insert(spec.end(), tail.begin(), tail.end());
  return {{"nat", "SMOLVM-PREROUTING", spec}, {"nat", "SMOLVM-OUTPUT", spec}};
}

}  // namespace smolvm_ipt
