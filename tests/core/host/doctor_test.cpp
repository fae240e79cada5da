// `smolvm doctor` (core/host/doctor) with the real plugins built here, a
// real cache folder with and without an image, and a plugin file that is
// refused: every check is shaped alike, and each failure says how to fix it.
#include "core/host/doctor.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/host/host_probe.h"
#include "core/plugins/loader.h"
#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

nlohmann::json check_named(const nlohmann::json& report, const std::string& name) {
  for (const auto& c : report["checks"]) {
    if (c["name"] == name) return c;
  }
  ADD_FAILURE() << "no check " << name << " in " << report["checks"].dump();
  return nlohmann::json::object();
}

class Doctor : public ::testing::Test {
 protected:
  nlohmann::json run(const std::string& plugin_dirs = SMOLVM_PLUGIN_BUILD_DIR) {
    PluginRegistry plugins(plugin_dirs);
    return run_doctor(plugins, dir_ / "state", dir_ / "cache");
  }
  test::TempDir dir_;
};

TEST_F(Doctor, EveryCheckHasItsFieldsAndAFixExactlyWhenItFails) {
  const nlohmann::json report = run();
  ASSERT_TRUE(report["checks"].is_array());
  ASSERT_GT(report["checks"].size(), 5u);
  bool required_failed = false;
  for (const auto& c : report["checks"]) {
    ASSERT_TRUE(c["name"].is_string()) << c.dump();
    ASSERT_TRUE(c["ok"].is_boolean()) << c.dump();
    ASSERT_TRUE(c["required"].is_boolean()) << c.dump();
    ASSERT_TRUE(c["message"].is_string()) << c.dump();
    EXPECT_FALSE(c["message"].get<std::string>().empty()) << c.dump();
    EXPECT_EQ(c["fix"].get<std::string>().empty(), c["ok"].get<bool>()) << c.dump();
    if (c["required"].get<bool>() && !c["ok"].get<bool>()) required_failed = true;
  }
  EXPECT_EQ(report["ok"].get<bool>(), !required_failed);
  EXPECT_EQ(report["state_dir"], dir_ / "state");
  EXPECT_EQ(report["cache_dir"], dir_ / "cache");
}

TEST_F(Doctor, KvmAndAccelAreTheProbes) {
  const nlohmann::json report = run();
  const KvmProbe kvm = probe_kvm();
  EXPECT_EQ(report["kvm"]["kind"], kvm.kind);
  EXPECT_EQ(report["accel"], kvm.usable ? "kvm" : "tcg");
  const auto c = check_named(report, "kvm");
  EXPECT_EQ(c["ok"], kvm.usable);
  EXPECT_FALSE(c["required"].get<bool>()) << "TCG runs VMs where KVM does not";
  EXPECT_EQ(check_named(report, "cap_net_admin")["ok"], has_cap_net_admin());
}

TEST_F(Doctor, AMissingImageFailsTheReportAndSaysHowToBuildIt) {
  const nlohmann::json report = run();
  const auto c = check_named(report, "image");
  EXPECT_FALSE(c["ok"].get<bool>());
  EXPECT_TRUE(c["required"].get<bool>());
  EXPECT_NE(c["message"].get<std::string>().find(dir_ / "cache"), std::string::npos) << c.dump();
  EXPECT_EQ(c["fix"].get<std::string>().rfind("smolvm image build", 0), 0u) << c.dump();
  EXPECT_FALSE(report["ok"].get<bool>());
}

TEST_F(Doctor, AnImageInTheCacheIsFoundAndReported) {
  dir_.write("cache/images/default/vmlinux", "kernel");
  dir_.write("cache/images/default/rootfs.ext4", "rootfs");
  const nlohmann::json report = run();
  EXPECT_TRUE(check_named(report, "image")["ok"].get<bool>());
  EXPECT_EQ(report["image"]["kernel"], dir_ / "cache/images/default/vmlinux");
  EXPECT_EQ(report["image"]["rootfs"], dir_ / "cache/images/default/rootfs.ext4");
}

TEST_F(Doctor, EachBuiltBackendHasALineAndAutoIsOneOfThem) {
  const nlohmann::json report = run();
  for (const char* kind : {"vmm", "executor", "network"}) {
    ASSERT_TRUE(report[kind].is_object()) << kind;
    for (const auto& [name, probe] : report[kind].items()) {
      // report["network"] also holds the host's own network facts.
      if (!probe.is_object()) continue;
      const auto c = check_named(report, std::string(kind) + " " + name);
      EXPECT_FALSE(c["required"].get<bool>()) << c.dump();
    }
    const std::string chosen = report[std::string(kind) + "_auto"];
    if (!chosen.empty()) {
      EXPECT_TRUE(report[kind].contains(chosen)) << kind << "=" << chosen;
    }
  }
  EXPECT_TRUE(report["vmm"].contains("qemu"));
  EXPECT_TRUE(report["executor"].contains("agent"));
  // The agent needs nothing of the host: auto always has an executor.
  EXPECT_FALSE(report["executor_auto"].get<std::string>().empty());
  const auto vmm = check_named(report, "vmm");
  EXPECT_TRUE(vmm["required"].get<bool>());
  EXPECT_EQ(vmm["ok"].get<bool>(), !report["vmm_auto"].get<std::string>().empty());
}

TEST_F(Doctor, ARefusedPluginFileIsNamedWithItsReason) {
  const std::string bad_dir = dir_ / "plugins";
  std::filesystem::create_directories(bad_dir);
  std::filesystem::copy_file(BAD_MAJOR_PLUGIN, bad_dir + "/smolvm-network-badmajor.so");
  const nlohmann::json report = run(bad_dir + ":" + SMOLVM_PLUGIN_BUILD_DIR);
  const auto c = check_named(report, "plugins");
  EXPECT_FALSE(c["ok"].get<bool>());
  EXPECT_FALSE(c["required"].get<bool>()) << "the other plugins still work";
  EXPECT_NE(c["message"].get<std::string>().find("smolvm-network-badmajor.so"), std::string::npos)
      << c.dump();
  EXPECT_NE(c["fix"].get<std::string>().find("SMOLVM_PLUGIN_PATH"), std::string::npos);
  EXPECT_TRUE(check_named(run(), "plugins")["ok"].get<bool>()) << "the built plugins all load";
}

}  // namespace
}  // namespace smolvm
