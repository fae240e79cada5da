// What `smolvm plugins`, smolvm_plugins_inspect and doctor show about the
// plugins in a search path: one JSON form of PluginRegistry::inspect_all.
#pragma once

#include <nlohmann/json.hpp>

#include "core/plugins/loader.h"

namespace smolvm {

// {"search_path": [...], "plugins": [{"path", "kind", "name", "version",
// "abi", "vtable_size", "description", "error"}...]}; "error" is "" for a
// plugin that loads and would be used.
nlohmann::json inspect_plugins_json(const PluginRegistry& plugins);

}  // namespace smolvm
