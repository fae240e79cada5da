#include "core/plugins/plugin_report_json.h"

namespace smolvm {

nlohmann::json inspect_plugins_json(const PluginRegistry& plugins) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : plugins.inspect_all()) {
    list.push_back({{"path", r.path},
                    {"kind", r.kind},
                    {"name", r.name},
                    {"version", r.version},
                    {"abi", r.abi},
                    {"vtable_size", r.vtable_size},
                    {"description", r.description},
                    {"error", r.error}});
  }
  return {{"search_path", plugins.search_dirs()}, {"plugins", list}};
}

}  // namespace smolvm
