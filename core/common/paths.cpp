#include "core/common/paths.h"

#include <dlfcn.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace smolvm {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

std::string home_dir() {
  std::string home = env("HOME");
  if (!home.empty()) return home;
  if (const passwd* pw = getpwuid(getuid())) return pw->pw_dir;
  return "/tmp";
}

std::string resolve_state_dir(const std::string& override_dir) {
  if (!override_dir.empty()) return override_dir;
  if (auto v = env("SMOLVM_STATE_DIR"); !v.empty()) return v;
  if (auto v = env("XDG_STATE_HOME"); !v.empty()) return v + "/smolvm";
  return home_dir() + "/.local/state/smolvm";
}

std::string resolve_cache_dir(const std::string& override_dir) {
  if (!override_dir.empty()) return override_dir;
  if (auto v = env("SMOLVM_CACHE_DIR"); !v.empty()) return v;
  if (auto v = env("XDG_CACHE_HOME"); !v.empty()) return v + "/smolvm";
  return home_dir() + "/.cache/smolvm";
}

std::string store_path(const std::string& state_dir) { return state_dir + "/smolvm.db"; }

std::string vm_dir(const std::string& state_dir, const std::string& vm_id) {
  return state_dir + "/vms/" + vm_id;
}

std::string snapshots_dir(const std::string& state_dir) { return state_dir + "/snapshots"; }
std::string snapshot_dir(const std::string& state_dir, const std::string& snapshot_id) {
  return snapshots_dir(state_dir) + "/" + snapshot_id;
}
std::string snapshot_state_file(const std::string& dir) { return dir + "/state"; }
std::string snapshot_disk_file(const std::string& dir) { return dir + "/disk.qcow2"; }
std::string hibernation_dir(const std::string& vm_dir) { return vm_dir + "/hibernation"; }

std::string self_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&self_dir), &info) == 0 || info.dli_fname == nullptr) {
    return ".";
  }
  std::error_code ec;
  auto path = std::filesystem::canonical(info.dli_fname, ec);
  if (ec) return std::filesystem::path(info.dli_fname).parent_path().string();
  return path.parent_path().string();
}

}  // namespace smolvm
