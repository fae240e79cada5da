#include "core/host/doctor.h"

#include <unistd.h>

#include <cstdlib>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/common/paths.h"
#include "core/host/host_probe.h"
#include "core/plugins/backend_choice.h"
#include "core/plugins/loader.h"
#include "core/plugins/plugin_report_json.h"
#include "core/runtime/image.h"
#include "core/runtime/image_users.h"
#include "core/runtime/launcher.h"
#include "core/runtime/templates.h"
#include "core/supervisor/cgroup.h"
#include "core/supervisor/vmm_user.h"

namespace smolvm {
namespace {

// "<version> at <binary>", or whichever of them the probe gave.
std::string describe_probe(const nlohmann::json& j) {
  const auto text = [&](const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string version = text("version"), binary = text("binary");
  if (!version.empty() && !binary.empty()) return version + " at " + binary;
  if (!version.empty() || !binary.empty()) return version + binary;
  return "available";
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

  // Backends, known only as plugins: one line per installed plugin with
  // what its probe says (none required on its own), and what "auto" would
  // pick. A VM needs some VMM; the network and executor have defaults that
  // need none of the host.
  struct KindCheck {
    uint32_t kind;
    bool required;  // a VM cannot run without one
  };
  for (const KindCheck k :
       {KindCheck{SMOLVM_PLUGIN_VMM, true}, KindCheck{SMOLVM_PLUGIN_EXECUTOR, false},
        KindCheck{SMOLVM_PLUGIN_NETWORK, false}}) {
    const std::string kind = plugin_kind_name(k.kind);
    // Each plugin probed once: a probe may run its VMM's binary.
    const auto probed = probe_backends(plugins, k.kind);
    nlohmann::json probes = nlohmann::json::object();
    for (const auto& [name, p] : probed) {
      probes[name] = p.json;
      check(kind + " " + name, p.available, p.available ? describe_probe(p.json) : p.reason, p.fix,
            false);
    }
    report[kind] = probes;
    const std::string chosen = best_backend(probed);
    report[kind + "_auto"] = chosen;
    if (k.required) {
      check(kind, !chosen.empty(),
            chosen.empty() ? "no " + kind + " plugin is available here (see the lines above)"
                           : kind + "=auto uses " + chosen,
            "install what the " + kind + " lines above say", true);
    }
  }

  try {
    const ImagePaths img = resolve_image("", "", "", cache_dir);
    const KernelBoot boot = kernel_boot_for(img.kernel);
    // The stock kernel is the quickstart's stand-in while the built one
    // compiles: say which one new VMs get.
    const std::string kernel_kind = boot.kind.empty() ? "built" : boot.kind;
    check("image", true,
          "default guest image: " + img.kernel + " (" + kernel_kind + " kernel" +
              (kernel_kind == "stock"
                   ? ", boots in seconds; `smolvm image build` compiles the faster built one"
                   : "") +
              "), " + img.rootfs,
          "");
    report["image"] = {
        {"kernel", img.kernel}, {"kernel_kind", kernel_kind}, {"rootfs", img.rootfs}};
    // Its templates (core/runtime/templates.h): what a VM's first start
    // restores instead of booting. None is fine: the first start makes one.
    std::string names;
    nlohmann::json made = nlohmann::json::array();
    for (const auto& t : list_templates(image_dir_of(img.rootfs, cache_dir))) {
      names += (names.empty() ? "" : ", ") + t.name;
      made.push_back({{"dir", t.dir}, {"state_bytes", t.state_bytes}});
    }
    report["templates"] = made;
    const char* off = std::getenv("SMOLVM_TEMPLATE");
    check("templates", true,
          off && std::string(off) == "0"
              ? "off: SMOLVM_TEMPLATE=0, every VM boots cold"
              : (names.empty() ? "none yet: the first start of a VM that fits makes one"
                               : "VMs start from the template for " + names),
          "", /*required=*/false);
  } catch (const Error& e) {
    check("image", false, e.what(), "smolvm image build   (about 5 minutes the first time)");
  }

  try {
    const std::string sup = supervisor_binary();
    check("supervisor", true, sup, "");
  } catch (const Error& e) {
    check("supervisor", false, e.what(), "reinstall SmolVM, or set SMOLVM_SUPERVISOR");
  }

  const bool net_admin = has_cap_net_admin();
  report["network"]["cap_net_admin"] = net_admin;
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
