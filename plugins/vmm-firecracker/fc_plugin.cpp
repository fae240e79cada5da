// vmm-firecracker: Firecracker microVMs, configured through its HTTP API on
// a Unix socket, optionally inside its jailer. Needs hardware KVM. The agent
// channel is hybrid vsock: Firecracker bridges a host Unix socket to the
// guest's vsock port 1024, where smolvm-agent listens
// (smolvm.channel=vsock:1024 on the kernel command line).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "plugins/vmm-firecracker/fc_disk.h"
#include "plugins/vmm-firecracker/fc_host.h"
#include "plugins/vmm-firecracker/fc_instance.h"
#include "plugins/vmm-firecracker/fc_launch.h"
#include "smolvm/plugin_sdk.h"

namespace smolvm_fc {
namespace {

using smolvm::sdk::set_error;

// The plugin's tag: its slot functions take it first (smolvm/sdk/vtables.h).
struct Firecracker {};

void probe(Firecracker, char* out_json, size_t cap, smolvm_plugin_error*) {
  smolvm::sdk::copy_out(out_json, cap, probe_json(probe_host()), "probe JSON");
}

// Firecracker reads raw images only: the VM's disk is a copy of the base,
// a reflink where the file system can (instant), else a sparse copy
// (README.md has the times).
int prepare_disk(Firecracker, const smolvm_vmm_config* cfg, char* out_path, size_t cap,
                 smolvm_plugin_error* err) {
  if (!cfg->vm_dir || !cfg->rootfs_path) {
    return set_error(err, SMOLVM_EINVAL, "prepare_disk: vm_dir and rootfs_path are required");
  }
  const std::string disk = std::string(cfg->vm_dir) + "/disk.raw";
  if (disk.size() + 1 > cap) return set_error(err, SMOLVM_EINVAL, "disk path too long");
  CopyMethod used;
  std::string error;
  if (!clone_file(cfg->rootfs_path, disk, used, error)) return set_error(err, SMOLVM_EIO, error);
  // Grown sparsely; the guest's root file system fills it at boot.
  if (SMOLVM_VMM_CONFIG_HAS(cfg, disk_size_mib) && cfg->disk_size_mib != 0 &&
      ::truncate(disk.c_str(), static_cast<off_t>(cfg->disk_size_mib) << 20) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(disk.c_str());
    return set_error(
        err, SMOLVM_EIO,
        "growing " + disk + " to " + std::to_string(cfg->disk_size_mib) + " MiB: " + why);
  }
  std::memcpy(out_path, disk.c_str(), disk.size() + 1);
  return 0;
}

// Resolves the binaries and checks the host before anything starts, so the
// error names what is missing rather than Firecracker's first failure.
int host_settings(LaunchSettings& s, smolvm_plugin_error* err) {
  const std::string wanted = firecracker_setting();
  s.firecracker = which(wanted);
  if (s.firecracker.empty()) {
    return set_error(err, SMOLVM_ENOTFOUND,
                     "vmm=firecracker: " + wanted + " not found (" + kInstallHint + ")");
  }
  const JailerSetting js = jailer_setting();
  if (!js.problem.empty()) return set_error(err, SMOLVM_EINVAL, js.problem);
  if (!js.jailer.empty()) {
    s.jailer = which(js.jailer);
    if (s.jailer.empty()) {
      return set_error(
          err, SMOLVM_ENOTFOUND,
          "SMOLVM_FIRECRACKER_JAILER=" + js.jailer + ": not found (" + kInstallHint + ")");
    }
    s.uid = js.uid;
    s.gid = js.gid;
    s.cgroup_version = cgroup_version();
  }
  const KvmState kvm = classify_kvm();
  if (!kvm.usable) return set_error(err, SMOLVM_EUNSUPPORTED, "vmm=firecracker: " + kvm.detail);
  return 0;
}

int launch(Firecracker, void** out_instance, const smolvm_vmm_config* cfg,
           smolvm_plugin_error* err) {
  LaunchSettings settings;
  if (const int rc = host_settings(settings, err); rc != 0) return rc;
  Instance* inst = nullptr;
  std::string error;
  const int rc = launch_instance(&inst, *cfg, settings, error);
  if (rc != 0) return set_error(err, rc, error);
  *out_instance = inst;
  return 0;
}

int64_t pid(Firecracker, void* instance) { return static_cast<Instance*>(instance)->pid; }

int agent_connect(Firecracker, void* instance, int* out_fd, uint32_t timeout_ms,
                  smolvm_plugin_error* err) {
  std::string error;
  const int rc = connect_agent(*static_cast<Instance*>(instance), timeout_ms, out_fd, error);
  return rc == 0 ? 0 : set_error(err, rc, error);
}

int kill(Firecracker, void* instance, smolvm_plugin_error* err) {
  std::string error;
  const int rc = kill_instance(*static_cast<Instance*>(instance), error);
  return rc == 0 ? 0 : set_error(err, rc, error);
}

int pause(Firecracker, void* instance, smolvm_plugin_error* err) {
  std::string error;
  const int rc = set_paused(*static_cast<Instance*>(instance), true, error);
  return rc == 0 ? 0 : set_error(err, rc, error);
}

int resume(Firecracker, void* instance, smolvm_plugin_error* err) {
  std::string error;
  const int rc = set_paused(*static_cast<Instance*>(instance), false, error);
  return rc == 0 ? 0 : set_error(err, rc, error);
}

void release(Firecracker, void* instance) { release_instance(static_cast<Instance*>(instance)); }

// What a Firecracker whose supervisor died leaves in its folder: its API and
// vsock sockets (release() removes them when the supervisor lives). A
// jailed one's chroot is outside vm_dir and is left to the jailer's base.
void cleanup(Firecracker, const smolvm_vmm_config* cfg, smolvm_plugin_error*) {
  const std::string dir = cfg->vm_dir;
  unlink((dir + "/" + kApiSocketName).c_str());
  unlink((dir + "/" + kVsockSocketName).c_str());
}

}  // namespace
}  // namespace smolvm_fc

SMOLVM_PLUGIN_DEFINE_CXX(vmm, firecracker, SMOLVM_PLUGIN_VERSION,
                         "Firecracker microVM (hardware KVM only), agent over hybrid vsock",
                         smolvm_fc::Firecracker)
