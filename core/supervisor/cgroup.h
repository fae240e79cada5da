// Per-VM cgroup v2 limits for the VMM process: CPU quota from the vCPU
// count, memory = guest RAM + the VMM's own overhead, and a pids cap, so one
// VM cannot starve the host or the other VMs. Where the host has no usable
// cgroup v2 (a v1 or hybrid host, or no write access) nothing is applied and
// the reason is recorded instead; the VM still runs.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace smolvm {

// What QEMU uses beyond guest RAM: its own heap, device state, and under
// TCG the translated-code cache. Measured on this host (TCG, 256 MiB guest
// after boot and a memory hog): see tests/hardening/RELIABILITY.md.
constexpr uint64_t kVmmOverheadMibTcg = 192;
constexpr uint64_t kVmmOverheadMibKvm = 64;
// QEMU's threads: vCPUs, the main loop, RCU, up to 64 block-I/O workers.
constexpr uint64_t kVmmPidsBase = 128;

struct CgroupLimits {
  std::string cpu_max;  // "quota period" in microseconds
  uint64_t memory_max = 0;
  uint64_t pids_max = 0;
};

CgroupLimits limits_for(uint32_t vcpus, uint32_t mem_mib, const std::string& accel);

class VmCgroup {
 public:
  // Creates <root>/smolvm/<vm_id> with the limits (root: /sys/fs/cgroup, or
  // $SMOLVM_CGROUP_ROOT for tests, which skips the file-system type check).
  // Never throws: on any failure the VM runs unconfined and json() says why.
  void prepare(const std::string& vm_id, const CgroupLimits& limits);
  // Moves the VMM (all its threads) in.
  void add(int64_t pid);
  // Removes the (empty) cgroup once the VMM has exited.
  void remove();
  // For runtime["cgroup"]: {enabled, path, cpu_max, memory_max, pids_max}
  // or {enabled: false, reason}.
  nlohmann::json json() const;

 private:
  void disable(const std::string& why);
  std::string path_, reason_;
  CgroupLimits limits_;
  bool enabled_ = false;
};

// Removes a cgroup recorded in a VM's runtime JSON, for cleanup after a
// supervisor that died without doing it itself. Idempotent.
void remove_recorded_cgroup(const nlohmann::json& runtime);

}  // namespace smolvm
