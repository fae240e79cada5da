// `smolvm plugins` and doctor's plugin check load every plugin file in the
// search path: the built plugins with their versions, and a real plugin
// built for another ABI major (tests/core/plugins/bad_plugins) named with its reason.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_fixture.h"

namespace {

class CliPlugins : public CliTest {
 protected:
  // A plugin folder, searched first, holding one plugin that is refused.
  std::string folder_with_a_refused_plugin() const {
    const std::string dir = dir_ + "/plugins";
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(BAD_MAJOR_PLUGIN, dir + "/smolvm-network-future.so");
    return "SMOLVM_PLUGIN_PATH='" + dir + "'";
  }
};

TEST_F(CliPlugins, ListsEachBuiltPluginWithItsVersionAndAbi) {
  const CliResult r = cli("plugins");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("KIND      NAME         VERSION   ABI  PATH"), std::string::npos)
      << r.output;
  for (const char* name : {"qemu ", "agent ", "sqlite ", "nftables "}) {
    EXPECT_NE(r.output.find(name), std::string::npos) << name << "\n" << r.output;
  }
  EXPECT_NE(r.output.find(std::string(SMOLVM_VERSION_STRING) + "     1."), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("refused"), std::string::npos) << r.output;
}

TEST_F(CliPlugins, NamesARefusedPluginAndWhyAndExitsNonZero) {
  const CliResult r = cli("plugins", folder_with_a_refused_plugin());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("smolvm-network-future.so"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("refused: plugin "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("major versions differ"), std::string::npos) << r.output;
  // The good ones are still listed.
  EXPECT_NE(r.output.find("qemu "), std::string::npos) << r.output;
}

TEST_F(CliPlugins, JsonCarriesEveryFieldAndTheSearchPath) {
  const CliResult r = cli("plugins --json", folder_with_a_refused_plugin());
  EXPECT_EQ(r.code, 1) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["search_path"][0], dir_ + "/plugins");
  bool saw_qemu = false, saw_refused = false;
  for (const auto& p : j["plugins"]) {
    if (p["name"] == "qemu") {
      saw_qemu = true;
      EXPECT_EQ(p["kind"], "vmm");
      EXPECT_EQ(p["version"], SMOLVM_VERSION_STRING);
      EXPECT_GT(p["vtable_size"].get<size_t>(), 0u);
      EXPECT_EQ(p["error"], "");
    }
    if (p["path"].get<std::string>().find("future") != std::string::npos) {
      saw_refused = true;
      EXPECT_NE(p["error"].get<std::string>().find("plugin ABI 2.0"), std::string::npos);
    }
  }
  EXPECT_TRUE(saw_qemu && saw_refused) << r.output;
}

TEST_F(CliPlugins, DoctorWarnsAboutARefusedPlugin) {
  const CliResult r = cli("doctor", folder_with_a_refused_plugin());
  EXPECT_NE(r.output.find("[warn] plugins: 7 plugins load; refused: plugin "), std::string::npos)
      << r.output;
  const CliResult ok = cli("doctor");
  EXPECT_NE(ok.output.find("[ok]   plugins: 7 plugins load"), std::string::npos) << ok.output;
}

}  // namespace
