// The loader's refusals, each caused by a real shared object built with one
// defect (bad_plugins/bad_plugin.c).
#include "core/plugins/loader.h"

#include <gtest/gtest.h>

#include "core/common/error.h"

namespace smolvm {
namespace {

std::string path_of(const char* variant) {
  return std::string(BAD_PLUGIN_DIR) + "/" + variant + ".so";
}

std::string refusal(const char* variant, uint32_t kind = SMOLVM_PLUGIN_NETWORK,
                    const std::string& name = "testnet") {
  try {
    load_plugin_file(path_of(variant), kind, name);
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_EPLUGIN);
    return e.what();
  }
  return "";
}

TEST(Loader, AcceptsAGoodPlugin) {
  auto p = load_plugin_file(path_of("good"), SMOLVM_PLUGIN_NETWORK, "testnet");
  EXPECT_EQ(p->name(), "testnet");
  EXPECT_EQ(p->descriptor().abi_major, uint32_t{SMOLVM_PLUGIN_ABI_MAJOR});
}

std::string host_abi() {
  return std::to_string(SMOLVM_PLUGIN_ABI_MAJOR) + "." + std::to_string(SMOLVM_PLUGIN_ABI_MINOR);
}

TEST(Loader, RefusesMajorMismatchNamingFileAndVersions) {
  const std::string msg = refusal("bad_major");
  EXPECT_NE(msg.find(path_of("bad_major")), std::string::npos) << msg;
  EXPECT_NE(msg.find("plugin ABI 2.0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("speaks " + host_abi()), std::string::npos) << msg;
  EXPECT_NE(msg.find("major versions differ"), std::string::npos) << msg;
}

TEST(Loader, RefusesNewerMinor) {
  const std::string msg = refusal("bad_minor");
  EXPECT_NE(msg.find("plugin ABI 1." + std::to_string(SMOLVM_PLUGIN_ABI_MINOR + 1)),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("newer than this SmolVM's " + host_abi()), std::string::npos) << msg;
}

TEST(Loader, RefusesMissingMandatorySlot) {
  const std::string msg = refusal("bad_missing_slot");
  EXPECT_NE(msg.find("lacks mandatory slot 'probe'"), std::string::npos) << msg;
}

TEST(Loader, RefusesTooSmallVtable) {
  const std::string msg = refusal("bad_small_vtable");
  EXPECT_NE(msg.find("vtable is 4 bytes"), std::string::npos) << msg;
}

TEST(Loader, RefusesObjectWithoutEntryPoint) {
  const std::string msg = refusal("bad_no_entry");
  EXPECT_NE(msg.find("no 'smolvm_plugin_entry' entry point"), std::string::npos) << msg;
}

TEST(Loader, RefusesNullDescriptor) {
  EXPECT_NE(refusal("bad_null_descriptor").find("returned no descriptor"), std::string::npos);
}

TEST(Loader, RefusesNamelessPlugin) {
  EXPECT_NE(refusal("bad_no_name").find("descriptor has no name"), std::string::npos);
}

TEST(Loader, RefusesWrongKindAndName) {
  EXPECT_NE(refusal("good", SMOLVM_PLUGIN_VMM).find("is a network plugin, expected vmm"),
            std::string::npos);
  EXPECT_NE(refusal("good", SMOLVM_PLUGIN_NETWORK, "other").find("expected 'other'"),
            std::string::npos);
}

TEST(Loader, RefusesMissingFileWithDlerror) {
  const std::string msg = refusal("does_not_exist");
  EXPECT_NE(msg.find("cannot load"), std::string::npos) << msg;
}

TEST(Registry, FindsTheBuiltPluginsAndNamesTheSearchPathWhenMissing) {
  PluginRegistry reg(SMOLVM_PLUGIN_BUILD_DIR);
  EXPECT_EQ(reg.get(SMOLVM_PLUGIN_STORE, "sqlite").name(), "sqlite");
  EXPECT_EQ(reg.get(SMOLVM_PLUGIN_VMM, "qemu").name(), "qemu");
  const auto vmms = reg.available(SMOLVM_PLUGIN_VMM);
  EXPECT_NE(std::find(vmms.begin(), vmms.end(), "qemu"), vmms.end());
  try {
    reg.get(SMOLVM_PLUGIN_VMM, "nosuch");
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("vmm plugin 'nosuch' not found"), std::string::npos) << msg;
    EXPECT_NE(msg.find(SMOLVM_PLUGIN_BUILD_DIR), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace smolvm
