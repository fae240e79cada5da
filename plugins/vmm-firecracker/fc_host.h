// What this host offers Firecracker: the binaries (found on PATH or named by
// environment variables) and whether /dev/kvm is hardware KVM. The plugin
// sees only plugin.h, so this repeats the core's KVM check on purpose.
#pragma once

#include <cstdint>
#include <string>

#include "smolvm/sdk/path.h"

namespace smolvm_fc {

struct KvmState {
  // "hardware" (kvm_intel/kvm_amd), "pvm" (kvm_pvm alone), "absent" (no
  // /dev/kvm), "inaccessible" (hardware, but not read-writable by this user).
  std::string kind;
  bool usable = false;
  std::string detail;  // why not, for messages
};

// root prefixes /dev/kvm and /sys/module (tests point it at a folder of
// their own; "" is the host).
KvmState classify_kvm(const std::string& root = "");

// Resolves a command name through PATH the way execvp does.
using smolvm::sdk::which;

// SMOLVM_FIRECRACKER, else "firecracker".
std::string firecracker_setting();

// Jailer use, from SMOLVM_FIRECRACKER_JAILER (path or name; unset: no
// jailer) and SMOLVM_FIRECRACKER_UID / _GID (default: this process's).
struct JailerSetting {
  std::string jailer;  // "" when not configured
  uint32_t uid = 0, gid = 0;
  std::string problem;  // a malformed uid or gid
};
JailerSetting jailer_setting();

// 2 when /sys/fs/cgroup is the unified (v2) hierarchy, else 1.
int cgroup_version();

struct ProbeResult {
  bool available = false;
  std::string binary, version, reason, kvm_kind, jailer;
};
ProbeResult probe_host();
// {"available","binary","version","reason","accels":["kvm"],"kvm","jailer"}
std::string probe_json(const ProbeResult& p);

// How to get Firecracker, for reasons and doctor.
extern const char* const kInstallHint;

}  // namespace smolvm_fc
