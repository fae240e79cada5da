#include "plugins/net-common/tap.h"

#include <net/if.h>
#include <unistd.h>

#include "plugins/net-common/tools.h"
#include "smolvm/sdk/path.h"
#include "smolvm/sdk/process.h"

namespace smolvm_net {

// Asks the kernel in the caller's own network namespace. /sys/class/net
// shows the namespace of whoever mounted sysfs, so after `unshare -n` it
// names the host's devices, not ours (a TAP left behind, then EBUSY).
bool tap_exists(const std::string& tap_name) { return if_nametoindex(tap_name.c_str()) != 0; }

bool tap_up(const smolvm_network_config& cfg, std::string& error) {
  const std::string ip = smolvm::sdk::find_system_tool("ip");
  if (ip.empty()) {
    error = "the 'ip' tool is missing (apt-get install iproute2)";
    return false;
  }
  const std::string tap = cfg.tap_name;
  if (tap.empty() || tap.size() >= IFNAMSIZ) {
    error = "tap_name='" + tap + "': must be 1.." + std::to_string(IFNAMSIZ - 1) + " characters";
    return false;
  }
  auto run = [&](std::vector<std::string> args, bool ok_if_exists) {
    args.insert(args.begin(), ip);
    const smolvm::sdk::ToolResult r = smolvm::sdk::run_tool(args);
    if (r.exit_code == 0 || (ok_if_exists && r.output.find("File exists") != std::string::npos)) {
      return true;
    }
    std::string cmd;
    for (const auto& a : args) cmd += (cmd.empty() ? "" : " ") + a;
    error = cmd + ": " + r.output;
    if (r.output.find("Operation not permitted") != std::string::npos) {
      error += " (networked VMs need CAP_NET_ADMIN: run as root, or use network=none)";
    }
    return false;
  };
  if (!tap_exists(tap) && !run({"tuntap", "add", "dev", tap, "mode", "tap"}, true)) return false;
  if (!run({"link", "set", "dev", tap, "up"}, false) ||
      !run({"addr", "add", std::string(cfg.gateway_ip) + "/32", "dev", tap}, true) ||
      !run({"route", "replace", std::string(cfg.guest_ip) + "/32", "dev", tap}, false)) {
    return false;
  }
  // No IPv6 on the TAP: the firewall rules (and the guest's lease) are IPv4
  // only, so an IPv6 packet from the guest would pass them unchecked. A
  // kernel without IPv6 has no such file and nothing to turn off.
  const std::string no_ipv6 = "/proc/sys/net/ipv6/conf/" + tap + "/disable_ipv6";
  return write_sysctl("/proc/sys/net/ipv4/ip_forward", "1", error) &&
         write_sysctl("/proc/sys/net/ipv4/conf/" + tap + "/route_localnet", "1", error) &&
         (access(no_ipv6.c_str(), F_OK) != 0 || write_sysctl(no_ipv6, "1", error));
}

bool tap_down(const std::string& tap_name, std::string& error) {
  if (!tap_exists(tap_name)) return true;
  const smolvm::sdk::ToolResult r =
      smolvm::sdk::run_tool({smolvm::sdk::find_system_tool("ip"), "link", "del", "dev", tap_name});
  if (r.exit_code != 0 && tap_exists(tap_name)) {
    error = "ip link del " + tap_name + ": " + r.output;
    return false;
  }
  return true;
}

}  // namespace smolvm_net
