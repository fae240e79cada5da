// A VM's network as the core sees it: its address from the pool (a lease in
// the store), TAP name, MAC and DNS, and the network plugin that makes them
// real on the host. "none" means no NIC and no plugin at all.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/plugins/loader.h"
#include "core/store/store.h"

namespace smolvm {

// The guest address pool: $SMOLVM_NETWORK_POOL (CIDR, /8../28), default
// 172.16.0.0/16. The first host address is the gateway every TAP carries.
struct Pool {
  uint32_t network = 0;
  uint32_t prefix = 16;
  uint32_t gateway() const { return network + 1; }
  uint32_t first() const { return network + 2; }
  uint32_t last() const { return network + ((1u << (32 - prefix)) - 2); }
};
Pool network_pool();

std::string ipv4_str(uint32_t ip);
bool parse_ipv4(const std::string& text, uint32_t& out);
std::string tap_name_for(uint32_t ip, const Pool& pool);  // "svm-<hex offset>", <= 15 chars
std::string mac_for(uint32_t ip);                         // locally administered
// The first non-loopback nameserver in /etc/resolv.conf, or "".
std::string host_dns();

using Lease = VmRuntime::Lease;

// Allocates the VM's address in the store and returns its lease. Throws
// EBUSY when the pool is exhausted.
Lease allocate_network(Store& store, const std::string& vm_id);
// Kernel command line for the guest agent's network setup ("" for none).
std::string network_boot_args(const Lease& lease);
// A restored guest runs on with its source's MAC, address and resolver: the
// guest shell commands (iproute2, in the default image) that move eth0 onto
// lease's instead, the neighbours of the old link forgotten ("" for none).
std::string guest_network_commands(const Lease& lease);

// The network plugin, driven with configs built from a VM's lease.
class NetworkBackend {
 public:
  NetworkBackend(PluginRegistry& plugins, const std::string& name);
  void setup(const std::string& vm_id, const Lease& lease);
  // Idempotent; removes the TAP, the VM's set elements or rules, and the
  // given forwards.
  void teardown(const std::string& vm_id, const Lease& lease,
                const std::vector<ForwardRecord>& forwards);
  void add_forward(const Lease& lease, const ForwardRecord& f);
  void remove_forward(const Lease& lease, const ForwardRecord& f);

 private:
  const smolvm_network_vtable* vt_;
};

}  // namespace smolvm
