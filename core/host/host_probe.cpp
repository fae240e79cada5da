#include "core/host/host_probe.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/common/error.h"
#include "core/common/files.h"

namespace smolvm {

KvmProbe probe_kvm() {
  KvmProbe p;
  const bool dev = path_exists("/dev/kvm");
  const bool pvm = path_exists("/sys/module/kvm_pvm");
  const bool intel = path_exists("/sys/module/kvm_intel");
  const bool amd = path_exists("/sys/module/kvm_amd");
  if (!dev) {
    p.kind = "absent";
    p.detail = "no /dev/kvm: VMs run under TCG software emulation (slower)";
    return p;
  }
  if (pvm && !intel && !amd) {
    p.kind = "pvm";
    p.detail =
        "/dev/kvm is PVM (kvm_pvm), which runs only PVM-patched guest kernels: VMs run under TCG "
        "software emulation";
    return p;
  }
  const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    p.kind = "inaccessible";
    p.detail =
        "/dev/kvm exists but this user cannot open it read-write (add the user to the kvm "
        "group): VMs run under TCG";
    return p;
  }
  ::close(fd);
  p.kind = "hardware";
  p.usable = true;
  p.detail = std::string("hardware KVM (") +
             (intel ? "kvm_intel"
              : amd ? "kvm_amd"
                    : "kvm") +
             "): VMs run accelerated";
  return p;
}

bool has_cap_net_admin() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32))) != 0;
}

std::string resolve_accel(const std::string& requested) {
  if (requested == "tcg") return "tcg";
  const KvmProbe kvm = probe_kvm();
  if (requested == "kvm") {
    if (!kvm.usable) {
      fail(SMOLVM_EUNSUPPORTED,
           "accel='kvm': not usable on this host (" + kvm.detail + "); use accel=auto or tcg");
    }
    return "kvm";
  }
  return kvm.usable ? "kvm" : "tcg";
}

}  // namespace smolvm
