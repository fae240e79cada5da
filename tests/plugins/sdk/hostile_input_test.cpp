// Real plugins handed input that used to crash them: a NULL that a slot
// dereferenced, or one that made it throw through the C boundary. Each now
// returns an error naming the operation and the subject.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>

#include "smolvm/plugin.h"

namespace {

class Loaded {
 public:
  explicit Loaded(const std::string& file) {
    const std::string path = std::string(SMOLVM_PLUGIN_BUILD_DIR) + "/" + file;
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    EXPECT_NE(handle_, nullptr) << dlerror();
    if (handle_ == nullptr) return;
    auto entry =
        reinterpret_cast<smolvm_plugin_entry_fn>(dlsym(handle_, SMOLVM_PLUGIN_ENTRY_SYMBOL));
    vtable_ = entry()->vtable;
  }
  ~Loaded() {
    if (handle_) dlclose(handle_);
  }
  template <class T>
  const T& vt() const {
    return *static_cast<const T*>(vtable_);
  }

 private:
  void* handle_ = nullptr;
  const void* vtable_ = nullptr;
};

// teardown with no TAP name: the plugin builds a std::string from the NULL,
// which throws; the guard turns it into an error. (nft is asked to delete
// an empty element at most: nothing of any VM's is touched.)
TEST(HostileInput, ANetworkTeardownWithoutATapNameFailsInsteadOfThrowing) {
  for (const char* file : {"smolvm-network-nftables.so", "smolvm-network-iptables.so"}) {
    SCOPED_TRACE(file);
    Loaded p(file);
    const auto& vt = p.vt<smolvm_network_vtable>();
    smolvm_network_config cfg{};
    cfg.struct_size = sizeof cfg;
    cfg.vm_id = "hostile-vm";
    smolvm_plugin_error err{};
    EXPECT_EQ(vt.teardown(&cfg, &err), SMOLVM_ERROR);
    EXPECT_EQ(std::string(err.message).rfind("teardown 'hostile-vm': ", 0), 0u) << err.message;
    EXPECT_EQ(vt.setup(nullptr, &err), SMOLVM_EINVAL);
    EXPECT_STREQ(err.message, "setup: config: must not be NULL");
    EXPECT_EQ(vt.forward_remove(nullptr, &err), SMOLVM_EINVAL);
    EXPECT_STREQ(err.message, "forward_remove: forward: must not be NULL");
  }
}

// NULL config and instance used to be dereferenced.
TEST(HostileInput, AVmmGivenNullConfigOrInstanceSaysWhich) {
  Loaded p("smolvm-vmm-qemu.so");
  const auto& vt = p.vt<smolvm_vmm_vtable>();
  smolvm_plugin_error err{};
  void* inst = nullptr;
  EXPECT_EQ(vt.launch(&inst, nullptr, &err), SMOLVM_EINVAL);
  EXPECT_STREQ(err.message, "launch: config: must not be NULL");
  EXPECT_EQ(inst, nullptr);
  int fd = -1;
  EXPECT_EQ(vt.agent_connect(nullptr, &fd, 10, &err), SMOLVM_EINVAL);
  EXPECT_STREQ(err.message, "agent_connect: instance: must not be NULL");
  EXPECT_EQ(vt.pid(nullptr), -1);
  vt.release(nullptr);
  char small[4];
  EXPECT_EQ(vt.probe(small, sizeof small, &err), SMOLVM_EINVAL);
  EXPECT_NE(std::string(err.message).find("probe: probe JSON needs"), std::string::npos)
      << err.message;
}

TEST(HostileInput, AnExecutorGivenNullArgumentsSaysWhich) {
  for (const char* file : {"smolvm-executor-agent.so", "smolvm-executor-ssh.so"}) {
    SCOPED_TRACE(file);
    Loaded p(file);
    const auto& vt = p.vt<smolvm_executor_vtable>();
    smolvm_plugin_error err{};
    void* out = nullptr;
    EXPECT_EQ(vt.exec_start(&out, nullptr, nullptr, &err), SMOLVM_EINVAL);
    EXPECT_STREQ(err.message, "exec_start: conn: must not be NULL");
    EXPECT_EQ(vt.file_read(nullptr, "/etc/hostname", nullptr, nullptr, &err), SMOLVM_EINVAL);
    EXPECT_STREQ(err.message, "file_read '/etc/hostname': conn: must not be NULL");
    vt.exec_free(nullptr);
    vt.disconnect(nullptr);
  }
}

TEST(HostileInput, TheStoreNamesTheOperationAndTheId) {
  Loaded p("smolvm-store-sqlite.so");
  const auto& vt = p.vt<smolvm_store_vtable>();
  smolvm_plugin_error err{};
  EXPECT_EQ(vt.vm_delete(nullptr, "vm-123", &err), SMOLVM_EINVAL);
  EXPECT_STREQ(err.message, "vm_delete: store handle is NULL");
  vt.close(nullptr);
}

}  // namespace
