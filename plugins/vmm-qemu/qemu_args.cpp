#include "plugins/vmm-qemu/qemu_args.h"

namespace smolvm_qemu {
namespace {

std::string str(const char* s) { return s ? s : ""; }

// QEMU's option parser splits on ','; a literal comma in a path is written
// twice.
std::string escape_commas(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

}  // namespace

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
                                    std::string& problem) {
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
  std::string drive;
  if (mode == "isolated") {
    drive = "id=root,if=none,format=qcow2,discard=unmap,file=" + escape_commas(cfg.disk_path);
  } else {
    // Shared: every VM opens the same base read-only; snapshot=on sends this
    // VM's writes to a throwaway overlay that disappears with QEMU.
    drive = "id=root,if=none,format=raw,snapshot=on,file=" + escape_commas(cfg.rootfs_path);
  }
  std::vector<std::string> a = {
      binary,
      "-M",
      "microvm,acpi=off",
      "-accel",
      accel,
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
      // seccomp: QEMU needs none of these once the VM is set up. No -runas:
      // changing uid clears PR_SET_PDEATHSIG, so QEMU would outlive a
      // killed supervisor (measured; tests/hardening/RELIABILITY.md).
      "-sandbox",
      "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
      "-kernel",
      cfg.kernel_path,
      "-append",
      kernel_cmdline(cfg),
      "-serial",
      "file:" + str(cfg.console_log),
      "-drive",
      drive,
      "-device",
      "virtio-blk-device,drive=root",
      "-chardev",
      "socket,id=agent,server=on,wait=off,path=" + escape_commas(vm_dir + "/agent.sock"),
      "-device",
      "virtio-serial-device,max_ports=2",
      "-device",
      "virtserialport,chardev=agent,name=smolvm.agent",
      "-object",
      "rng-random,id=rng0,filename=/dev/urandom",
      "-device",
      "virtio-rng-device,rng=rng0",
      "-qmp",
      "unix:" + escape_commas(vm_dir + "/qmp.sock") + ",server=on,wait=off",
  };
  if (cfg.tap_name && *cfg.tap_name) {
    a.insert(a.end(),
             {"-netdev", std::string("tap,id=net0,script=no,downscript=no,ifname=") + cfg.tap_name,
              "-device",
              std::string("virtio-net-device,netdev=net0") +
                  (cfg.mac && *cfg.mac ? std::string(",mac=") + cfg.mac : "")});
  }
  return a;
}

}  // namespace smolvm_qemu
