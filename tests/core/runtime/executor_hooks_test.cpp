// The executor's VM hooks (plugin ABI 1.4) as core calls them: a plugin
// built with the SDK and the hooks (hook_executor.cpp) is handed the VM and
// its data, and what it sets is kept; one built against the 1.3 header
// (tests/core/plugins/old_plugins/executor_abi_1_3.c) loads and is never
// called for them. Through the runtime (create, start): runtime_test.cpp.
#include "core/runtime/executor_hooks.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include "core/common/error.h"
#include "tests/support/failure.h"

namespace smolvm {
namespace {

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
  const std::string path = std::string(BAD_PLUGIN_DIR) + "/abi13/smolvm-executor-old13.so";
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
  const test::Failure created = test::failure_of([&] { executor_vm_created(*p, rec); });
  EXPECT_EQ(created.status, SMOLVM_EIO);
  EXPECT_EQ(created.message,
            "executor 'hooktest' vm_created: vm_created 'fail1': refused on purpose");
  rec = sample_vm();
  rec.runtime.executor_data["read"] = "/etc/missing";
  const test::Failure ready = test::failure_of([&] {
    executor_vm_ready(*p, rec, [](const std::string& path, size_t, uint32_t) -> std::string {
      fail(SMOLVM_ENOTFOUND, "cannot read " + path + ": no such file");
    });
  });
  EXPECT_EQ(ready.status, SMOLVM_ENOTFOUND);
  EXPECT_NE(ready.message.find("cannot read /etc/missing: no such file"), std::string::npos)
      << ready.message;
}

TEST(ExecutorHooks, SetDataTakesOnlyABoundedJsonObject) {
  auto p = hooktest();
  VmRecord rec = sample_vm();
  for (const std::string bad : {"[1, 2]", "not json", "\"text\""}) {
    rec.runtime.executor_data = {{"set", bad}};
    const test::Failure f = test::failure_of([&] { executor_vm_booting(*p, rec); });
    EXPECT_EQ(f.status, SMOLVM_EINVAL) << bad;
    EXPECT_NE(f.message.find("data_json must be a JSON object"), std::string::npos) << f.message;
  }
  rec.runtime.executor_data = {
      {"set", "{\"a\":\"" + std::string(SMOLVM_EXECUTOR_DATA_MAX, 'x') + "\"}"}};
  const test::Failure big = test::failure_of([&] { executor_vm_booting(*p, rec); });
  EXPECT_EQ(big.status, SMOLVM_EINVAL);
  EXPECT_NE(big.message.find("at most 65536 are allowed"), std::string::npos) << big.message;
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

}  // namespace
}  // namespace smolvm
