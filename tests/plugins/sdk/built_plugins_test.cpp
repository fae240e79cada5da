// Every plugin built in this tree, loaded with dlopen as the host loads it:
// its descriptor (ABI, version, vtable size) and its export list, which must
// be exactly its two entry points.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "smolvm/plugin.h"

namespace {

struct Built {
  std::string kind, name, file;
};

// SMOLVM_BUILT_PLUGINS: "smolvm-vmm-qemu,smolvm-store-sqlite,...", from the
// targets smolvm_add_plugin made.
std::vector<Built> built_plugins() {
  std::vector<Built> out;
  std::stringstream list(SMOLVM_BUILT_PLUGINS);
  std::string target;
  while (std::getline(list, target, ',')) {
    const std::string rest = target.substr(std::string("smolvm-").size());
    const auto dash = rest.find('-');
    out.push_back({rest.substr(0, dash), rest.substr(dash + 1),
                   std::string(SMOLVM_PLUGIN_BUILD_DIR) + "/" + target + ".so"});
  }
  return out;
}

size_t vtable_sizeof(uint32_t kind) {
  switch (kind) {
    case SMOLVM_PLUGIN_VMM:
      return sizeof(smolvm_vmm_vtable);
    case SMOLVM_PLUGIN_EXECUTOR:
      return sizeof(smolvm_executor_vtable);
    case SMOLVM_PLUGIN_NETWORK:
      return sizeof(smolvm_network_vtable);
    case SMOLVM_PLUGIN_STORE:
      return sizeof(smolvm_store_vtable);
  }
  return 0;
}

uint32_t kind_of(const std::string& name) {
  if (name == "vmm") return SMOLVM_PLUGIN_VMM;
  if (name == "executor") return SMOLVM_PLUGIN_EXECUTOR;
  if (name == "network") return SMOLVM_PLUGIN_NETWORK;
  if (name == "store") return SMOLVM_PLUGIN_STORE;
  return 0;
}

// The names in the object's dynamic symbol table that it defines.
std::set<std::string> defined_dynamic_symbols(const std::string& file) {
  const std::string cmd = std::string(SMOLVM_NM) + " -D --defined-only " + file + " 2>&1";
  std::set<std::string> names;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return names;
  char line[1024];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    std::istringstream fields(line);
    std::string a, b, c;
    fields >> a >> b >> c;
    names.insert(c.empty() ? b : c);  // "addr T name", or "T name" for absolute ones
  }
  EXPECT_EQ(pclose(p), 0) << cmd;
  return names;
}

TEST(BuiltPlugins, TheSevenInTreePluginsAreBuilt) {
  std::set<std::string> names;
  for (const Built& b : built_plugins()) names.insert(b.kind + "-" + b.name);
  // Firecracker's needs libcurl; every other one is always built.
  for (const char* always : {"vmm-qemu", "executor-agent", "executor-ssh", "network-nftables",
                             "network-iptables", "store-sqlite"}) {
    EXPECT_EQ(names.count(always), 1u) << always;
  }
}

TEST(BuiltPlugins, EachDescribesItselfForTheCurrentAbi) {
  for (const Built& b : built_plugins()) {
    SCOPED_TRACE(b.file);
    void* h = dlopen(b.file.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(h, nullptr) << dlerror();
    auto entry = reinterpret_cast<smolvm_plugin_entry_fn>(dlsym(h, SMOLVM_PLUGIN_ENTRY_SYMBOL));
    const std::string own_name = "smolvm_plugin_" + b.kind + "_" + b.name;
    auto named = reinterpret_cast<smolvm_plugin_entry_fn>(dlsym(h, own_name.c_str()));
    ASSERT_NE(entry, nullptr);
    ASSERT_NE(named, nullptr) << own_name;
    const smolvm_plugin_descriptor* d = entry();
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(named(), d) << "both entry points give the one descriptor";
    EXPECT_EQ(d->abi_major, static_cast<uint32_t>(SMOLVM_PLUGIN_ABI_MAJOR));
    EXPECT_EQ(d->abi_minor, static_cast<uint32_t>(SMOLVM_PLUGIN_ABI_MINOR));
    EXPECT_EQ(d->kind, kind_of(b.kind));
    EXPECT_EQ(std::string(d->name), b.name);
    ASSERT_NE(d->description, nullptr);
    EXPECT_GT(std::string(d->description).size(), 10u);
    ASSERT_NE(d->version, nullptr);
    EXPECT_EQ(std::string(d->version), SMOLVM_EXPECTED_VERSION);
    ASSERT_NE(d->vtable, nullptr);
    EXPECT_EQ(d->vtable_size, vtable_sizeof(d->kind));
    EXPECT_EQ(*static_cast<const size_t*>(d->vtable), d->vtable_size)
        << "the vtable's struct_size and the descriptor's vtable_size agree";
    if (d->kind == SMOLVM_PLUGIN_VMM) {
      // Both in-tree VMMs pause (QMP stop/cont, Firecracker's PATCH /vm).
      const auto* vt = static_cast<const smolvm_vmm_vtable*>(d->vtable);
      EXPECT_TRUE(SMOLVM_VMM_HAS(vt, pause));
      EXPECT_TRUE(SMOLVM_VMM_HAS(vt, resume));
      // QEMU saves and loads a VM's state (1.5); Firecracker does not yet,
      // and core refuses its snapshots saying so.
      EXPECT_EQ(SMOLVM_VMM_HAS(vt, save_state), b.name == "qemu");
      EXPECT_EQ(SMOLVM_VMM_HAS(vt, launch_restore), b.name == "qemu");
    }
    dlclose(h);
  }
}

TEST(BuiltPlugins, EachExportsItsTwoEntryPointsAndNothingElse) {
  for (const Built& b : built_plugins()) {
    SCOPED_TRACE(b.file);
    const std::set<std::string> expected = {"smolvm_plugin_entry",
                                            "smolvm_plugin_" + b.kind + "_" + b.name};
    EXPECT_EQ(defined_dynamic_symbols(b.file), expected);
  }
}

}  // namespace
