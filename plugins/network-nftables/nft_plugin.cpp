// network-nftables: TAP + NAT + isolation + port forwards with nftables.
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>

#include "plugins/net-common/tap.h"
#include "plugins/net-common/tools.h"
#include "plugins/network-nftables/ruleset.h"
#include "smolvm/plugin_sdk.h"
#include "smolvm/sdk/capability.h"
#include "smolvm/sdk/path.h"
#include "smolvm/sdk/process.h"

namespace {

using smolvm::sdk::run_tool;
using smolvm::sdk::set_error;

// The plugin's tag: its slot functions take it first (smolvm/sdk/vtables.h).
struct Nftables {};

std::string nft() { return smolvm::sdk::find_system_tool("nft"); }

bool apply(const std::string& script, std::string& error) {
  const auto r = run_tool({nft(), "-f", "-"}, script);
  if (r.exit_code == 0) return true;
  error = "nft: " + r.output;
  return false;
}

bool missing_element(const std::string& output) {
  return output.find("No such file or directory") != std::string::npos ||
         output.find("does not exist") != std::string::npos;
}

bool is_tap(const std::string& name) {
  return run_tool({nft(), "get", "element", "ip", "smolvm", "taps", "{", "\"" + name + "\"", "}"})
             .exit_code == 0;
}

// The sources of VMs already running when an older table gains the
// anti-spoofing rule, or the rule would cut them off: each TAP's guest is
// the one address routed to it ("172.16.0.2 dev svm-0a scope link").
std::string sources_of_running_vms() {
  const auto routes =
      run_tool({smolvm::sdk::find_system_tool("ip"), "-4", "-o", "route", "show"}).output;
  std::istringstream lines(routes);
  std::string line, script;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string addr, dev, tap;
    if (!(words >> addr >> dev >> tap) || dev != "dev" || addr.find('/') != std::string::npos ||
        !is_tap(tap)) {
      continue;
    }
    script += "add element " + smolvm_nft::source_element(tap, addr);
  }
  return script;
}

// Creates the table once; the lock keeps two VMs starting together from
// both creating it (its rules would then be there twice). A table without
// the anti-spoofing set (made by an older SmolVM) gets it here.
bool ensure_table(std::string& error) {
  smolvm_net::FileLock lock("smolvm-nftables.lock");
  if (run_tool({nft(), "list", "table", "ip", "smolvm"}).exit_code != 0) {
    return apply(smolvm_nft::base_table() + smolvm_nft::antispoof(), error);
  }
  if (run_tool({nft(), "list", "set", "ip", "smolvm", "sources"}).exit_code == 0) return true;
  return apply(smolvm_nft::antispoof() + sources_of_running_vms(), error);
}

void probe(Nftables, char* out, size_t cap, smolvm_plugin_error*) {
  // network=auto prefers nftables: one table per host, rules per VM
  // changed atomically (iptables has rank 10).
  smolvm_net::probe_tool("nft", "nftables", 20, out, cap);
}

int setup(Nftables, const smolvm_network_config* cfg, smolvm_plugin_error* err) {
  if (nft().empty())
    return set_error(err, SMOLVM_EUNSUPPORTED, "nft not found (apt-get install nftables)");
  std::string error;
  if (!smolvm_net::tap_up(*cfg, error)) {
    return set_error(err, smolvm::sdk::has_cap_net_admin() ? SMOLVM_EIO : SMOLVM_EPERM, error);
  }
  if (!ensure_table(error) || !apply(smolvm_nft::add_vm(*cfg), error)) {
    std::string ignored;
    smolvm_net::tap_down(cfg->tap_name, ignored);
    return set_error(err, SMOLVM_EIO, error);
  }
  return 0;
}

int teardown(Nftables, const smolvm_network_config* cfg, smolvm_plugin_error* err) {
  std::string error;
  bool ok = true;
  if (!nft().empty() && run_tool({nft(), "list", "table", "ip", "smolvm"}).exit_code == 0) {
    for (const auto& stmt : smolvm_nft::remove_vm(*cfg)) {
      const auto r = run_tool({nft(), "-f", "-"}, stmt);
      if (r.exit_code != 0 && !missing_element(r.output)) {
        error += "nft: " + r.output + "; ";
        ok = false;
      }
    }
  }
  std::string tap_error;
  if (!smolvm_net::tap_down(cfg->tap_name, tap_error)) {
    error += tap_error;
    ok = false;
  }
  return ok ? 0 : set_error(err, SMOLVM_EIO, error);
}

int forward_add(Nftables, const smolvm_network_forward* f, smolvm_plugin_error* err) {
  std::string error;
  if (!ensure_table(error)) return set_error(err, SMOLVM_EIO, error);
  const auto r = run_tool({nft(), "-f", "-"}, smolvm_nft::add_forward(*f));
  if (r.exit_code == 0) return 0;
  if (r.output.find("File exists") != std::string::npos) {
    return set_error(err, SMOLVM_EEXISTS,
                     std::string(f->protocol) + " " + f->host_addr + ":" +
                         std::to_string(f->host_port) + " is already forwarded");
  }
  return set_error(err, SMOLVM_EIO, "nft: " + r.output);
}

int forward_remove(Nftables, const smolvm_network_forward* f, smolvm_plugin_error* err) {
  const auto r = run_tool({nft(), "-f", "-"}, smolvm_nft::remove_forward(*f));
  if (r.exit_code == 0 || missing_element(r.output)) return 0;
  return set_error(err, SMOLVM_EIO, "nft: " + r.output);
}

}  // namespace

SMOLVM_PLUGIN_DEFINE_CXX(network, nftables, SMOLVM_PLUGIN_VERSION,
                         "TAP + NAT + isolation + port forwards in one nftables table", Nftables)
