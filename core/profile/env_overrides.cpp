// SMOLVM_PROFILE_* variables: a deployment can resize or re-plumb a checked-in
// profile without editing it. They apply after extends, and go through the
// same VmSpec checks as the file's values.
#include <algorithm>
#include <cstdlib>
#include <limits>

#include "core/common/error.h"
#include "core/profile/profile.h"
#include "core/profile/value_checks.h"

namespace smolvm {
namespace {

struct Override {
  const char* variable;
  uint32_t VmSpec::*number;  // one of number/text is set
  std::string VmSpec::*text;
};

constexpr Override kOverrides[] = {
    {"SMOLVM_PROFILE_VCPU_COUNT", &VmSpec::vcpu_count, nullptr},
    {"SMOLVM_PROFILE_MEM_SIZE_MIB", &VmSpec::mem_size_mib, nullptr},
    {"SMOLVM_PROFILE_DISK_MODE", nullptr, &VmSpec::disk_mode},
    {"SMOLVM_PROFILE_VMM", nullptr, &VmSpec::vmm},
    {"SMOLVM_PROFILE_EXECUTOR", nullptr, &VmSpec::executor},
    {"SMOLVM_PROFILE_NETWORK", nullptr, &VmSpec::network},
    {"SMOLVM_PROFILE_ACCEL", nullptr, &VmSpec::accel},
};

// Decimal digits only; too large becomes UINT32_MAX, which is outside every
// VmSpec range, so validate() reports the rule.
bool parse_number(const std::string& s, uint32_t& out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = std::min<uint64_t>(v * 10 + static_cast<uint64_t>(c - '0'),
                           std::numeric_limits<uint32_t>::max());
  }
  out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

void apply_env_overrides(Profile& profile, const std::function<const char*(const char*)>& getenv) {
  VmSpec spec = profile.spec;
  for (const Override& o : kOverrides) {
    const char* raw = getenv(o.variable);
    if (!raw || !*raw) continue;
    const std::string value = raw;
    std::string shown = profile::quote(value);
    if (!profile.snapshot.empty()) {  // every variable here is what the snapshot decides
      fail(SMOLVM_EINVAL, std::string(o.variable) + "=" + shown +
                              ": the profile restores snapshot '" + profile.snapshot +
                              "', whose VM keeps the resources and backend it was saved with");
    }
    VmSpec one;  // just this field set, so validate() speaks about it alone
    one.vm_id = "profile";
    if (o.number) {
      uint32_t n = 0;
      if (!parse_number(value, n)) {
        fail(SMOLVM_EINVAL, std::string(o.variable) + "=" + shown + ": must be a whole number");
      }
      shown = value;
      one.*o.number = spec.*o.number = n;
    } else {
      one.*o.text = spec.*o.text = value;
    }
    try {
      validate(one);
    } catch (const Error& e) {
      fail(SMOLVM_EINVAL,
           std::string(o.variable) + "=" + shown + ": " + profile::rule_of(e.what()));
    }
  }
  // The profile's own fields passed these rules; only an override can break them.
  if (spec.network == "none" && !profile.ports.empty()) {
    fail(SMOLVM_EINVAL,
         "SMOLVM_PROFILE_NETWORK='none': the profile forwards ports (network.ports), which "
         "needs a network");
  }
  if (spec.disk_mode == "shared" && profile.disk_size_mib != 0) {
    fail(SMOLVM_EINVAL,
         "SMOLVM_PROFILE_DISK_MODE='shared': the profile sizes its disk (disk.size_mib), which "
         "only an isolated disk can be");
  }
  profile.spec = spec;
}

void apply_env_overrides(Profile& profile) {
  apply_env_overrides(profile, [](const char* name) -> const char* { return std::getenv(name); });
}

}  // namespace smolvm
