#include "plugins/vmm-firecracker/fc_requests.h"

#include <nlohmann/json.hpp>

namespace smolvm_fc {
namespace {

using nlohmann::json;

std::string str(const char* s) { return s ? s : ""; }

// Throws json::type_error for a string that is not UTF-8 (Firecracker's JSON
// cannot carry it either).
ApiRequest put(std::string path, const json& body) { return {"PUT", std::move(path), body.dump()}; }

void build(const smolvm_vmm_config& cfg, const GuestFiles& files, std::vector<ApiRequest>& out) {
  out.push_back(
      put("/machine-config",
          {{"vcpu_count", cfg.vcpu_count}, {"mem_size_mib", cfg.mem_size_mib}, {"smt", false}}));
  out.push_back(put("/boot-source",
                    {{"kernel_image_path", files.kernel}, {"boot_args", kernel_cmdline(cfg)}}));
  out.push_back(put("/drives/rootfs", {{"drive_id", "rootfs"},
                                       {"path_on_host", files.disk},
                                       {"is_root_device", true},
                                       {"is_read_only", files.disk_read_only}}));
  if (cfg.tap_name && *cfg.tap_name) {
    json nic = {{"iface_id", "eth0"}, {"host_dev_name", cfg.tap_name}};
    if (cfg.mac && *cfg.mac) nic["guest_mac"] = cfg.mac;
    out.push_back(put("/network-interfaces/eth0", nic));
  }
  out.push_back(put("/vsock", {{"guest_cid", kGuestCid}, {"uds_path", files.vsock_uds}}));
  // virtio-rng, as under QEMU: the guest's getrandom() does not wait for
  // entropy at boot.
  out.push_back(put("/entropy", json::object()));
}

}  // namespace

std::string kernel_cmdline(const smolvm_vmm_config& cfg) {
  // reboot=k: the guest's reboot (smolvm-init powers off that way) goes
  // through the keyboard controller, which Firecracker turns into its own
  // exit. panic=1: a panic reboots after 1 s, so it also ends the VM.
  // pci=off: Firecracker has only virtio-mmio. quiet: every console byte is
  // a trap to the VMM. No root=: Firecracker appends "root=/dev/vda rw|ro"
  // itself from the root drive's is_read_only, and a root= of ours would
  // contradict it in shared mode.
  std::string line =
      "console=ttyS0 reboot=k panic=1 pci=off quiet loglevel=4 smolvm.channel=vsock:" +
      std::to_string(kAgentVsockPort);
  if (cfg.boot_args && *cfg.boot_args) line += " " + str(cfg.boot_args);
  return line;
}

std::vector<ApiRequest> config_requests(const smolvm_vmm_config& cfg, const GuestFiles& files,
                                        std::string& problem) {
  // Firecracker's own limits (MachineConfiguration in the API spec).
  if (cfg.vcpu_count < 1 || cfg.vcpu_count > 32) {
    problem = "vcpu_count=" + std::to_string(cfg.vcpu_count) + ": Firecracker supports 1..32";
    return {};
  }
  if (cfg.mem_size_mib < 1) {
    problem = "mem_size_mib=0: must be at least 1";
    return {};
  }
  if (files.kernel.empty() || files.disk.empty() || files.vsock_uds.empty()) {
    problem = "the kernel, the disk and the vsock socket path are required";
    return {};
  }
  std::vector<ApiRequest> out;
  try {
    build(cfg, files, out);
  } catch (const json::exception& e) {
    problem = std::string("a path or argument is not valid UTF-8: ") + e.what();
    return {};
  }
  return out;
}

ApiRequest instance_start() { return put("/actions", {{"action_type", "InstanceStart"}}); }

ApiRequest vm_state(bool paused) {
  return {"PATCH", "/vm", json{{"state", paused ? "Paused" : "Resumed"}}.dump()};
}

ApiRequest send_ctrl_alt_del() { return put("/actions", {{"action_type", "SendCtrlAltDel"}}); }

}  // namespace smolvm_fc
