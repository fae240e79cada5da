#include "core/runtime/executor_hooks.h"

#include <algorithm>
#include <cstring>

#include "core/common/error.h"

namespace smolvm {
namespace {

void set_message(smolvm_plugin_error* err, const std::string& message) {
  if (err == nullptr) return;
  const size_t n = std::min(message.size(), sizeof err->message - 1);
  std::memcpy(err->message, message.data(), n);
  err->message[n] = '\0';
}

// One hook call: the strings the smolvm_executor_vm points into, and what
// the plugin hands back through the callbacks.
class HookCall {
 public:
  HookCall(const VmRecord& rec, const GuestFileReader* reader)
      : data_(rec.runtime.executor_data.dump()),
        reader_(reader),
        result_data_(rec.runtime.executor_data) {
    vm_.struct_size = sizeof vm_;
    vm_.vm_id = rec.id.c_str();
    vm_.vm_dir = rec.runtime.vm_dir.c_str();
    vm_.disk_mode = rec.spec.disk_mode.c_str();
    vm_.guest_ip = rec.runtime.lease.ip.empty() ? nullptr : rec.runtime.lease.ip.c_str();
    vm_.data_json = data_.c_str();
    vm_.set_data = &HookCall::set_data;
    vm_.read_guest_file = reader ? &HookCall::read_file : nullptr;
    vm_.host = this;
  }

  const smolvm_executor_vm* vm() const { return &vm_; }
  ExecutorHookResult result(std::string boot_args) const {
    return {result_data_, std::move(boot_args), true};
  }

 private:
  static int set_data(void* host, const char* json, smolvm_plugin_error* err) {
    auto* self = static_cast<HookCall*>(host);
    if (json == nullptr) {
      set_message(err, "set_data: data_json must not be NULL");
      return SMOLVM_EINVAL;
    }
    const size_t len = std::strlen(json);
    if (len > SMOLVM_EXECUTOR_DATA_MAX) {
      set_message(err, "set_data: data_json is " + std::to_string(len) + " bytes; at most " +
                           std::to_string(SMOLVM_EXECUTOR_DATA_MAX) + " are allowed");
      return SMOLVM_EINVAL;
    }
    auto parsed = nlohmann::json::parse(json, json + len, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) {
      set_message(err, "set_data: data_json must be a JSON object");
      return SMOLVM_EINVAL;
    }
    self->result_data_ = std::move(parsed);
    return 0;
  }

  static int read_file(void* host, const char* path, uint8_t* buf, size_t cap, size_t* out_len,
                       uint32_t timeout_ms, smolvm_plugin_error* err) {
    auto* self = static_cast<HookCall*>(host);
    if (path == nullptr || out_len == nullptr || (buf == nullptr && cap > 0)) {
      set_message(err, "read_guest_file: guest_path, buf and out_len must not be NULL");
      return SMOLVM_EINVAL;
    }
    try {
      const std::string data = (*self->reader_)(path, cap, timeout_ms);
      if (!data.empty()) std::memcpy(buf, data.data(), data.size());
      *out_len = data.size();
      return 0;
    } catch (const Error& e) {
      set_message(err, e.what());
      return e.status();
    } catch (const std::exception& e) {
      set_message(err, std::string("read_guest_file: ") + e.what());
      return SMOLVM_ERROR;
    }
  }

  smolvm_executor_vm vm_{};
  std::string data_;
  const GuestFileReader* reader_;
  nlohmann::json result_data_;
};

const smolvm_executor_vtable& vtable_of(const LoadedPlugin& executor) {
  return executor.vtable<smolvm_executor_vtable>();
}

void check_hook(int rc, smolvm_plugin_error& err, const LoadedPlugin& executor, const char* hook) {
  if (rc == 0) return;
  err.message[sizeof err.message - 1] = '\0';
  fail(rc, "executor '" + executor.name() + "' " + hook + ": " +
               (err.message[0] ? err.message : "failed without a message"));
}

ExecutorHookResult not_called(const VmRecord& rec) {
  return {rec.runtime.executor_data, "", false};
}

}  // namespace

ExecutorHookResult executor_vm_created(const LoadedPlugin& executor, const VmRecord& rec) {
  const auto& vt = vtable_of(executor);
  if (!SMOLVM_EXECUTOR_HAS(&vt, vm_created)) return not_called(rec);
  HookCall call(rec, nullptr);
  smolvm_plugin_error err{};
  check_hook(vt.vm_created(call.vm(), &err), err, executor, "vm_created");
  return call.result("");
}

ExecutorHookResult executor_vm_booting(const LoadedPlugin& executor, const VmRecord& rec) {
  const auto& vt = vtable_of(executor);
  if (!SMOLVM_EXECUTOR_HAS(&vt, vm_booting)) return not_called(rec);
  HookCall call(rec, nullptr);
  char args[SMOLVM_EXECUTOR_BOOT_ARGS_MAX] = {0};
  smolvm_plugin_error err{};
  check_hook(vt.vm_booting(call.vm(), args, sizeof args, &err), err, executor, "vm_booting");
  if (std::memchr(args, '\0', sizeof args) == nullptr) {
    fail(SMOLVM_EPLUGIN, "executor '" + executor.name() +
                             "' vm_booting: the kernel arguments are not NUL-terminated within " +
                             std::to_string(sizeof args) + " bytes");
  }
  return call.result(args);
}

ExecutorHookResult executor_vm_ready(const LoadedPlugin& executor, const VmRecord& rec,
                                     const GuestFileReader& read_guest_file) {
  const auto& vt = vtable_of(executor);
  if (!SMOLVM_EXECUTOR_HAS(&vt, vm_ready)) return not_called(rec);
  HookCall call(rec, &read_guest_file);
  smolvm_plugin_error err{};
  check_hook(vt.vm_ready(call.vm(), &err), err, executor, "vm_ready");
  return call.result("");
}

}  // namespace smolvm
