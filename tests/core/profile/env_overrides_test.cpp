// SMOLVM_PROFILE_* overrides, with a fake environment: applied after extends,
// checked like the file's values, errors naming the variable, all or nothing.
#include <gtest/gtest.h>

#include <map>

#include "core/profile/profile.h"
#include "test_util.h"

namespace smolvm {
namespace {

using testing::failure_of;
using Env = std::map<std::string, std::string>;

std::function<const char*(const char*)> fake(const Env& env) {
  return [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}

Profile web_app() { return load_profile(PROFILE_EXAMPLES_DIR "/web-app.yaml"); }

TEST(ProfileEnvOverrides, ApplyEveryVariable) {
  Profile p = load_profile(PROFILE_EXAMPLES_DIR "/no-network-runner.yaml");
  const Env env{{"SMOLVM_PROFILE_VCPU_COUNT", "4"},     {"SMOLVM_PROFILE_MEM_SIZE_MIB", "2048"},
                {"SMOLVM_PROFILE_DISK_MODE", "shared"}, {"SMOLVM_PROFILE_VMM", "qemu"},
                {"SMOLVM_PROFILE_EXECUTOR", "ssh"},     {"SMOLVM_PROFILE_NETWORK", "iptables"},
                {"SMOLVM_PROFILE_ACCEL", "tcg"}};
  apply_env_overrides(p, fake(env));
  EXPECT_EQ(p.spec.vcpu_count, 4u);
  EXPECT_EQ(p.spec.mem_size_mib, 2048u);
  EXPECT_EQ(p.spec.disk_mode, "shared");
  EXPECT_EQ(p.spec.vmm, "qemu");
  EXPECT_EQ(p.spec.executor, "ssh");
  EXPECT_EQ(p.spec.network, "iptables");
  EXPECT_EQ(p.spec.accel, "tcg");
  EXPECT_EQ(p.setup.size(), 2u);  // the rest of the profile is untouched
}

TEST(ProfileEnvOverrides, UnsetAndEmptyVariablesChangeNothing) {
  Profile p = web_app();
  const Profile before = p;
  apply_env_overrides(p, fake({{"SMOLVM_PROFILE_VCPU_COUNT", ""}, {"OTHER", "1"}}));
  EXPECT_EQ(p.spec.vcpu_count, before.spec.vcpu_count);
  EXPECT_EQ(p.spec.mem_size_mib, before.spec.mem_size_mib);
  EXPECT_EQ(p.spec.network, before.spec.network);
}

TEST(ProfileEnvOverrides, AProfileThatRestoresASnapshotTakesNone) {
  Profile p = load_profile(PROFILE_EXAMPLES_DIR "/from-snapshot.yaml");
  ASSERT_EQ(p.snapshot, "warm-python");
  const Profile before = p;
  const testing::Failure f = failure_of([&] {
    apply_env_overrides(p, fake({{"SMOLVM_PROFILE_MEM_SIZE_MIB", "1024"}}));
  });
  EXPECT_EQ(f.status, SMOLVM_EINVAL);
  EXPECT_EQ(f.message,
            "SMOLVM_PROFILE_MEM_SIZE_MIB='1024': the profile restores snapshot 'warm-python', "
            "whose VM keeps the resources and backend it was saved with");
  EXPECT_EQ(p.spec.mem_size_mib, before.spec.mem_size_mib);
  apply_env_overrides(p, fake({{"SMOLVM_PROFILE_VCPU_COUNT", ""}}));  // unset: nothing to refuse
}

struct BadOverride {
  const char* variable;
  const char* value;
  const char* message;
};

class ProfileEnvRefusal : public ::testing::TestWithParam<BadOverride> {};

TEST_P(ProfileEnvRefusal, NamesTheVariableAndLeavesTheProfileAlone) {
  Profile p = web_app();
  Env env{{"SMOLVM_PROFILE_VCPU_COUNT", "3"}};
  env[GetParam().variable] = GetParam().value;
  const testing::Failure f = failure_of([&] { apply_env_overrides(p, fake(env)); });
  EXPECT_EQ(f.status, SMOLVM_EINVAL);
  EXPECT_EQ(f.message, GetParam().message);
  EXPECT_EQ(p.spec.vcpu_count, 2u);  // the good variable was not applied either
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ProfileEnvRefusal,
    ::testing::Values(
        BadOverride{"SMOLVM_PROFILE_MEM_SIZE_MIB", "64",
                    "SMOLVM_PROFILE_MEM_SIZE_MIB=64: must be 128..16384"},
        BadOverride{"SMOLVM_PROFILE_MEM_SIZE_MIB", "99999999999999999999",
                    "SMOLVM_PROFILE_MEM_SIZE_MIB=99999999999999999999: must be 128..16384"},
        BadOverride{"SMOLVM_PROFILE_MEM_SIZE_MIB", "1G",
                    "SMOLVM_PROFILE_MEM_SIZE_MIB='1G': must be a whole number"},
        BadOverride{"SMOLVM_PROFILE_VCPU_COUNT", "-1",
                    "SMOLVM_PROFILE_VCPU_COUNT='-1': must be a whole number"},
        BadOverride{"SMOLVM_PROFILE_DISK_MODE", "cow",
                    "SMOLVM_PROFILE_DISK_MODE='cow': must be one of isolated|shared"},
        BadOverride{"SMOLVM_PROFILE_VMM", "KVM",
                    "SMOLVM_PROFILE_VMM='KVM': must be auto or a plugin name of 1 to 32 lower-case "
                    "letters, digits and '_'"},
        BadOverride{"SMOLVM_PROFILE_EXECUTOR", "v-sock",
                    "SMOLVM_PROFILE_EXECUTOR='v-sock': must be auto or a plugin name of 1 to 32 "
                    "lower-case letters, digits and '_'"},
        BadOverride{"SMOLVM_PROFILE_NETWORK", "br0/1",
                    "SMOLVM_PROFILE_NETWORK='br0/1': must be auto or a plugin name of 1 to 32 "
                    "lower-case letters, digits and '_'"},
        BadOverride{"SMOLVM_PROFILE_ACCEL", "hvf",
                    "SMOLVM_PROFILE_ACCEL='hvf': must be one of auto|kvm|tcg"},
        // web-app.yaml forwards a port and sizes its disk.
        BadOverride{"SMOLVM_PROFILE_NETWORK", "none",
                    "SMOLVM_PROFILE_NETWORK='none': the profile forwards ports (network.ports), "
                    "which needs a network"},
        BadOverride{"SMOLVM_PROFILE_DISK_MODE", "shared",
                    "SMOLVM_PROFILE_DISK_MODE='shared': the profile sizes its disk "
                    "(disk.size_mib), which only an isolated disk can be"}));

}  // namespace
}  // namespace smolvm
