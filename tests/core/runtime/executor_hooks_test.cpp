// The executor's VM hooks (plugin ABI 1.4) as core calls them: a plugin
// built with the SDK and the hooks (hook_executor.cpp) is handed the VM and
// its data, and what it sets is kept; one built against the 1.3 header
// (tests/core/old_plugins/executor_abi_1_3.c) loads and is never called for
// them. Then through the runtime: create keeps the data and rolls back a
// failing hook, start leaves a VM whose vm_booting fails as it was.
#include "core/runtime/executor_hooks.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "core/common/error.h"
#include "core/runtime/runtime.h"
#include "core/state/vm_writer.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

VmRecord sample_vm() {
  VmRecord rec;
  rec.id = "h1";
  rec.spec.disk_mode = "shared";
  rec.runtime.vm_dir = "/s/vms/h1";
  rec.runtime.lease.ip = "172.16.0.9";
  rec.runtime.executor = "hooktest";
  rec.runtime.executor_data = {{"kept", 1}};
  return rec;
}

std::unique_ptr<LoadedPlugin> hooktest() {
  return load_plugin_file(std::string(HOOK_PLUGIN_DIR) + "/smolvm-executor-hooktest.so",
                          SMOLVM_PLUGIN_EXECUTOR, "hooktest");
}

std::string no_reader(const std::string&, size_t, uint32_t) {
  ADD_FAILURE() << "no guest file is read here";
  return "";
}

TEST(ExecutorHooks, APluginBuiltFor13LoadsAndIsNeverCalledForTheHooks) {
  const std::string path = std::string(OLD_PLUGIN_DIR) + "/smolvm-executor-old13.so";
  auto p = load_plugin_file(path, SMOLVM_PLUGIN_EXECUTOR, "old13");
  EXPECT_EQ(p->descriptor().abi_minor, 3u);
  const auto& vt = p->vtable<smolvm_executor_vtable>();
  EXPECT_EQ(vt.struct_size, offsetof(smolvm_executor_vtable, vm_created));
  EXPECT_TRUE(SMOLVM_EXECUTOR_HAS(&vt, probe));
  EXPECT_FALSE(SMOLVM_EXECUTOR_HAS(&vt, vm_created));
  EXPECT_FALSE(SMOLVM_EXECUTOR_HAS(&vt, vm_booting));
  EXPECT_FALSE(SMOLVM_EXECUTOR_HAS(&vt, vm_ready));

  const VmRecord rec = sample_vm();
  for (const ExecutorHookResult& r : {executor_vm_created(*p, rec), executor_vm_booting(*p, rec),
                                      executor_vm_ready(*p, rec, no_reader)}) {
    EXPECT_FALSE(r.called);
    EXPECT_EQ(r.data, rec.runtime.executor_data);
    EXPECT_EQ(r.boot_args, "");
  }
  void* self = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(self, nullptr);
  auto calls = reinterpret_cast<int (*)()>(dlsym(self, "old13_calls_past_the_vtable"));
  ASSERT_NE(calls, nullptr);
  EXPECT_EQ(calls(), 0);
  dlclose(self);
}

TEST(ExecutorHooks, EachHookIsHandedTheVmAndWhatItSetsIsKept) {
  auto p = hooktest();
  VmRecord rec = sample_vm();
  const ExecutorHookResult created = executor_vm_created(*p, rec);
  EXPECT_TRUE(created.called);
  EXPECT_EQ(created.data["kept"], 1);  // it was handed the data it had
  EXPECT_EQ(created.data["created"], nlohmann::json({{"vm_id", "h1"},
                                                     {"vm_dir", "/s/vms/h1"},
                                                     {"disk_mode", "shared"},
                                                     {"guest_ip", "172.16.0.9"},
                                                     {"reader", false}}));

  rec.runtime.executor_data = created.data;
  const ExecutorHookResult booting = executor_vm_booting(*p, rec);
  EXPECT_EQ(booting.boot_args, "hooktest.disk=shared");
  EXPECT_EQ(booting.data["boots"], 1);
  EXPECT_EQ(booting.data["kept"], 1);

  rec.runtime.executor_data = booting.data;
  std::string asked;
  size_t asked_max = 0;
  const ExecutorHookResult ready =
      executor_vm_ready(*p, rec, [&](const std::string& path, size_t max, uint32_t timeout_ms) {
        asked = path;
        asked_max = max;
        EXPECT_EQ(timeout_ms, 1000u);
        return std::string("guest-h1\n");
      });
  EXPECT_EQ(asked, "/etc/hostname");
  EXPECT_EQ(asked_max, 4096u);
  EXPECT_EQ(ready.data["ready_read"], "guest-h1\n");
  EXPECT_EQ(ready.data["boots"], 1);
}

