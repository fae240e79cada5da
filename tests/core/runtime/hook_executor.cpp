// An executor plugin with the 1.4 VM hooks, built with the plugin SDK, for
// the host's hook calls (executor_hooks_test.cpp). It runs no commands;
// each hook records what it was handed in its data, so the test sees what
// the host passed and that what the plugin set was kept. Its data steers
// it: {"set": "<text>"} makes a hook pass that text to set_data verbatim,
// {"fail_booting": true} fails vm_booting, {"read": path, "cap": n} is the
// file vm_ready reads; a VM id starting with "fail" fails vm_created.
#include <nlohmann/json.hpp>
#include <string>

#include "smolvm/plugin_sdk.h"

namespace {

using smolvm::sdk::Error;

struct HookTest {};

nlohmann::json data_of(const smolvm_executor_vm* vm) {
  return nlohmann::json::parse(vm->data_json);
}

void store(const smolvm_executor_vm* vm, const nlohmann::json& data) {
  smolvm_plugin_error err{};
  std::string text = data.dump();
  if (data.contains("set")) text = data["set"].get<std::string>();
  if (const int rc = vm->set_data(vm->host, text.c_str(), &err); rc != 0) {
    throw Error(rc, err.message, false);
  }
}

int connect(HookTest, void** out, const smolvm_executor_target*, uint32_t, smolvm_plugin_error*) {
  static int conn;
  *out = &conn;
  return 0;
}
void disconnect(HookTest, void*) {}
int exec_start(HookTest, void**, void*, const smolvm_executor_request*, smolvm_plugin_error* err) {
  return smolvm::sdk::set_error(err, SMOLVM_EUNSUPPORTED, "hooktest runs no commands");
}
int exec_next_event(HookTest, void*, smolvm_executor_event*, int32_t, smolvm_plugin_error*) {
  return SMOLVM_EDONE;
}
int exec_write_stdin(HookTest, void*, const uint8_t*, size_t, smolvm_plugin_error*) { return 0; }
int exec_close_stdin(HookTest, void*, smolvm_plugin_error*) { return 0; }
int exec_kill(HookTest, void*, int, smolvm_plugin_error*) { return 0; }
void exec_free(HookTest, void*) {}
int file_read_bounded(HookTest, void*, const char*, smolvm_bytes_sink, void*, uint32_t,
                      smolvm_plugin_error* err) {
  return smolvm::sdk::set_error(err, SMOLVM_EUNSUPPORTED, "hooktest moves no files");
}
int file_write_bounded(HookTest, void*, const char*, smolvm_bytes_source, void*, uint32_t, uint32_t,
                       smolvm_plugin_error* err) {
  return smolvm::sdk::set_error(err, SMOLVM_EUNSUPPORTED, "hooktest moves no files");
}

void vm_created(HookTest, const smolvm_executor_vm* vm, smolvm_plugin_error*) {
  if (std::string(vm->vm_id).rfind("fail", 0) == 0) {
    throw Error(SMOLVM_EIO, "refused on purpose", false);
  }
  nlohmann::json data = data_of(vm);
  data["created"] = {{"vm_id", vm->vm_id},
                     {"vm_dir", vm->vm_dir},
                     {"disk_mode", vm->disk_mode},
                     {"guest_ip", vm->guest_ip ? vm->guest_ip : "none"},
                     {"reader", vm->read_guest_file != nullptr}};
  store(vm, data);
}

void vm_booting(HookTest, const smolvm_executor_vm* vm, char* out, size_t cap,
                smolvm_plugin_error*) {
  nlohmann::json data = data_of(vm);
  if (data.value("fail_booting", false)) throw Error(SMOLVM_EIO, "will not boot", false);
  data["boots"] = data.value("boots", 0) + 1;
  smolvm::sdk::copy_out(out, cap, std::string("hooktest.disk=") + vm->disk_mode, "args");
  store(vm, data);
}

void vm_ready(HookTest, const smolvm_executor_vm* vm, smolvm_plugin_error*) {
  nlohmann::json data = data_of(vm);
  const std::string path = data.value("read", "/etc/hostname");
  std::string buf(data.value("cap", size_t{4096}), '\0');
  size_t len = 0;
  smolvm_plugin_error err{};
  const int rc = vm->read_guest_file(vm->host, path.c_str(), reinterpret_cast<uint8_t*>(buf.data()),
                                     buf.size(), &len, 1000, &err);
  if (rc != 0) throw Error(rc, err.message, false);
  data["ready_read"] = buf.substr(0, len);
  store(vm, data);
}

}  // namespace

SMOLVM_PLUGIN_DEFINE_CXX(executor, hooktest, "0.0-test", "the executor hooks' test plugin",
                         HookTest)
