// The loader's refusals, each caused by a real shared object built with one
// defect (bad_plugins/bad_plugin.c).
#include "core/plugins/loader.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "core/common/error.h"
#include "core/plugins/backend_choice.h"

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
  EXPECT_EQ(p->version(), "0.0-test");
  EXPECT_EQ(p->vtable_size(), sizeof(smolvm_network_vtable));
}

// A plugin built against the 1.1 header loads in this newer host, which
// sees that the slots appended since (file_read_bounded, 1.2) are not
// there, though the memory past the vtable holds non-NULL pointers.
TEST(Loader, AcceptsAPluginBuiltForAnOlderMinorAndSeesOnlyItsSlots) {
  const std::string path = std::string(BAD_PLUGIN_DIR) + "/abi11/smolvm-executor-old11.so";
  auto p = load_plugin_file(path, SMOLVM_PLUGIN_EXECUTOR, "old11");
  EXPECT_EQ(p->descriptor().abi_minor, 1u);
  EXPECT_EQ(p->version(), "");  // 1.1 descriptors have no version field
  const auto& vt = p->vtable<smolvm_executor_vtable>();
  EXPECT_EQ(vt.struct_size, offsetof(smolvm_executor_vtable, file_read_bounded));
  EXPECT_FALSE(SMOLVM_EXECUTOR_HAS(&vt, file_read_bounded));
  EXPECT_FALSE(SMOLVM_EXECUTOR_HAS(&vt, file_write_bounded));
  EXPECT_TRUE(SMOLVM_EXECUTOR_HAS(&vt, file_read));
  // Its 1.1 slots work through the new vtable type.
  std::string got;
  smolvm_plugin_error err{};
  ASSERT_EQ(vt.file_read(
                nullptr, "/x",
                [](void* ctx, const uint8_t* d, size_t n) {
                  static_cast<std::string*>(ctx)->append(reinterpret_cast<const char*>(d), n);
                },
                &got, &err),
            0);
  EXPECT_EQ(got, "v1.1");
  void* self = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(self, nullptr);
  auto calls = reinterpret_cast<int (*)()>(dlsym(self, "old_plugin_calls_past_the_vtable"));
  ASSERT_NE(calls, nullptr);
  EXPECT_EQ(calls(), 0);
  dlclose(self);
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
  EXPECT_NE(msg.find(path_of("bad_small_vtable")), std::string::npos) << msg;
  EXPECT_NE(msg.find("network vtable is 4 bytes, plugin ABI " + host_abi() +
                     " (the minor it declares) needs at least " +
                     std::to_string(sizeof(smolvm_network_vtable))),
            std::string::npos)
      << msg;
}

TEST(Loader, RefusesADescriptorWhoseVtableSizeDisagrees) {
  const std::string msg = refusal("bad_vtable_size_mismatch");
  EXPECT_NE(
      msg.find("descriptor gives vtable_size " + std::to_string(sizeof(smolvm_network_vtable) + 8) +
               " but its vtable's struct_size is " + std::to_string(sizeof(smolvm_network_vtable))),
      std::string::npos)
      << msg;
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

TEST(Registry, UsesAPluginLinkedIntoTheProgramBeforeAnyFolder) {
  PluginRegistry reg("");
  const auto& p = reg.get(SMOLVM_PLUGIN_NETWORK, "builtin_net");
  EXPECT_EQ(p.version(), "2.5.0");
  EXPECT_EQ(p.path(), "(built in: smolvm_plugin_network_builtin_net)");
}

TEST(Registry, ReportsEveryPluginFileWithItsVersionOrWhyItIsRefused) {
  const std::string dir = ::testing::TempDir() + "/inspect_plugins";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(path_of("good"), dir + "/smolvm-network-testnet.so");
  std::filesystem::copy_file(path_of("good"), dir + "/smolvm-network-misnamed.so");
  std::filesystem::copy_file(path_of("bad_major"), dir + "/smolvm-network-major.so");
  PluginRegistry reg(dir + ":" + SMOLVM_PLUGIN_BUILD_DIR);
  std::map<std::string, PluginReport> by_file;
  for (const auto& r : reg.inspect_all()) {
    by_file[std::filesystem::path(r.path).filename().string() + "@" +
            std::filesystem::path(r.path).parent_path().string()] = r;
  }
  const auto& good = by_file.at("smolvm-network-testnet.so@" + dir);
  EXPECT_EQ(good.error, "");
  EXPECT_EQ(good.kind, "network");
  EXPECT_EQ(good.version, "0.0-test");
  EXPECT_EQ(good.abi, host_abi());
  EXPECT_EQ(good.description, "test plugin");
  EXPECT_NE(by_file.at("smolvm-network-misnamed.so@" + dir)
                .error.find("must be named smolvm-network-testnet.so"),
            std::string::npos);
  EXPECT_NE(by_file.at("smolvm-network-major.so@" + dir).error.find("major versions differ"),
            std::string::npos);
  const auto& qemu = by_file.at(std::string("smolvm-vmm-qemu.so@") + SMOLVM_PLUGIN_BUILD_DIR);
  EXPECT_EQ(qemu.error, "");
  EXPECT_EQ(qemu.version, SMOLVM_VERSION_STRING);
  EXPECT_FALSE(qemu.description.empty());
  std::filesystem::remove_all(dir);
}

// auto takes the available plugin whose probe ranks highest, whatever its
// name; an unavailable one is never chosen, however it ranks.
TEST(Registry, AutoTakesTheHighestRankedAvailablePlugin) {
  PluginRegistry reg(std::string(BAD_PLUGIN_DIR) + "/ranked");
  EXPECT_EQ(choose_auto_backend(reg, SMOLVM_PLUGIN_NETWORK), "high");
  const BackendProbe absent = probe_backend(reg.get(SMOLVM_PLUGIN_NETWORK, "best_but_absent"));
  EXPECT_FALSE(absent.available);
  EXPECT_EQ(absent.rank, 99);
  EXPECT_EQ(probe_backend(reg.get(SMOLVM_PLUGIN_NETWORK, "low")).rank, 5);
  EXPECT_EQ(choose_auto_backend(reg, SMOLVM_PLUGIN_VMM), "");
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
