#include "plugins/vmm-qemu/qemu_args.h"

namespace smolvm_qemu {
namespace {

std::string str(const char* s) { return s ? s : ""; }
std::string fd(int n) { return std::to_string(n); }
std::string fdset(int n) { return "/dev/fdset/" + fd(n); }

constexpr int kTcgCodeCacheMib = 64;

bool has_tap(const smolvm_vmm_config& cfg) { return cfg.tap_name && *cfg.tap_name; }

}  // namespace

uint32_t layer_count(const smolvm_vmm_config& cfg) {
  return SMOLVM_VMM_CONFIG_HAS(&cfg, layer_count) && cfg.layer_paths ? cfg.layer_count : 0;
}

std::string initrd_path(const smolvm_vmm_config& cfg) {
  return SMOLVM_VMM_CONFIG_HAS(&cfg, initrd_path) ? str(cfg.initrd_path) : "";
}

int initrd_fd_number(const smolvm_vmm_config& cfg, bool restore) {
  return layer_fd_number(cfg, restore, layer_count(cfg));
}

int state_fd_number(const smolvm_vmm_config& cfg) { return kTapFd + (has_tap(cfg) ? 1 : 0); }

int layer_fd_number(const smolvm_vmm_config& cfg, bool restore, uint32_t layer) {
  return state_fd_number(cfg) + (restore ? 1 : 0) + static_cast<int>(layer);
}

std::string kernel_cmdline(const smolvm_vmm_config& cfg) {
  // reboot=t: a guest reboot triple-faults, which -no-reboot turns into
  // QEMU exiting (microvm has no ACPI power-off). panic=-1: a panic ends
  // the VM at once instead of hanging it.
  std::string line =
      "console=ttyS0 root=/dev/vda rw reboot=t panic=-1 quiet loglevel=4 "
      "smolvm.channel=virtio-serial";
  if (cfg.boot_args && *cfg.boot_args) line += " " + str(cfg.boot_args);
  return line;
}

std::vector<std::string> build_args(const smolvm_vmm_config& cfg, const std::string& binary,
                                    std::string& problem, bool restore) {
  const std::string accel = str(cfg.accel);
  const std::string mode = str(cfg.disk_mode);
  const std::string vm_dir = str(cfg.vm_dir);
  if (accel != "kvm" && accel != "tcg") {
    problem = "accel='" + accel + "': must be kvm or tcg";
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
  if (vm_dir.empty() || !cfg.kernel_path || !cfg.rootfs_path || !cfg.console_log) {
    problem = "vm_dir, kernel_path, rootfs_path and console_log are required";
    return {};
  }
  const uint32_t layers = layer_count(cfg);
  if (layers > 0 && mode != "isolated") {
    problem = "disk layers need disk_mode=isolated (got '" + mode + "')";
    return {};
  }
  // A kernel whose virtio-mmio driver is a module cannot take its devices
  // from the command line: microvm then describes them in ACPI tables.
  const bool acpi = SMOLVM_VMM_CONFIG_HAS(&cfg, kernel_acpi) && cfg.kernel_acpi;
  std::vector<std::string> a = {
      binary,
      "-M",
      acpi ? "microvm,acpi=on" : "microvm,acpi=off",
      // TCG's translated-code cache defaults to 1 GiB (or RAM/8) and grows
      // with every new guest program: capped, QEMU's memory stays within
      // guest RAM + the overhead its cgroup allows (measured in
      // the README's reliability section; no measurable slowdown).
      "-accel",
      accel == "tcg" ? "tcg,tb-size=" + std::to_string(kTcgCodeCacheMib) : accel,
      // -cpu host aborts on PVM hosts (MSR 0x10a); max is TCG's richest model.
      "-cpu",
      accel == "kvm" ? "host" : "max",
      "-m",
      std::to_string(cfg.mem_size_mib),
      "-smp",
      std::to_string(cfg.vcpu_count),
      "-nodefaults",
      "-no-user-config",
      "-nographic",
      "-no-reboot",
      // seccomp: QEMU needs none of these once the VM is set up (its uid
      // is switched before exec, by the plugin).
      "-sandbox",
      "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
      // The kernel loader opens a path: the magic link reaches the
      // descriptor without walking the (closed) folders above the file.
      "-kernel",
      "/proc/self/fd/" + fd(kKernelFd),
      "-append",
      kernel_cmdline(cfg),
      // Block and file chardevs take descriptors through fd sets, the
      // sockets directly.
      "-add-fd",
      "fd=" + fd(kBaseFd) + ",set=" + fd(kBaseFd),
      "-add-fd",
      "fd=" + fd(kDiskFd) + ",set=" + fd(kDiskFd),
      "-add-fd",
      "fd=" + fd(kConsoleFd) + ",set=" + fd(kConsoleFd),
      // append=on: QEMU then neither truncates nor seeks, which a pipe (the
      // supervisor's bounded console log) refuses.
      "-chardev",
      "file,id=console,append=on,path=" + fdset(kConsoleFd),
      "-serial",
      "chardev:console",
      // The root disk is always a qcow2 overlay on the read-only base: the
      // VM's own (isolated) or a throwaway one (shared). Its backing is
      // named as a node, so QEMU never opens the path in the qcow2 header.
      "-blockdev",
      "driver=file,node-name=base-file,read-only=on,filename=" + fdset(kBaseFd),
      "-blockdev",
      "driver=raw,node-name=base,read-only=on,file=base-file",
  };
  // Snapshot layers: read-only qcow2 files, each on the one before.
  std::string below = "base";
  for (uint32_t i = 0; i < layers; ++i) {
    const int n = layer_fd_number(cfg, restore, i);
    const std::string node = "layer" + std::to_string(i);
    a.insert(a.end(), {"-add-fd", "fd=" + fd(n) + ",set=" + fd(n), "-blockdev",
                       "driver=file,node-name=" + node + "-file,read-only=on,filename=" + fdset(n),
                       "-blockdev",
                       "driver=qcow2,node-name=" + node + ",read-only=on,file=" + node +
                           "-file,backing=" + below});
    below = node;
  }
  a.insert(
      a.end(),
      {
          "-blockdev", "driver=file,node-name=disk-file,discard=unmap,filename=" + fdset(kDiskFd),
          "-blockdev", "driver=qcow2,node-name=root,discard=unmap,file=disk-file,backing=" + below,
          "-device",   "virtio-blk-device,drive=root",
          "-chardev",  "socket,id=agent,server=on,wait=off,fd=" + fd(kAgentFd),
          "-device",   "virtio-serial-device,max_ports=2",
          "-device",   "virtserialport,chardev=agent,name=smolvm.agent",
          "-object",   "rng-random,id=rng0,filename=/dev/urandom",
          "-device",   "virtio-rng-device,rng=rng0",
          "-chardev",  "socket,id=qmp,server=on,wait=off,fd=" + fd(kQmpFd),
          "-mon",      "chardev=qmp,mode=control",
      });
  if (cfg.tap_name && *cfg.tap_name) {
    a.insert(a.end(), {"-netdev", "tap,id=net0,fd=" + fd(kTapFd), "-device",
                       std::string("virtio-net-device,netdev=net0") +
                           (cfg.mac && *cfg.mac ? std::string(",mac=") + cfg.mac : "")});
  }
  if (!initrd_path(cfg).empty()) {
    a.insert(a.end(), {"-initrd", "/proc/self/fd/" + fd(initrd_fd_number(cfg, restore))});
  }
  // The state arrives on an inherited descriptor: `exec:` would need a
  // process QEMU's sandbox (spawn=deny) does not allow.
  if (restore) a.insert(a.end(), {"-incoming", "fd:" + fd(state_fd_number(cfg))});
  return a;
}

}  // namespace smolvm_qemu
