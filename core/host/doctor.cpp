#include "core/host/doctor.h"

#include <unistd.h>

#include <cstdlib>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/common/paths.h"
#include "core/host/host_probe.h"
#include "core/plugins/loader.h"
#include "core/plugins/plugin_report_json.h"
#include "core/runtime/image.h"
#include "core/runtime/launcher.h"
#include "core/supervisor/cgroup.h"
#include "core/supervisor/vmm_user.h"

namespace smolvm {
namespace {

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "";
  for (const char* extra : {"/usr/sbin", "/sbin"}) p += std::string(":") + extra;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    const std::string candidate = p.substr(start, end - start) + "/" + name;
    if (!candidate.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

}  // namespace

nlohmann::json run_doctor(PluginRegistry& plugins, const std::string& state_dir,
                          const std::string& cache_dir) {
  nlohmann::json report;
  nlohmann::json checks = nlohmann::json::array();
  auto check = [&](const std::string& name, bool ok, const std::string& message,
                   const std::string& fix, bool required = true) {
    checks.push_back({{"name", name},
                      {"ok", ok},
                      {"required", required},
                      {"message", message},
                      {"fix", ok ? "" : fix}});
  };

  const KvmProbe kvm = probe_kvm();
  report["kvm"] = {{"kind", kvm.kind}, {"usable", kvm.usable}, {"detail", kvm.detail}};
  report["accel"] = kvm.usable ? "kvm" : "tcg";
  check("kvm", kvm.usable, kvm.detail,
        kvm.kind == "pvm" ? "nothing to do: SmolVM falls back to TCG (a host with hardware KVM, "
                            "kvm_intel or kvm_amd, runs VMs many times faster)"
        : kvm.kind == "inaccessible" ? "add this user to the 'kvm' group, or run as root"
                                     : "enable virtualization (VT-x/AMD-V) or use a host with KVM; "
                                       "SmolVM falls back to TCG meanwhile",
        /*required=*/false);

  // Every plugin file is loaded, so a broken or mismatched one is named
  // here rather than at the first VM that needs it.
  const nlohmann::json inspected = inspect_plugins_json(plugins);
  report["plugins"] = inspected["plugins"];
  report["plugin_dirs"] = inspected["search_path"];
  std::string refused;
  size_t usable = 0;
  for (const auto& p : inspected["plugins"]) {
    const std::string error = p["error"];
    if (error.empty()) {
      ++usable;
    } else {
      refused += (refused.empty() ? "" : "; ") + error;
    }
  }
  check("plugins", refused.empty(),
        refused.empty() ? std::to_string(usable) + " plugins load (smolvm plugins lists them)"
                        : std::to_string(usable) + " plugins load; refused: " + refused,
        "remove or rebuild the refused plugin files, or take their folder out of "
        "SMOLVM_PLUGIN_PATH",
        /*required=*/false);

  nlohmann::json vmm = nlohmann::json::object();
  for (const auto& name : plugins.available(SMOLVM_PLUGIN_VMM)) {
    try {
      const auto& p = plugins.get(SMOLVM_PLUGIN_VMM, name);
      char buf[4096] = {0};
      smolvm_plugin_error err{};
      if (p.vtable<smolvm_vmm_vtable>().probe(buf, sizeof buf, &err) == 0) {
        vmm[name] = nlohmann::json::parse(buf, nullptr, false);
      } else {
        vmm[name] = {{"available", false}, {"reason", err.message}};
      }
    } catch (const Error& e) {
      vmm[name] = {{"available", false}, {"reason", e.what()}};
    }
  }
  if (!vmm.contains("firecracker")) {
    vmm["firecracker"] = {{"available", false},
                          {"reason", "the vmm-firecracker plugin is not installed"}};
  }
  report["vmm"] = vmm;
  const bool qemu_ok = vmm.contains("qemu") && vmm["qemu"].value("available", false);
  check("qemu", qemu_ok,
        qemu_ok ? vmm["qemu"].value("version", std::string()) + " at " +
                      vmm["qemu"].value("binary", std::string())
                : (vmm.contains("qemu") ? vmm["qemu"].value("reason", std::string())
                                        : std::string("the vmm-qemu plugin was not found")),
        "apt-get install qemu-system-x86 qemu-utils");
  const bool fc_ok = vmm["firecracker"].value("available", false);
  check("firecracker", fc_ok,
        fc_ok
            ? "available (vmm=auto uses it): " + vmm["firecracker"].value("version", std::string())
            : vmm["firecracker"].value("reason", std::string()),
        "optional: on a host with hardware KVM, put a Firecracker release binary (and jailer) "
        "on PATH or set SMOLVM_FIRECRACKER; vmm=auto then prefers it",
        /*required=*/false);
  report["vmm_auto"] = fc_ok ? "firecracker" : "qemu";

  try {
    const ImagePaths img = resolve_image("", "", cache_dir);
    check("image", true, "default guest image: " + img.kernel + ", " + img.rootfs, "");
    report["image"] = {{"kernel", img.kernel}, {"rootfs", img.rootfs}};
  } catch (const Error& e) {
    check("image", false, e.what(), "smolvm image build   (about 5 minutes the first time)");
  }

  try {
    const std::string sup = supervisor_binary();
    check("supervisor", true, sup, "");
  } catch (const Error& e) {
    check("supervisor", false, e.what(), "reinstall SmolVM, or set SMOLVM_SUPERVISOR");
  }

  const std::string nft = find_on_path("nft"), ipt = find_on_path("iptables");
  const bool net_admin = has_cap_net_admin();
  report["network"] = {{"nft", nft}, {"iptables", ipt}, {"cap_net_admin", net_admin}};
  check("nftables", !nft.empty(), nft.empty() ? "nft not found" : nft, "apt-get install nftables",
        false);
  check("iptables", !ipt.empty(), ipt.empty() ? "iptables not found" : ipt,
        "apt-get install iptables", false);
  check("cap_net_admin", net_admin,
        net_admin ? "this process may create TAP devices and firewall rules"
                  : "no CAP_NET_ADMIN: networked VMs cannot be created (network=none still works)",
        "run as root or grant CAP_NET_ADMIN; or use network=none", false);

  // A networked VM routes through the host, so the network plugins turn
  // IPv4 forwarding on host-wide; say so before it happens, not after.
  const std::string forward = path_exists("/proc/sys/net/ipv4/ip_forward")
                                  ? read_file("/proc/sys/net/ipv4/ip_forward")
                                  : std::string();
  const bool forwarding = !forward.empty() && forward[0] == '1';
  report["network"]["ip_forward"] = forwarding;
  check("ip_forward", forwarding,
        forwarding ? "net.ipv4.ip_forward=1 (networked VMs route through the host)"
                   : "net.ipv4.ip_forward=0: the first networked VM turns it on for the whole "
                     "host until reboot (SmolVM's firewall rules still confine what VMs reach)",
        "nothing needed for network=none; to choose it yourself, set net.ipv4.ip_forward in "
        "/etc/sysctl.d/",
        false);

  // Isolation of each VM's VMM on this host: neither is required (a VM
  // still runs), both say what a user gives up without them.
  std::string user_detail, cgroup_detail;
  const bool own_uid = vmm_user_plan(&user_detail);
  const int cgroup_version = cgroup_support(&cgroup_detail);
  report["vmm_user"] = {{"own_uid", own_uid}, {"detail", user_detail}};
  report["cgroup"] = {{"version", cgroup_version}, {"detail", cgroup_detail}};
  check("vmm_user", own_uid, user_detail,
        "run SmolVM as root, with SMOLVM_VMM_UID_BASE unset or a valid first uid, to give "
        "each VM's QEMU a uid of its own",
        false);
  check("cgroup", cgroup_version != 0,
        cgroup_version ? "per-VM CPU, memory and pids limits with " + cgroup_detail : cgroup_detail,
        "mount cgroup2 with the cpu, memory and pids controllers (or their v1 hierarchies) "
        "writable by SmolVM",
        false);

  report["uid"] = ::getuid();
  report["state_dir"] = state_dir;
  report["cache_dir"] = cache_dir;
  bool all_required = true;
  for (const auto& c : checks) {
    if (c["required"].get<bool>() && !c["ok"].get<bool>()) all_required = false;
  }
  report["checks"] = checks;
  report["ok"] = all_required;
  return report;
}

}  // namespace smolvm
