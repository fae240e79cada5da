// `smolvm doctor`: everything a VM needs from this host, each check with
// what a missing piece means and how to get it.
#pragma once

#include <nlohmann/json.hpp>

namespace smolvm {

class PluginRegistry;

// {"ok": bool, "accel": "kvm"|"tcg", "kvm": {...}, "checks": [{"name",
//  "ok", "message", "fix"}...], "plugins": [...] (as inspect_plugins_json),
//  "plugin_dirs": [...], "vmm": {...}}.
nlohmann::json run_doctor(PluginRegistry& plugins, const std::string& state_dir,
                          const std::string& cache_dir);

}  // namespace smolvm
