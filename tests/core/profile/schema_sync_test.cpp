// The schema and the C++ loader must agree. The corpus test compares their
// verdicts on documents; this one compares the numbers and names themselves:
// every range and enum in schemas/vm-profile.schema.json against VmSpec's
// validate() and the loader's limits.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/profile/profile.h"

namespace smolvm {
namespace {

using nlohmann::json;

json schema() {
  std::ifstream in(PROFILE_SCHEMA);
  return json::parse(in);
}

const json& prop(const json& s, const std::string& section, const std::string& key) {
  return s.at("properties").at(section).at("properties").at(key);
}

// The message validate() gives when `field` alone is bad.
std::string vmspec_rule(std::string VmSpec::*field) {
  VmSpec spec;
  spec.vm_id = "x";
  spec.*field = "no-such-value";
  try {
    validate(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string joined(const json& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : "|") + v.get<std::string>();
  return out;
}

TEST(ProfileSchemaSync, RangesMatchVmSpec) {
  const json s = schema();
  auto expect_range = [&](const json& p, uint32_t lo, uint32_t hi) {
    EXPECT_EQ(p.at("minimum").get<uint32_t>(), lo) << p;
    EXPECT_EQ(p.at("maximum").get<uint32_t>(), hi) << p;
    // expect_spec_uint maps values outside uint32 to 0 or UINT32_MAX and
    // relies on both being out of range.
    EXPECT_GT(lo, 0u);
    EXPECT_LT(hi, std::numeric_limits<uint32_t>::max());
  };
  expect_range(prop(s, "resources", "vcpu_count"), kVcpuMin, kVcpuMax);
  expect_range(prop(s, "resources", "mem_size_mib"), kMemMin, kMemMax);
  expect_range(prop(s, "boot", "timeout_s"), 1, kBootTimeoutMax);
  expect_range(prop(s, "disk", "size_mib"), kDiskMinMib, kDiskMaxMib);
  expect_range(s.at("$defs").at("port").at("properties").at("guest"), 1, kPortMax);
  // The lifetimes allow 0 ("no limit").
  for (const char* key : {"ttl_s", "idle_timeout_s"}) {
    EXPECT_EQ(prop(s, "lifetime", key).at("minimum"), 0) << key;
    EXPECT_EQ(prop(s, "lifetime", key).at("maximum"), kLifetimeMax) << key;
  }
}

TEST(ProfileSchemaSync, DefaultsMatchVmSpec) {
  const json s = schema();
  const VmSpec d;
  EXPECT_EQ(prop(s, "resources", "vcpu_count").at("default"), d.vcpu_count);
  EXPECT_EQ(prop(s, "resources", "mem_size_mib").at("default"), d.mem_size_mib);
  EXPECT_EQ(prop(s, "boot", "timeout_s").at("default"), d.boot_timeout_s);
  EXPECT_EQ(prop(s, "boot", "mode").at("default"), d.boot);
  EXPECT_EQ(prop(s, "disk", "mode").at("default"), d.disk_mode);
  EXPECT_EQ(prop(s, "backend", "vmm").at("default"), d.vmm);
  EXPECT_EQ(prop(s, "backend", "executor").at("default"), d.executor);
  EXPECT_EQ(prop(s, "backend", "network").at("default"), d.network);
  EXPECT_EQ(prop(s, "backend", "accel").at("default"), d.accel);
  EXPECT_EQ(prop(s, "lifetime", "ttl_s").at("default"), d.ttl_s);
  EXPECT_EQ(prop(s, "lifetime", "idle_timeout_s").at("default"), d.idle_timeout_s);
  EXPECT_EQ(prop(s, "lifetime", "on_ttl").at("default"), d.on_ttl);
  EXPECT_EQ(prop(s, "lifetime", "on_idle").at("default"), d.on_idle);
  const PortSpec port;
  const json& ports = s.at("$defs").at("port").at("properties");
  EXPECT_EQ(ports.at("host_addr").at("default"), port.host_addr);
  EXPECT_EQ(ports.at("protocol").at("default"), port.protocol);
}

TEST(ProfileSchemaSync, EnumsMatchVmSpec) {
  const json s = schema();
  struct Case {
    const json& values;
    std::string VmSpec::*field;
    const char* name;
  };
  for (const Case& c :
       {Case{prop(s, "disk", "mode").at("enum"), &VmSpec::disk_mode, "disk_mode"},
        Case{prop(s, "backend", "accel").at("enum"), &VmSpec::accel, "accel"},
        Case{prop(s, "lifetime", "on_ttl").at("enum"), &VmSpec::on_ttl, "on_ttl"},
        Case{prop(s, "lifetime", "on_idle").at("enum"), &VmSpec::on_idle, "on_idle"}}) {
    EXPECT_EQ(vmspec_rule(c.field),
              std::string(c.name) + "='no-such-value': must be one of " + joined(c.values));
  }
}

// Backends are plugins, so the schema gives the syntax of a plugin name and
// VmSpec refuses what does not match it.
TEST(ProfileSchemaSync, BackendNamesArePluginNamesInBoth) {
  const json s = schema();
  for (const char* field : {"vmm", "executor", "network"}) {
    EXPECT_EQ(prop(s, "backend", field).at("pattern"), "^[a-z0-9_]{1,32}$") << field;
  }
  EXPECT_NE(vmspec_rule(&VmSpec::vmm).find("must be auto or a plugin name of 1 to 32"),
            std::string::npos);
  VmSpec ok;
  ok.vm_id = "a";
  ok.vmm = std::string(32, 'a');
  ok.network = "my_net2";
  EXPECT_NO_THROW(validate(ok));
  ok.vmm = std::string(33, 'a');
  EXPECT_THROW(validate(ok), Error);
}

TEST(ProfileSchemaSync, IdPatternIsVmSpecs) {
  const std::string pattern = schema().at("properties").at("id").at("pattern");
  EXPECT_EQ(pattern, "^[a-z0-9][a-z0-9-]{0,62}$");
  EXPECT_TRUE(is_valid_vm_id(std::string(63, 'a')));
  EXPECT_FALSE(is_valid_vm_id(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_vm_id("-a"));
}

TEST(ProfileSchemaSync, ListLimitsMatchTheLoader) {
  const json s = schema();
  EXPECT_EQ(s.at("properties").at("network").at("properties").at("ports").at("maxItems"),
            kProfileMaxPorts);
  EXPECT_EQ(s.at("properties").at("setup").at("maxItems"), kProfileMaxSetup);
  EXPECT_EQ(s.at("properties").at("env").at("maxProperties"), kProfileMaxEnv);
}

TEST(ProfileSchemaSync, StringLimitsMatchTheLoader) {
  const json s = schema();
  const json& env = s.at("properties").at("env");
  EXPECT_EQ(s.at("$defs").at("path").at("maxLength"), kProfileMaxPathChars);
  EXPECT_EQ(env.at("propertyNames").at("maxLength"), kProfileMaxEnvNameChars);
  EXPECT_EQ(env.at("additionalProperties").at("maxLength"), kProfileMaxEnvValueChars);
  EXPECT_EQ(s.at("properties").at("setup").at("items").at("maxLength"), kProfileMaxCommandChars);
  // boot.args: VmSpec's own limit (validate() says "at most 2048 characters").
  EXPECT_EQ(s.at("properties").at("boot").at("properties").at("args").at("maxLength"), 2048);
}

}  // namespace
}  // namespace smolvm
