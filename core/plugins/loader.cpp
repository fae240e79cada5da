#include "core/plugins/loader.h"

#include <dirent.h>
#include <dlfcn.h>

#include <cstdlib>
#include <set>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/common/paths.h"

namespace smolvm {
namespace {

std::string version_str(uint32_t major, uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// Smallest vtable size a plugin of this kind must provide for the host's
// ABI 1.0, and the mandatory slots within it.
void check_vtable(const std::string& path, uint32_t kind, const void* vt) {
  auto missing = [&](const char* slot) {
    fail(SMOLVM_EPLUGIN, "plugin " + path + ": " + plugin_kind_name(kind) +
                             " vtable lacks mandatory slot '" + slot + "'");
  };
  auto too_small = [&](size_t have, size_t need) {
    fail(SMOLVM_EPLUGIN, "plugin " + path + ": " + plugin_kind_name(kind) + " vtable is " +
                             std::to_string(have) + " bytes, ABI " +
                             version_str(SMOLVM_PLUGIN_ABI_MAJOR, 0) + " needs at least " +
                             std::to_string(need));
  };
  switch (kind) {
    case SMOLVM_PLUGIN_STORE: {
      const auto* v = static_cast<const smolvm_store_vtable*>(vt);
      if (v->struct_size < sizeof(smolvm_store_vtable)) too_small(v->struct_size, sizeof(*v));
      if (!v->open) missing("open");
      if (!v->close) missing("close");
      if (!v->vm_insert) missing("vm_insert");
      if (!v->vm_update) missing("vm_update");
      if (!v->vm_get) missing("vm_get");
      if (!v->vm_list) missing("vm_list");
      if (!v->vm_delete) missing("vm_delete");
      if (!v->lease_acquire) missing("lease_acquire");
      if (!v->lease_release) missing("lease_release");
      if (!v->lease_list) missing("lease_list");
      if (!v->forward_add) missing("forward_add");
      if (!v->forward_remove) missing("forward_remove");
      if (!v->forward_list) missing("forward_list");
      if (!v->process_set) missing("process_set");
      if (!v->process_clear) missing("process_clear");
      if (!v->process_list) missing("process_list");
      break;
    }
    case SMOLVM_PLUGIN_VMM: {
      const auto* v = static_cast<const smolvm_vmm_vtable*>(vt);
      if (v->struct_size < sizeof(smolvm_vmm_vtable)) too_small(v->struct_size, sizeof(*v));
      if (!v->probe) missing("probe");
      if (!v->prepare_disk) missing("prepare_disk");
      if (!v->launch) missing("launch");
      if (!v->pid) missing("pid");
      if (!v->agent_connect) missing("agent_connect");
      if (!v->kill) missing("kill");
      if (!v->release) missing("release");
      break;
    }
    case SMOLVM_PLUGIN_EXECUTOR: {
      const auto* v = static_cast<const smolvm_executor_vtable*>(vt);
      // file_read_bounded and file_write_bounded (1.2) are optional: core
      // falls back to file_read and file_write.
      constexpr size_t kAbi10 = offsetof(smolvm_executor_vtable, file_read_bounded);
      if (v->struct_size < kAbi10) too_small(v->struct_size, kAbi10);
      if (!v->connect) missing("connect");
      if (!v->disconnect) missing("disconnect");
      if (!v->exec_start) missing("exec_start");
      if (!v->exec_next_event) missing("exec_next_event");
      if (!v->exec_write_stdin) missing("exec_write_stdin");
      if (!v->exec_close_stdin) missing("exec_close_stdin");
      if (!v->exec_kill) missing("exec_kill");
      if (!v->exec_free) missing("exec_free");
      if (!v->file_write) missing("file_write");
      if (!v->file_read) missing("file_read");
      break;
    }
    case SMOLVM_PLUGIN_NETWORK: {
      const auto* v = static_cast<const smolvm_network_vtable*>(vt);
      if (v->struct_size < sizeof(smolvm_network_vtable)) too_small(v->struct_size, sizeof(*v));
      if (!v->probe) missing("probe");
      if (!v->setup) missing("setup");
      if (!v->teardown) missing("teardown");
      if (!v->forward_add) missing("forward_add");
      if (!v->forward_remove) missing("forward_remove");
      break;
    }
    default:
      fail(SMOLVM_EPLUGIN, "plugin " + path + ": unknown kind " + std::to_string(kind));
  }
}

std::vector<std::string> split_path(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = s.find(':', start);
    const std::string part = s.substr(start, end == std::string::npos ? end : end - start);
    if (!part.empty()) out.push_back(part);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

const char* plugin_kind_name(uint32_t kind) {
  switch (kind) {
    case SMOLVM_PLUGIN_VMM:
      return "vmm";
    case SMOLVM_PLUGIN_EXECUTOR:
      return "executor";
    case SMOLVM_PLUGIN_NETWORK:
      return "network";
    case SMOLVM_PLUGIN_STORE:
      return "store";
  }
  return "unknown";
}

LoadedPlugin::LoadedPlugin(void* handle, const smolvm_plugin_descriptor* desc, std::string path)
    : handle_(handle), desc_(desc), path_(std::move(path)) {}

LoadedPlugin::~LoadedPlugin() {
  if (handle_) ::dlclose(handle_);
}

std::unique_ptr<LoadedPlugin> load_plugin_file(const std::string& path, uint32_t expected_kind,
                                               const std::string& expected_name) {
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = ::dlerror();
    fail(SMOLVM_EPLUGIN, "plugin " + path + ": cannot load: " + (e ? e : "unknown error"));
  }
  // From here on, any refusal must dlclose: hold the handle in the result
  // object first so an exception releases it.
  auto entry =
      reinterpret_cast<smolvm_plugin_entry_fn>(::dlsym(handle, SMOLVM_PLUGIN_ENTRY_SYMBOL));
  if (!entry) {
    ::dlclose(handle);
    fail(SMOLVM_EPLUGIN, "plugin " + path +
                             ": no '" SMOLVM_PLUGIN_ENTRY_SYMBOL
                             "' entry point (not a SmolVM plugin?)");
  }
  const smolvm_plugin_descriptor* desc = entry();
  if (!desc) {
    ::dlclose(handle);
    fail(SMOLVM_EPLUGIN, "plugin " + path + ": entry point returned no descriptor");
  }
  auto plugin = std::make_unique<LoadedPlugin>(handle, desc, path);
  const std::string host = version_str(SMOLVM_PLUGIN_ABI_MAJOR, SMOLVM_PLUGIN_ABI_MINOR);
  const std::string theirs = version_str(desc->abi_major, desc->abi_minor);
  if (desc->abi_major != SMOLVM_PLUGIN_ABI_MAJOR) {
    fail(SMOLVM_EPLUGIN, "plugin " + path + ": built for plugin ABI " + theirs +
                             ", this SmolVM speaks " + host + " (major versions differ)");
  }
  if (desc->abi_minor > SMOLVM_PLUGIN_ABI_MINOR) {
    fail(SMOLVM_EPLUGIN, "plugin " + path + ": built for plugin ABI " + theirs +
                             ", newer than this SmolVM's " + host + " (upgrade SmolVM)");
  }
  if (!desc->name || !*desc->name) {
    fail(SMOLVM_EPLUGIN, "plugin " + path + ": descriptor has no name");
  }
  if (expected_kind && desc->kind != expected_kind) {
    fail(SMOLVM_EPLUGIN, "plugin " + path + ": is a " + plugin_kind_name(desc->kind) +
                             " plugin, expected " + plugin_kind_name(expected_kind));
  }
  if (!expected_name.empty() && expected_name != desc->name) {
    fail(SMOLVM_EPLUGIN,
         "plugin " + path + ": is named '" + desc->name + "', expected '" + expected_name + "'");
  }
  if (!desc->vtable) fail(SMOLVM_EPLUGIN, "plugin " + path + ": descriptor has no vtable");
  check_vtable(path, desc->kind, desc->vtable);
  return plugin;
}

PluginRegistry::PluginRegistry(const std::string& extra_dirs) {
  for (auto& d : split_path(extra_dirs)) dirs_.push_back(d);
  if (const char* env = std::getenv("SMOLVM_PLUGIN_PATH")) {
    for (auto& d : split_path(env)) dirs_.push_back(d);
  }
  // libsmolvm.so lives in lib/, the supervisor in lib/smolvm/.
  const std::string self = self_dir();
  for (const std::string& d : {self + "/smolvm/plugins", self + "/plugins"}) {
    if (path_exists(d)) dirs_.push_back(d);
  }
}

const LoadedPlugin& PluginRegistry::get(uint32_t kind, const std::string& name) {
  std::lock_guard lock(mu_);
  for (const auto& p : loaded_) {
    if (p->descriptor().kind == kind && p->name() == name) return *p;
  }
  const std::string file = std::string("smolvm-") + plugin_kind_name(kind) + "-" + name + ".so";
  for (const auto& dir : dirs_) {
    const std::string path = dir + "/" + file;
    if (!path_exists(path)) continue;
    loaded_.push_back(load_plugin_file(path, kind, name));
    return *loaded_.back();
  }
  std::string searched;
  for (const auto& d : dirs_) searched += (searched.empty() ? "" : ", ") + d;
  fail(SMOLVM_EPLUGIN, std::string(plugin_kind_name(kind)) + " plugin '" + name + "' not found (" +
                           file + " in: " + (searched.empty() ? "no plugin folders" : searched) +
                           "; set SMOLVM_PLUGIN_PATH)");
}

std::vector<std::string> PluginRegistry::available(uint32_t kind) const {
  std::set<std::string> names;
  const std::string prefix = std::string("smolvm-") + plugin_kind_name(kind) + "-";
  for (const auto& dir : dirs_) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) continue;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind(prefix, 0) == 0 && n.size() > prefix.size() + 3 &&
          n.compare(n.size() - 3, 3, ".so") == 0) {
        names.insert(n.substr(prefix.size(), n.size() - prefix.size() - 3));
      }
    }
    ::closedir(d);
  }
  return {names.begin(), names.end()};
}

}  // namespace smolvm
