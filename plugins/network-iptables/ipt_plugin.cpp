// network-iptables: the behaviour of network-nftables with iptables (the
// host's iptables, nft-backed or legacy), in SMOLVM-* chains of its own.
#include <cstring>
#include <string>

#include "plugins/net-common/tap.h"
#include "plugins/net-common/tools.h"
#include "plugins/network-iptables/rules.h"
#include "smolvm/plugin_sdk.h"
#include "smolvm/sdk/capability.h"
#include "smolvm/sdk/path.h"
#include "smolvm/sdk/process.h"

namespace {

using smolvm::sdk::run_tool;
using smolvm::sdk::set_error;

// The plugin's tag: its slot functions take it first (smolvm/sdk/vtables.h).
struct Iptables {};

std::string ipt() { return smolvm::sdk::find_system_tool("iptables"); }

smolvm::sdk::ToolResult ipt_run(const std::string& table, const std::string& op,
                                const std::string& chain, const std::vector<std::string>& spec) {
  std::vector<std::string> argv = {ipt(), "-w", "-t", table, op, chain};
  argv.insert(argv.end(), spec.begin(), spec.end());
  return run_tool(argv);
}

bool rule_present(const smolvm_ipt::Rule& r) {
  return ipt_run(r.table, "-C", r.chain, r.spec).exit_code == 0;
}

bool add_rule(const smolvm_ipt::Rule& r, std::string& error) {
  if (rule_present(r)) return true;
  const auto res = ipt_run(r.table, "-A", r.chain, r.spec);
  if (res.exit_code == 0) return true;
  error = "iptables -t " + r.table + " -A " + r.chain + ": " + res.output;
  return false;
}

bool delete_rule(const smolvm_ipt::Rule& r, std::string& error) {
  // Delete every copy: a crash between add and record could leave two.
  while (rule_present(r)) {
    const auto res = ipt_run(r.table, "-D", r.chain, r.spec);
    if (res.exit_code != 0) {
      error += "iptables -t " + r.table + " -D " + r.chain + ": " + res.output + "; ";
      return false;
    }
  }
  return true;
}

// The SMOLVM-* chains and the jumps to them, made once under a lock.
bool ensure_chains(std::string& error) {
  smolvm_net::FileLock lock("smolvm-iptables.lock");
  for (const auto& c : smolvm_ipt::chains()) {
    if (run_tool({ipt(), "-w", "-t", c.table, "-nL", c.chain}).exit_code != 0) {
      const auto r = run_tool({ipt(), "-w", "-t", c.table, "-N", c.chain});
      if (r.exit_code != 0) {
        error = "iptables -N " + c.chain + ": " + r.output;
        return false;
      }
    }
    const smolvm_ipt::Rule jump{c.table, c.from, {"-j", c.chain}};
    if (!rule_present(jump)) {
      const auto r = ipt_run(c.table, "-I", c.from, {"-j", c.chain});
      if (r.exit_code != 0) {
        error = "iptables -I " + c.from + ": " + r.output;
        return false;
      }
    }
  }
  return true;
}

void probe(Iptables, char* out, size_t cap, smolvm_plugin_error*) {
  smolvm_net::probe_tool("iptables", "iptables", 10, out, cap);
}

int teardown(Iptables, const smolvm_network_config* cfg, smolvm_plugin_error* err);

int setup(Iptables, const smolvm_network_config* cfg, smolvm_plugin_error* err) {
  if (ipt().empty()) {
    return set_error(err, SMOLVM_EUNSUPPORTED, "iptables not found (apt-get install iptables)");
  }
  std::string error;
  if (!smolvm_net::tap_up(*cfg, error)) {
    return set_error(err, smolvm::sdk::has_cap_net_admin() ? SMOLVM_EIO : SMOLVM_EPERM, error);
  }
  bool ok = ensure_chains(error);
  for (const auto& r : smolvm_ipt::vm_rules(*cfg)) ok = ok && add_rule(r, error);
  if (!ok) {
    smolvm_plugin_error ignored{};
    teardown(Iptables{}, cfg, &ignored);
    return set_error(err, SMOLVM_EIO, error);
  }
  return 0;
}

int teardown(Iptables, const smolvm_network_config* cfg, smolvm_plugin_error* err) {
  std::string error;
  bool ok = true;
  if (!ipt().empty()) {
    for (const auto& r : smolvm_ipt::vm_rules(*cfg)) ok = delete_rule(r, error) && ok;
  }
  ok = smolvm_net::tap_down(cfg->tap_name, error) && ok;
  return ok ? 0 : set_error(err, SMOLVM_EIO, error);
}

int forward_add(Iptables, const smolvm_network_forward* f, smolvm_plugin_error* err) {
  std::string error;
  if (!ensure_chains(error)) return set_error(err, SMOLVM_EIO, error);
  for (const auto& r : smolvm_ipt::forward_rules(*f)) {
    if (!add_rule(r, error)) return set_error(err, SMOLVM_EIO, error);
  }
  return 0;
}

int forward_remove(Iptables, const smolvm_network_forward* f, smolvm_plugin_error* err) {
  std::string error;
  bool ok = true;
  for (const auto& r : smolvm_ipt::forward_rules(*f)) ok = delete_rule(r, error) && ok;
  return ok ? 0 : set_error(err, SMOLVM_EIO, error);
}

}  // namespace

SMOLVM_PLUGIN_DEFINE_CXX(network, iptables, SMOLVM_PLUGIN_VERSION,
                         "TAP + NAT + isolation + port forwards in SMOLVM-* iptables chains",
                         Iptables)
