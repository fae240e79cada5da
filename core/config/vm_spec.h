// VmSpec: the one validated description of a VM (Firecracker's habit of one
// validated config type per resource). Everything that makes a VM - the C
// API's options, a YAML profile, the CLI's flags - becomes a VmSpec and goes
// through validate() before anything acts on it.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "smolvm/smolvm.h"

namespace smolvm {

// The defaults and ranges are the C ABI's (smolvm.h), so the CLI, the
// bindings and a record read back from the store all use the same ones.
inline constexpr uint32_t kVcpuMin = SMOLVM_VCPU_MIN, kVcpuMax = SMOLVM_VCPU_MAX;
inline constexpr uint32_t kMemMin = SMOLVM_MEM_MIB_MIN, kMemMax = SMOLVM_MEM_MIB_MAX;
inline constexpr uint32_t kBootTimeoutMax = SMOLVM_BOOT_TIMEOUT_S_MAX;
// smolvm.h documents it in words ("0: default (120)"): it has no constant.
inline constexpr uint32_t kBootTimeoutDefault = 120;
// A set disk size is also at least the image's (disk_size_mib_for); the
// profile schema mirrors these.
// network= value for a VM without a NIC (not a plugin).
inline constexpr const char* kNoNetwork = "none";
inline constexpr uint32_t kDiskMinMib = SMOLVM_DISK_MIB_MIN, kDiskMaxMib = SMOLVM_DISK_MIB_MAX;

struct VmSpec {
  std::string vm_id;  // empty until assigned: validate() requires it
  uint32_t vcpu_count = SMOLVM_VCPU_DEFAULT;
  uint32_t mem_size_mib = SMOLVM_MEM_MIB_DEFAULT;
  std::string disk_mode = "isolated";
  // A named image (core/runtime/image_names.h); empty: kernel_path and
  // rootfs_path, or the default image where those are empty too.
  std::string image;
  std::string kernel_path;  // empty: the image's (the named or default one)
  std::string rootfs_path;  // empty: the image's (the named or default one)
  std::string boot_args;
  std::string vmm = "auto";
  std::string executor = "auto";
  // No NIC unless asked for: a sandbox reaches nothing by default. "auto"
  // picks the best network plugin the host supports.
  std::string network = kNoNetwork;
  std::string accel = "auto";
  uint32_t boot_timeout_s = kBootTimeoutDefault;
  // KEY=VALUE defaults for every command (from a profile, and changed later
  // with smolvm_vm_env_set/unset), commands run once after the first boot,
  // and the isolated disk's size (0: the image's).
  std::vector<std::string> env;
  std::vector<std::string> setup;
  uint32_t disk_size_mib = 0;
  // Ephemeral: the process that starts the VM owns it, and when that
  // process ends without detaching, the supervisor deletes the VM
  // (core/runtime/owner_link.h).
  bool delete_with_owner = false;
  // Lifetimes (smolvm.h, smolvm_vm_options), enforced by the supervisor:
  // 0 is no limit. The actions are kTtlActions / kIdleActions.
  uint32_t ttl_s = 0;
  uint32_t idle_timeout_s = 0;
  std::string on_ttl = "delete";
  std::string on_idle = "pause";
  // How the first start gets its guest (kBootModes): "auto" restores a
  // template of a freshly booted guest where one fits the VM
  // (core/runtime/templates.h), "cold" always boots the kernel.
  std::string boot = "auto";
};

inline constexpr std::string_view kBootModes[] = {"auto", "cold"};

// What may happen when a VM's ttl or idle timeout passes.
inline constexpr std::string_view kTtlActions[] = {"delete", "stop"};
inline constexpr std::string_view kIdleActions[] = {"pause", "stop", "delete", "hibernate"};
inline constexpr uint32_t kLifetimeMax = SMOLVM_LIFETIME_S_MAX;

// Throws smolvm::Error(SMOLVM_EINVAL) naming the first bad field, its value
// and what is allowed, e.g. "mem_size_mib=64: must be 128..16384".
void validate(const VmSpec& spec);

// [a-z0-9][a-z0-9-]{0,62}
bool is_valid_vm_id(std::string_view id);
// Throws EINVAL with the rule if id is not valid.
void check_vm_id(std::string_view id);
// The name of the image `smolvm image build` makes without --name: the link
// images/default. It cannot be given to another image.
inline constexpr const char* kDefaultImageName = "default";
// A cached image's name: [a-z0-9][a-z0-9._-]{0,62}. check_ throws EINVAL
// naming `field`, the value and the rule otherwise.
bool is_valid_image_name(std::string_view name);
void check_image_name(std::string_view name, const std::string& field = "image");
// An environment variable: a name [A-Za-z_][A-Za-z0-9_]* (what a shell can
// export), and an entry NAME=VALUE. EINVAL naming the entry otherwise.
void check_env_name(std::string_view name);
void check_env_entry(std::string_view kv);
// "vm-" + 8 random hex digits.
std::string generate_vm_id();

nlohmann::json to_json(const VmSpec& spec);
// Reads a stored spec (the supervisor's and every reader's one decoder);
// unknown fields are ignored, missing ones take the defaults above.
VmSpec spec_from_json(const nlohmann::json& j);

}  // namespace smolvm
