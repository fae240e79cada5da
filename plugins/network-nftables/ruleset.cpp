#include "plugins/network-nftables/ruleset.h"

namespace smolvm_nft {
namespace {

std::string s(const char* v) { return v ? v : ""; }

bool any_addr(const smolvm_network_forward& f) { return s(f.host_addr) == "0.0.0.0"; }

// The map a forward lives in: by protocol, and keyed by address and port
// or (for 0.0.0.0) by port alone.
std::string map_of(const smolvm_network_forward& f) {
  return std::string(any_addr(f) ? "dnat_any_" : "dnat_") + s(f.protocol);
}

std::string key_of(const smolvm_network_forward& f) {
  const std::string port = std::to_string(f.host_port);
  return any_addr(f) ? port : s(f.host_addr) + " . " + port;
}

}  // namespace

std::string base_table() {
  // - taps/guests: the VMs. - dnat_*: port forwards (address . port, or
  //   port alone for 0.0.0.0) to guest address . port.
  // - forward: no VM reaches another VM; a VM reaches the outside; the
  //   outside reaches a VM only through a port forward (ct status dnat).
  // - input: a VM reaches no host service (only replies to the host).
  // - postrouting: VMs are masqueraded behind the host; local clients of a
  //   port forward (127.0.0.1) are masqueraded behind the gateway.
  return R"(add table ip smolvm
table ip smolvm {
  set taps { type ifname; }
  set guests { type ipv4_addr; }
  map dnat_tcp { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
  map dnat_udp { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
  map dnat_any_tcp { type inet_service : ipv4_addr . inet_service; }
  map dnat_any_udp { type inet_service : ipv4_addr . inet_service; }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    dnat ip to ip daddr . tcp dport map @dnat_tcp
    dnat ip to ip daddr . udp dport map @dnat_udp
    fib daddr type local dnat ip to tcp dport map @dnat_any_tcp
    fib daddr type local dnat ip to udp dport map @dnat_any_udp
  }
  chain output {
    type nat hook output priority -100; policy accept;
    dnat ip to ip daddr . tcp dport map @dnat_tcp
    dnat ip to ip daddr . udp dport map @dnat_udp
    fib daddr type local dnat ip to tcp dport map @dnat_any_tcp
    fib daddr type local dnat ip to udp dport map @dnat_any_udp
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr @guests oifname != @taps masquerade
    oifname @taps ip saddr 127.0.0.0/8 masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname @taps oifname @taps drop
    oifname @taps ct state established,related accept
    oifname @taps ct status dnat accept
    oifname @taps drop
    iifname @taps accept
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname @taps ct state established,related accept
    iifname @taps drop
  }
}
)";
}

std::string antispoof() {
  // A packet from a VM's TAP whose source is not that VM's leased address
  // (another VM's, or one the guest set itself) is counted and dropped
  // before conntrack sees it. Only IPv4 reaches this table; net-common
  // turns IPv6 off on each TAP, and ARP needs no check because each TAP is
  // routed on its own (a /32 route per guest), not bridged.
  return R"(table ip smolvm {
  set sources { type ifname . ipv4_addr; }
  counter spoofed { }
  chain antispoof {
    type filter hook prerouting priority raw; policy accept;
    iifname @taps iifname . ip saddr != @sources counter name "spoofed" drop
  }
}
)";
}

std::string source_element(const std::string& tap, const std::string& ip) {
  return "ip smolvm sources { \"" + tap + "\" . " + ip + " }\n";
}

std::string add_vm(const smolvm_network_config& cfg) {
  return "add element ip smolvm taps { \"" + s(cfg.tap_name) + "\" }\n" +
         "add element ip smolvm guests { " + s(cfg.guest_ip) + " }\n" + "add element " +
         source_element(s(cfg.tap_name), s(cfg.guest_ip));
}

std::vector<std::string> remove_vm(const smolvm_network_config& cfg) {
  return {"delete element ip smolvm taps { \"" + s(cfg.tap_name) + "\" }\n",
          "delete element ip smolvm guests { " + s(cfg.guest_ip) + " }\n",
          "delete element " + source_element(s(cfg.tap_name), s(cfg.guest_ip))};
}

std::string add_forward(const smolvm_network_forward& f) {
  return "add element ip smolvm " + map_of(f) + " { " + key_of(f) + " : " + s(f.guest_ip) + " . " +
         std::to_string(f.guest_port) + " }\n";
}

std::string remove_forward(const smolvm_network_forward& f) {
  return "delete element ip smolvm " + map_of(f) + " { " + key_of(f) + " }\n";
}

}  // namespace smolvm_nft
