// Which backend plugin a VM uses, decided without knowing any by name:
// a name given is checked against the plugins of its kind that are
// installed, and "auto" takes the available one whose probe gives the
// highest rank (plugin.h documents the probe keys).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/plugins/loader.h"

namespace smolvm {

// What a plugin's probe said. A plugin whose kind has no probe (stores,
// executors without the 1.3 slot) is available with rank 0; one whose probe
// fails or is not JSON is unavailable, with the reason.
struct BackendProbe {
  bool available = false;
  int64_t rank = 0;
  std::string reason;   // why it is not available
  std::string fix;      // what the user can do about it
  nlohmann::json json;  // the probe's whole answer (an object)
};

BackendProbe probe_backend(const LoadedPlugin& plugin);

// Every installed plugin of kind, probed, by name; one that does not load
// is unavailable with the loader's reason.
std::map<std::string, BackendProbe> probe_backends(PluginRegistry& plugins, uint32_t kind);

// The available probe with the highest rank (equal ranks: the first name),
// or "" when none is available.
std::string best_backend(const std::map<std::string, BackendProbe>& probes);

// The name "auto" stands for: the available plugin of kind with the highest
// rank (equal ranks: the first name in order), or "" when none is.
std::string choose_auto_backend(PluginRegistry& plugins, uint32_t kind);

// Refuses value unless it is "auto", one of extra (e.g. "none" for the
// network), or an installed plugin of kind: "vmm='foo': no such vmm plugin
// (installed: firecracker, qemu; see smolvm plugins)".
void check_backend_name(PluginRegistry& plugins, uint32_t kind, const std::string& field,
                        const std::string& value, const std::string& extra = "");

// The VMM's own memory beyond the guest's RAM under accel, as its probe
// says (memory_overhead_mib), else kDefaultVmmOverheadMib.
constexpr uint64_t kDefaultVmmOverheadMib = 192;
uint64_t vmm_memory_overhead_mib(const LoadedPlugin& vmm, const std::string& accel);

}  // namespace smolvm
