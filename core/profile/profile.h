// Declarative VM profiles: a YAML file that says everything a VM needs, so
// agent frameworks can keep their sandboxes in version control. The contract
// is schemas/vm-profile.schema.json; this loader enforces exactly that schema
// (tests/core/profile checks both against the same corpus), and reuses VmSpec's
// validate() for every value VmSpec also holds, so ranges live in one place.
// The format, the extends rule and the overrides: examples/profiles/README.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/config/vm_spec.h"

namespace smolvm {

// One forwarded port: host_addr:host_port on the host to guest_port inside.
struct PortSpec {
  uint16_t guest_port = 0;
  uint16_t host_port = 0;  // 0: "auto", a free port picked when the VM starts
  std::string host_addr = "127.0.0.1";
  std::string protocol = "tcp";  // "tcp" | "udp"
};

struct Profile {
  std::string name;
  // vm_id stays empty unless the profile sets `id:`, so each create makes a
  // new VM; kernel_path/rootfs_path are absolute (or empty: default image).
  VmSpec spec;
  uint32_t disk_size_mib = 0;  // 0: the image's own size
  std::vector<PortSpec> ports;
  std::vector<std::pair<std::string, std::string>> env;  // in file order
  std::vector<std::string> setup;                        // run once after first boot, in order
  // A snapshot's id or name: the VM is restored from it (its resources,
  // image, backend and disk are the snapshot's), "" boots the image.
  std::string snapshot;
  std::string source_path;  // absolute path of the profile file
  // Every file merged into this profile: source_path first, then the file it
  // extends, and so on.
  std::vector<std::string> extends_chain;
};

// Limits of the format, mirrored by the schema where it can express them.
inline constexpr uint32_t kPortMax = 65535;
inline constexpr size_t kProfileMaxPorts = 64, kProfileMaxEnv = 256, kProfileMaxSetup = 64;
// String lengths in characters (JSON Schema's maxLength).
inline constexpr size_t kProfileMaxPathChars = 4096;  // extends, image paths
inline constexpr size_t kProfileMaxEnvNameChars = 255;
inline constexpr size_t kProfileMaxEnvValueChars = 32768;
inline constexpr size_t kProfileMaxCommandChars = 65536;  // one setup entry
// Guards against hostile input (yaml-cpp recurses once per nesting level, and
// aliases can multiply a small file into a huge tree): refused with a message
// saying which limit was hit.
inline constexpr size_t kProfileMaxBytes = 1024 * 1024;
inline constexpr size_t kProfileMaxDepth = 64;      // nested lists/mappings
inline constexpr size_t kProfileMaxNodes = 100000;  // counting alias expansions
inline constexpr size_t kProfileMaxExtends = 8;     // extends hops in a chain

// Reads, merges (extends) and validates a profile. Throws smolvm::Error:
// SMOLVM_EINVAL for a bad profile, with "file:line:column: key.path=value:
// what is allowed"; SMOLVM_ENOTFOUND / SMOLVM_EPERM / SMOLVM_EIO when a file
// cannot be read. Never throws anything else.
Profile load_profile(const std::string& path);

// Same, from text already in memory. virtual_name is the file name shown in
// messages; relative image paths and extends resolve against its folder.
Profile load_profile_from_string(const std::string& text, const std::string& virtual_name);

// Applies SMOLVM_PROFILE_{VCPU_COUNT,MEM_SIZE_MIB,DISK_MODE,VMM,EXECUTOR,
// NETWORK,ACCEL} on top of a loaded profile. Unset or empty variables are
// ignored. Values are checked like the file's, and errors name the variable
// (EINVAL); on error the profile is unchanged. getenv is passed in so tests
// need not touch the process environment.
void apply_env_overrides(Profile& profile, const std::function<const char*(const char*)>& getenv);
// The same with the process environment.
void apply_env_overrides(Profile& profile);

}  // namespace smolvm
