#include "plugins/vmm-firecracker/fc_launch.h"

#include <sys/un.h>

namespace smolvm_fc {
namespace {

constexpr uint64_t kCpuPeriodUs = 100000;
// Firecracker's own threads and page tables on top of guest memory; the
// page cache of the disk image is charged too, but reclaimable.
constexpr uint64_t kMemOverheadMib = 64;

std::string str(const char* s) { return s ? s : ""; }

std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Firecracker's and the jailer's rule for --id.
bool valid_instance_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool socket_path_fits(const std::string& path, std::string& problem) {
  constexpr size_t limit = sizeof(sockaddr_un{}.sun_path) - 1;
  if (path.size() <= limit) return true;
  problem = "socket path " + path + " is " + std::to_string(path.size()) +
            " bytes, over the Unix socket limit of " + std::to_string(limit) +
            " (use a shorter SMOLVM_STATE_DIR or vm id)";
  return false;
}

// Limits for the jail's cgroup: vcpu_count CPUs for the vCPU threads plus
// one for Firecracker's VMM thread, which emulates the devices; memory for
// the guest plus Firecracker's overhead.
std::vector<std::string> cgroup_args(const smolvm_vmm_config& cfg, int version) {
  const uint64_t quota = (uint64_t{cfg.vcpu_count} + 1) * kCpuPeriodUs;
  const uint64_t mem = (uint64_t{cfg.mem_size_mib} + kMemOverheadMib) << 20;
  if (version == 2) {
    return {"--cgroup", "cpu.max=" + std::to_string(quota) + " " + std::to_string(kCpuPeriodUs),
            "--cgroup", "memory.max=" + std::to_string(mem)};
  }
  return {"--cgroup", "cpu.cfs_period_us=" + std::to_string(kCpuPeriodUs),
          "--cgroup", "cpu.cfs_quota_us=" + std::to_string(quota),
          "--cgroup", "memory.limit_in_bytes=" + std::to_string(mem)};
}

}  // namespace

LaunchPlan plan_launch(const smolvm_vmm_config& cfg, const LaunchSettings& s,
                       std::string& problem) {
  const std::string accel = str(cfg.accel);
  const std::string mode = str(cfg.disk_mode);
  const std::string vm_dir = str(cfg.vm_dir);
  const std::string id = str(cfg.vm_id);
  if (accel != "kvm") {
    problem = "accel='" + accel +
              "': Firecracker runs only with hardware KVM (use vmm=qemu for software emulation)";
    return {};
  }
  if (mode != "isolated" && mode != "shared") {
    problem = "disk_mode='" + mode + "': must be isolated or shared";
    return {};
  }
  if (mode == "isolated" && !(cfg.disk_path && *cfg.disk_path)) {
    problem = "disk_mode=isolated needs the VM's disk (prepare_disk was not run)";
    return {};
  }
  if (vm_dir.empty() || !cfg.kernel_path || !*cfg.kernel_path || !cfg.rootfs_path ||
      !*cfg.rootfs_path) {
    problem = "vm_dir, kernel_path and rootfs_path are required";
    return {};
  }
  // Firecracker describes its devices on the kernel command line only
  // (MP tables, no ACPI): a kernel that looks for them in ACPI finds none.
  if (SMOLVM_VMM_CONFIG_HAS(&cfg, kernel_acpi) && cfg.kernel_acpi) {
    problem = "kernel_path='" + str(cfg.kernel_path) +
              "' finds its devices through ACPI, which Firecracker does not offer: use a kernel "
              "built with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES (`smolvm image build --kernel built`)";
    return {};
  }
  if (!valid_instance_id(id)) {
    problem = "vm_id='" + id + "': Firecracker ids are 1 to 64 letters, digits and '-'";
    return {};
  }
  if (s.firecracker.empty()) {
    problem = "no firecracker binary";
    return {};
  }
  const std::string disk = mode == "isolated" ? str(cfg.disk_path) : str(cfg.rootfs_path);

  LaunchPlan p;
  p.log_file = vm_dir + "/vmm.log";
  p.files.disk_read_only = mode == "shared";
  if (s.jailer.empty()) {
    p.api_socket = vm_dir + "/" + kApiSocketName;
    p.vsock_socket = vm_dir + "/" + kVsockSocketName;
    p.files.kernel = cfg.kernel_path;
    p.files.disk = disk;
    p.files.vsock_uds = p.vsock_socket;
    p.argv = {s.firecracker, "--api-sock", p.api_socket, "--id", id,
              "--log-path",  p.log_file,   "--level",    "Info"};
  } else {
    // The jailer chroots into <base>/<exec name>/<id>/root and execs
    // firecracker there as uid:gid, passing it the arguments after "--";
    // every path firecracker sees is then relative to that root.
    const std::string exec_name = base_name(s.firecracker);
    if (exec_name.find("firecracker") == std::string::npos) {
      problem = "the jailer needs a firecracker binary whose file name contains \"firecracker\" (" +
                s.firecracker + ")";
      return {};
    }
    p.jail_base = vm_dir + "/jail";
    p.jail_root = p.jail_base + "/" + exec_name + "/" + id + "/root";
    p.api_socket = p.jail_root + "/api.sock";
    p.vsock_socket = p.jail_root + "/" + kVsockSocketName;
    // Fixed names inside the jail: the host's names could collide.
    const std::string kernel_in = "/kernel";
    const std::string disk_in = mode == "isolated" ? "/disk.raw" : "/rootfs.img";
    p.files.kernel = kernel_in;
    p.files.disk = disk_in;
    p.files.vsock_uds = std::string("/") + kVsockSocketName;
    p.staged = {
        {cfg.kernel_path, p.jail_root + kernel_in, false, false},
        // The VM's own disk is written through the link; the shared base is
        // read-only and stays its owner's.
        {disk, p.jail_root + disk_in, mode == "isolated", mode == "isolated"},
        {p.log_file, p.jail_root + "/vmm.log", true, true},
    };
    p.argv = {s.jailer,
              "--id",
              id,
              "--exec-file",
              s.firecracker,
              "--uid",
              std::to_string(s.uid),
              "--gid",
              std::to_string(s.gid),
              "--chroot-base-dir",
              p.jail_base,
              "--cgroup-version",
              std::to_string(s.cgroup_version)};
    const auto cg = cgroup_args(cfg, s.cgroup_version);
    p.argv.insert(p.argv.end(), cg.begin(), cg.end());
    // The jailer passes --id itself.
    p.argv.insert(p.argv.end(),
                  {"--", "--api-sock", "/api.sock", "--log-path", "/vmm.log", "--level", "Info"});
    if (s.cgroup_version == 2) {
      p.cgroup_dirs = {"/sys/fs/cgroup/" + exec_name + "/" + id};
    } else {
      p.cgroup_dirs = {"/sys/fs/cgroup/cpu/" + exec_name + "/" + id,
                       "/sys/fs/cgroup/memory/" + exec_name + "/" + id};
    }
  }
  if (!socket_path_fits(p.api_socket, problem) || !socket_path_fits(p.vsock_socket, problem)) {
    return {};
  }
  return p;
}

}  // namespace smolvm_fc
