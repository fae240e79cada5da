// The host's side of the executor plugin's VM hooks (plugin ABI 1.4:
// vm_created, vm_booting, vm_ready): each is called only when the plugin's
// vtable has it, with the VM as smolvm_executor_vm, and whatever data the
// plugin sets for the VM is handed back to be stored in
// VmRuntime::executor_data. Nothing here knows any executor by name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/plugins/loader.h"
#include "core/store/vm_record.h"

namespace smolvm {

// Reads a guest file of at most max_bytes within timeout_ms, or throws
// Error (SMOLVM_ENOTFOUND for a missing file).
using GuestFileReader =
    std::function<std::string(const std::string& path, size_t max_bytes, uint32_t timeout_ms)>;

// What a hook gave back: the executor's data for the VM (rec's own when
// the hook set none or the plugin has no such hook) and, for vm_booting,
// its kernel command-line arguments.
struct ExecutorHookResult {
  nlohmann::json data;
  std::string boot_args;
  bool called = false;  // the plugin has the hook
};

// Each throws Error when the hook fails, with the plugin's message.
ExecutorHookResult executor_vm_created(const LoadedPlugin& executor, const VmRecord& rec);
ExecutorHookResult executor_vm_booting(const LoadedPlugin& executor, const VmRecord& rec);
ExecutorHookResult executor_vm_ready(const LoadedPlugin& executor, const VmRecord& rec,
                                     const GuestFileReader& read_guest_file);

}  // namespace smolvm
