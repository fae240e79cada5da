// Loads plugin shared objects and checks their descriptor against this
// host's plugin ABI before anything in them is called (the SQLite /
// GStreamer contract): a major mismatch, a newer minor, a wrong kind or
// name, a vtable too small for the minor the plugin declares or a missing
// mandatory slot is refused with a message naming the file and both
// versions, and the object is dlclose()d again.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "smolvm/plugin.h"

namespace smolvm {

const char* plugin_kind_name(uint32_t kind);  // "vmm", "executor", ...

class LoadedPlugin {
 public:
  LoadedPlugin(void* handle, const smolvm_plugin_descriptor* desc, std::string path);
  ~LoadedPlugin();
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  const smolvm_plugin_descriptor& descriptor() const { return *desc_; }
  const std::string& path() const { return path_; }
  const std::string name() const { return desc_->name; }
  // The plugin's own version; "" for plugins built before ABI 1.3.
  std::string version() const;
  // The vtable's size as the plugin was built (its first field).
  size_t vtable_size() const { return *static_cast<const size_t*>(desc_->vtable); }
  template <typename VTable>
  const VTable& vtable() const {
    return *static_cast<const VTable*>(desc_->vtable);
  }

 private:
  void* handle_;
  const smolvm_plugin_descriptor* desc_;
  std::string path_;
};

// Opens path and validates it. expected_kind 0 and expected_name "" accept
// any. Throws Error(SMOLVM_EPLUGIN) with the reason.
std::unique_ptr<LoadedPlugin> load_plugin_file(const std::string& path, uint32_t expected_kind,
                                               const std::string& expected_name);

// A plugin linked into this process: its smolvm_plugin_<kind>_<name> entry
// point, validated like a file's. nullptr when there is none.
std::unique_ptr<LoadedPlugin> find_builtin_plugin(uint32_t kind, const std::string& name);

// What a look at one plugin file found: its descriptor, or why it cannot
// be used.
struct PluginReport {
  std::string path;
  std::string kind, name, version, description;
  std::string abi;  // "1.3": the minor the plugin was built against
  size_t vtable_size = 0;
  std::string error;  // "" when the plugin loads and would be used
};

// Finds plugins by kind and name in a search path and keeps them loaded.
class PluginRegistry {
 public:
  // Search order: extra_dirs (':'-separated), $SMOLVM_PLUGIN_PATH, then the
  // install's lib/smolvm/plugins next to this library.
  explicit PluginRegistry(const std::string& extra_dirs);

  // A plugin linked into this process first, then the first file
  // smolvm-<kind>-<name>.so in the search path.
  const LoadedPlugin& get(uint32_t kind, const std::string& name);
  // Loads every smolvm-*.so in the search path (without keeping it) and
  // reports each, in search order: a file whose descriptor does not match
  // its name, or one shadowed by an earlier folder's, is reported with why.
  std::vector<PluginReport> inspect_all() const;
  // Names of every plugin file of this kind found in the search path.
  std::vector<std::string> available(uint32_t kind) const;
  const std::vector<std::string>& search_dirs() const { return dirs_; }

 private:
  std::vector<std::string> dirs_;
  std::mutex mu_;
  std::vector<std::unique_ptr<LoadedPlugin>> loaded_;
};

}  // namespace smolvm