TEST(ExecutorHooks, AFailingHookOrReadIsAnErrorNamingTheExecutorAndHook) {
  auto p = hooktest();
  VmRecord rec = sample_vm();
  rec.id = "fail1";
  try {
    executor_vm_created(*p, rec);
    ADD_FAILURE() << "vm_created should have failed";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_EIO);
    EXPECT_EQ(std::string(e.what()),
              "executor 'hooktest' vm_created: vm_created 'fail1': refused on purpose");
  }
  rec = sample_vm();
  rec.runtime.executor_data["read"] = "/etc/missing";
  try {
    executor_vm_ready(*p, rec, [](const std::string& path, size_t, uint32_t) -> std::string {
      fail(SMOLVM_ENOTFOUND, "cannot read " + path + ": no such file");
    });
    ADD_FAILURE() << "vm_ready should have failed";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_ENOTFOUND);
    EXPECT_NE(std::string(e.what()).find("cannot read /etc/missing: no such file"),
              std::string::npos)
        << e.what();
  }
}

TEST(ExecutorHooks, SetDataTakesOnlyABoundedJsonObject) {
  auto p = hooktest();
  VmRecord rec = sample_vm();
  for (const std::string bad : {"[1, 2]", "not json", "\"text\""}) {
    rec.runtime.executor_data = {{"set", bad}};
    try {
      executor_vm_booting(*p, rec);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), SMOLVM_EINVAL) << bad;
      EXPECT_NE(std::string(e.what()).find("data_json must be a JSON object"), std::string::npos)
          << e.what();
    }
  }
  rec.runtime.executor_data = {
      {"set", "{\"a\":\"" + std::string(SMOLVM_EXECUTOR_DATA_MAX, 'x') + "\"}"}};
  try {
    executor_vm_booting(*p, rec);
    ADD_FAILURE() << "oversized data was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_EINVAL);
    EXPECT_NE(std::string(e.what()).find("at most 65536 are allowed"), std::string::npos)
        << e.what();
  }
  // A read larger than the plugin's buffer is refused by the reader with
  // the plugin's cap as its bound.
  rec.runtime.executor_data = {{"cap", 8}};
  size_t asked_max = 0;
  executor_vm_ready(*p, rec, [&](const std::string&, size_t max, uint32_t) {
    asked_max = max;
    return std::string("12345678");
  });
  EXPECT_EQ(asked_max, 8u);
}

class RuntimeHooks : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/svhook-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::ofstream(dir_ + "/vmlinux") << "kernel";
    std::ofstream(dir_ + "/rootfs.ext4") << std::string(1 << 20, '\0');
    opts_.state_dir = dir_ + "/state";
    opts_.cache_dir = dir_ + "/cache";
    opts_.plugin_path = std::string(HOOK_PLUGIN_DIR) + ":" + SMOLVM_PLUGIN_BUILD_DIR;
    rt_ = std::make_unique<Runtime>(opts_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  VmSpec spec(const std::string& id) {
    VmSpec s;
    s.vm_id = id;
    s.kernel_path = dir_ + "/vmlinux";
    s.rootfs_path = dir_ + "/rootfs.ext4";
    s.executor = "hooktest";
    s.network = "none";
    s.disk_mode = "shared";
    return s;
  }
  std::string dir_;
  RuntimeOptions opts_;
  std::unique_ptr<Runtime> rt_;
};

TEST_F(RuntimeHooks, CreateStoresWhatVmCreatedSetAndRollsBackWhenItFails) {
  const VmRecord rec = rt_->create(spec("h2"));
  EXPECT_EQ(rt_->store().get("h2").runtime.executor_data["created"]["vm_dir"], rec.runtime.vm_dir);
  EXPECT_EQ(rec.runtime.executor_data["created"]["vm_id"], "h2");

  try {
    rt_->create(spec("fail2"));
    ADD_FAILURE() << "create should have failed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("refused on purpose"), std::string::npos) << e.what();
  }
  EXPECT_THROW(rt_->store().get("fail2"), Error);
  EXPECT_FALSE(fs::exists(opts_.state_dir + "/vms/fail2"));
}

TEST_F(RuntimeHooks, AFailingVmBootingLeavesTheVmAsItWas) {
  rt_->create(spec("h3"));
  update_record(rt_->store(), "h3",
                [](VmRecord& r) { r.runtime.executor_data["fail_booting"] = true; });
  try {
    rt_->start("h3");
    ADD_FAILURE() << "start should have failed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("executor 'hooktest' vm_booting"), std::string::npos)
        << e.what();
  }
  const VmRecord after = rt_->store().get("h3");
  EXPECT_EQ(after.state, "created");
  EXPECT_EQ(after.runtime.boot_args, "");
  EXPECT_FALSE(after.runtime.executor_data.contains("boots"));
}

}  // namespace
}  // namespace smolvm
