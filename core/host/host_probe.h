// What this host offers a VM: hardware KVM, PVM KVM (which runs only
// PVM-patched guest kernels), or none; and so which accelerator to use.
#pragma once

#include <string>

namespace smolvm {

struct KvmProbe {
  // "hardware" (kvm_intel/kvm_amd), "pvm" (kvm_pvm), "absent" (no /dev/kvm),
  // "inaccessible" (present but not openable read-write by this user).
  std::string kind;
  bool usable = false;  // a stock guest kernel can run under KVM here
  std::string detail;   // one sentence for doctor and error messages
};

KvmProbe probe_kvm();

// Whether this process may create TAP devices and firewall rules.
bool has_cap_net_admin();

// "auto" -> "kvm" where usable, else "tcg". "kvm" where not usable throws
// EUNSUPPORTED saying why and what to use instead.
std::string resolve_accel(const std::string& requested);

}  // namespace smolvm
