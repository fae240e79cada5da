#include "core/network/network.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/common/error.h"

namespace smolvm {

std::string ipv4_str(uint32_t ip) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
                ip & 255);
  return buf;
}

bool parse_ipv4(const std::string& text, uint32_t& out) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return false;
  out = ntohl(a.s_addr);
  return true;
}

Pool network_pool() {
  Pool p;
  const char* env = std::getenv("SMOLVM_NETWORK_POOL");
  const std::string cidr = env && *env ? env : "172.16.0.0/16";
  const auto slash = cidr.find('/');
  uint32_t addr = 0;
  unsigned long prefix = 0;
  char* end = nullptr;
  if (slash != std::string::npos) prefix = std::strtoul(cidr.c_str() + slash + 1, &end, 10);
  if (slash == std::string::npos || !parse_ipv4(cidr.substr(0, slash), addr) || !end || *end ||
      prefix < 8 || prefix > 28) {
    fail(SMOLVM_EINVAL, "SMOLVM_NETWORK_POOL='" + cidr + "': must be an IPv4 CIDR from /8 to /28");
  }
  p.prefix = static_cast<uint32_t>(prefix);
  p.network = addr & ~((1u << (32 - p.prefix)) - 1);
  return p;
}

std::string tap_name_for(uint32_t ip, const Pool& pool) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "svm-%x", ip - pool.network);
  return buf;
}

std::string mac_for(uint32_t ip) {
  char buf[18];
  // 06:00 is locally administered and unicast; the rest is the address.
  std::snprintf(buf, sizeof buf, "06:00:%02x:%02x:%02x:%02x", ip >> 24, (ip >> 16) & 255,
                (ip >> 8) & 255, ip & 255);
  return buf;
}

std::string host_dns() {
  std::ifstream in("/etc/resolv.conf");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string key, value;
    ss >> key >> value;
    uint32_t ip = 0;
    if (key == "nameserver" && parse_ipv4(value, ip) && (ip >> 24) != 127) return value;
  }
  return "";
}

Lease allocate_network(Store& store, const std::string& vm_id) {
  const Pool pool = network_pool();
  // The tap name derives from the address; record the address first.
  const uint32_t ip = store.acquire_lease(vm_id, pool.first(), pool.last(), "");
  Lease lease;
  lease.ip = ipv4_str(ip);
  lease.tap = tap_name_for(ip, pool);
  lease.mac = mac_for(ip);
  lease.gateway = ipv4_str(pool.gateway());
  lease.prefix = pool.prefix;
  lease.dns = host_dns();
  return lease;
}

std::string network_boot_args(const Lease& lease) {
  if (lease.ip.empty()) return "";
  std::string args =
      "smolvm.ip=" + lease.ip + "/" + std::to_string(lease.prefix) + " smolvm.gw=" + lease.gateway;
  if (!lease.dns.empty()) args += " smolvm.dns=" + lease.dns;
  return args;
}

std::string guest_network_commands(const Lease& lease) {
  if (lease.ip.empty()) return "";
  // Each value is one the host made (allocate_network), never the guest's.
  // The default route goes with the old address, so it is added again.
  std::string cmds = "ip link set dev eth0 address " + lease.mac +
                     " && ip -4 addr flush dev eth0 && ip neigh flush dev eth0 && ip addr add " +
                     lease.ip + "/" + std::to_string(lease.prefix) +
                     " brd + dev eth0 && ip route replace default via " + lease.gateway +
                     " dev eth0";
  if (!lease.dns.empty()) cmds += " && echo 'nameserver " + lease.dns + "' >/etc/resolv.conf";
  return cmds;
}

namespace {

void check(int rc, const smolvm_plugin_error& err) {
  if (rc != 0) fail(rc, err.message[0] ? err.message : "network plugin failed");
}

// The plugin's config points into the lease, which outlives every call.
smolvm_network_config config_for(const std::string& vm_id, const Lease& lease) {
  smolvm_network_config cfg{};
  cfg.struct_size = sizeof cfg;
  cfg.vm_id = vm_id.c_str();
  cfg.tap_name = lease.tap.c_str();
  cfg.guest_ip = lease.ip.c_str();
  cfg.gateway_ip = lease.gateway.c_str();
  cfg.prefix_len = lease.prefix;
  cfg.mac = lease.mac.c_str();
  return cfg;
}

smolvm_network_forward to_forward(const ForwardRecord& f, const std::string& ip,
                                  const std::string& tap) {
  smolvm_network_forward out{};
  out.struct_size = sizeof out;
  out.vm_id = f.vm_id.c_str();
  out.protocol = f.protocol.c_str();
  out.host_addr = f.host_addr.c_str();
  out.host_port = f.host_port;
  out.guest_ip = ip.c_str();
  out.guest_port = f.guest_port;
  out.tap_name = tap.c_str();
  return out;
}

}  // namespace

NetworkBackend::NetworkBackend(PluginRegistry& plugins, const std::string& name)
    : vt_(&plugins.get(SMOLVM_PLUGIN_NETWORK, name).vtable<smolvm_network_vtable>()) {}

void NetworkBackend::setup(const std::string& vm_id, const Lease& lease) {
  const smolvm_network_config cfg = config_for(vm_id, lease);
  smolvm_plugin_error err{};
  check(vt_->setup(&cfg, &err), err);
}

void NetworkBackend::teardown(const std::string& vm_id, const Lease& lease,
                              const std::vector<ForwardRecord>& forwards) {
  std::string errors;
  for (const auto& f : forwards) {
    try {
      remove_forward(lease, f);
    } catch (const Error& e) {
      errors += std::string(e.what()) + "; ";
    }
  }
  const smolvm_network_config cfg = config_for(vm_id, lease);
  smolvm_plugin_error err{};
  if (vt_->teardown(&cfg, &err) != 0) errors += err.message;
  if (!errors.empty()) fail(SMOLVM_EIO, "network teardown of vm '" + vm_id + "': " + errors);
}

void NetworkBackend::add_forward(const Lease& lease, const ForwardRecord& f) {
  const smolvm_network_forward fwd = to_forward(f, lease.ip, lease.tap);
  smolvm_plugin_error err{};
  check(vt_->forward_add(&fwd, &err), err);
}

void NetworkBackend::remove_forward(const Lease& lease, const ForwardRecord& f) {
  const smolvm_network_forward fwd = to_forward(f, lease.ip, lease.tap);
  smolvm_plugin_error err{};
  check(vt_->forward_remove(&fwd, &err), err);
}

}  // namespace smolvm
