#include "core/plugins/loader.h"

#include <dirent.h>
#include <dlfcn.h>

#include <cstdlib>
#include <set>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/common/paths.h"
#include "core/plugins/vtable_contract.h"

namespace smolvm {
namespace {

std::string version_str(uint32_t major, uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
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

std::string LoadedPlugin::version() const {
  if (desc_->abi_minor < 3 || !desc_->version) return "";
  return desc_->version;
}

namespace {

std::string plugin_file_name(uint32_t kind, const std::string& name) {
  return std::string("smolvm-") + plugin_kind_name(kind) + "-" + name + ".so";
}

// The smolvm-<kind>-<name>.so files in dir, sorted.
std::vector<std::string> plugin_files_in(const std::string& dir) {
  std::set<std::string> files;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return {};
  while (dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n.rfind("smolvm-", 0) == 0 && n.size() > 10 && n.compare(n.size() - 3, 3, ".so") == 0) {
      files.insert(n);
    }
  }
  ::closedir(d);
  return {files.begin(), files.end()};
}

// "smolvm-vmm-qemu.so" -> {"vmm", "qemu"}; kind "" when the name has no
// kind part.
std::pair<std::string, std::string> kind_and_name_of(const std::string& file) {
  const std::string stem = file.substr(7, file.size() - 10);
  const size_t dash = stem.find('-');
  if (dash == std::string::npos) return {"", stem};
  return {stem.substr(0, dash), stem.substr(dash + 1)};
}

std::string builtin_entry_symbol(uint32_t kind, const std::string& name) {
  return std::string("smolvm_plugin_") + plugin_kind_name(kind) + "_" + name;
}

void validate_descriptor(const std::string& path, const smolvm_plugin_descriptor* desc,
                         uint32_t expected_kind, const std::string& expected_name) {
  if (!desc) fail(SMOLVM_EPLUGIN, "plugin " + path + ": entry point returned no descriptor");
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
  const size_t need = required_vtable_size(desc->kind, desc->abi_minor);
  if (need == 0) {
    fail(SMOLVM_EPLUGIN, "plugin " + path + ": unknown kind " + std::to_string(desc->kind));
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
  // Every vtable starts with its size.
  const size_t have = *static_cast<const size_t*>(desc->vtable);
  if (desc->abi_minor >= 3 && desc->vtable_size != have) {
    fail(SMOLVM_EPLUGIN, "plugin " + path + ": descriptor gives vtable_size " +
                             std::to_string(desc->vtable_size) +
                             " but its vtable's struct_size is " + std::to_string(have));
  }
  if (have < need) {
    fail(SMOLVM_EPLUGIN, "plugin " + path + ": " + plugin_kind_name(desc->kind) + " vtable is " +
                             std::to_string(have) + " bytes, plugin ABI " + theirs +
                             " (the minor it declares) needs at least " + std::to_string(need));
  }
  const std::string missing = missing_mandatory_slot(desc->kind, desc->vtable);
  if (!missing.empty()) {
    fail(SMOLVM_EPLUGIN, "plugin " + path + ": " + plugin_kind_name(desc->kind) +
                             " vtable lacks mandatory slot '" + missing + "'");
  }
}

}  // namespace

std::unique_ptr<LoadedPlugin> load_plugin_file(const std::string& path, uint32_t expected_kind,
                                               const std::string& expected_name) {
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = ::dlerror();
    fail(SMOLVM_EPLUGIN, "plugin " + path + ": cannot load: " + (e ? e : "unknown error"));
  }
  auto entry =
      reinterpret_cast<smolvm_plugin_entry_fn>(::dlsym(handle, SMOLVM_PLUGIN_ENTRY_SYMBOL));
  if (!entry) {
    ::dlclose(handle);
    fail(SMOLVM_EPLUGIN, "plugin " + path +
                             ": no '" SMOLVM_PLUGIN_ENTRY_SYMBOL
                             "' entry point (not a SmolVM plugin?)");
  }
  // From here on the result object holds the handle, so any refusal
  // dlclose()s it.
  const smolvm_plugin_descriptor* desc = entry();
  auto plugin = std::make_unique<LoadedPlugin>(handle, desc, path);
  validate_descriptor(path, desc, expected_kind, expected_name);
  return plugin;
}

std::unique_ptr<LoadedPlugin> find_builtin_plugin(uint32_t kind, const std::string& name) {
  const std::string symbol = builtin_entry_symbol(kind, name);
  auto entry = reinterpret_cast<smolvm_plugin_entry_fn>(::dlsym(RTLD_DEFAULT, symbol.c_str()));
  if (!entry) return nullptr;
  const std::string where = "(built in: " + symbol + ")";
  const smolvm_plugin_descriptor* desc = entry();
  validate_descriptor(where, desc, kind, name);
  return std::make_unique<LoadedPlugin>(nullptr, desc, where);
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
  if (auto builtin = find_builtin_plugin(kind, name)) {
    loaded_.push_back(std::move(builtin));
    return *loaded_.back();
  }
  const std::string file = plugin_file_name(kind, name);
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

std::vector<PluginReport> PluginRegistry::inspect_all() const {
  std::vector<PluginReport> out;
  std::set<std::string> seen;  // file names already found in an earlier folder
  for (const auto& dir : dirs_) {
    for (const auto& file : plugin_files_in(dir)) {
      PluginReport r;
      r.path = dir + "/" + file;
      const auto [kind, name] = kind_and_name_of(file);
      r.kind = kind;
      r.name = name;
      try {
        const auto p = load_plugin_file(r.path, 0, "");
        const auto& d = p->descriptor();
        r.kind = plugin_kind_name(d.kind);
        r.name = d.name;
        r.version = p->version();
        r.description = d.description ? d.description : "";
        r.abi = version_str(d.abi_major, d.abi_minor);
        r.vtable_size = p->vtable_size();
        if (plugin_file_name(d.kind, d.name) != file) {
          r.error = "its descriptor says " + r.kind + " plugin '" + r.name +
                    "', so the file must be named " + plugin_file_name(d.kind, d.name);
        }
      } catch (const Error& e) {
        r.error = e.what();
      }
      if (r.error.empty() && !seen.insert(file).second) {
        r.error = "shadowed by the " + file + " of an earlier folder in the search path";
      }
      out.push_back(std::move(r));
    }
  }
  return out;
}

std::vector<std::string> PluginRegistry::available(uint32_t kind) const {
  std::set<std::string> names;
  for (const auto& dir : dirs_) {
    for (const auto& file : plugin_files_in(dir)) {
      const auto [k, name] = kind_and_name_of(file);
      if (k == plugin_kind_name(kind)) names.insert(name);
    }
  }
  return {names.begin(), names.end()};
}

}  // namespace smolvm
