#include "core/plugins/backend_choice.h"

#include <vector>

#include "core/common/error.h"

namespace smolvm {
namespace {

// Every probe slot shares one shape; which one a kind has, if any.
using ProbeFn = int (*)(char*, size_t, smolvm_plugin_error*);

ProbeFn probe_slot_of(const LoadedPlugin& p) {
  switch (p.descriptor().kind) {
    case SMOLVM_PLUGIN_VMM:
      return p.vtable<smolvm_vmm_vtable>().probe;
    case SMOLVM_PLUGIN_NETWORK:
      return p.vtable<smolvm_network_vtable>().probe;
    case SMOLVM_PLUGIN_EXECUTOR: {
      const auto& vt = p.vtable<smolvm_executor_vtable>();
      return SMOLVM_EXECUTOR_HAS(&vt, probe) ? vt.probe : nullptr;
    }
  }
  return nullptr;
}

}  // namespace

BackendProbe probe_backend(const LoadedPlugin& plugin) {
  BackendProbe out;
  const ProbeFn probe = probe_slot_of(plugin);
  if (!probe) {
    out.available = true;
    out.json = nlohmann::json::object();
    return out;
  }
  char buf[8192] = {0};
  smolvm_plugin_error err{};
  if (probe(buf, sizeof buf, &err) != 0) {
    out.reason = std::string("probe failed: ") + err.message;
    out.json = {{"available", false}, {"reason", out.reason}};
    return out;
  }
  buf[sizeof buf - 1] = '\0';
  out.json = nlohmann::json::parse(buf, nullptr, false);
  if (!out.json.is_object()) {
    out.reason = "probe answered no JSON object";
    out.json = {{"available", false}, {"reason", out.reason}};
    return out;
  }
  const auto text = [&](const char* key) {
    const auto it = out.json.find(key);
    return it != out.json.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const auto avail = out.json.find("available");
  out.available = avail != out.json.end() && avail->is_boolean() && avail->get<bool>();
  const auto rank = out.json.find("rank");
  if (rank != out.json.end() && rank->is_number_integer()) out.rank = rank->get<int64_t>();
  out.reason = text("reason");
  out.fix = text("fix");
  return out;
}

std::map<std::string, BackendProbe> probe_backends(PluginRegistry& plugins, uint32_t kind) {
  std::map<std::string, BackendProbe> out;
  for (const auto& name : plugins.available(kind)) {
    try {
      out[name] = probe_backend(plugins.get(kind, name));
    } catch (const Error& e) {
      // A plugin that does not load is no candidate (smolvm plugins says why).
      BackendProbe p;
      p.reason = e.what();
      p.json = {{"available", false}, {"reason", p.reason}};
      out[name] = std::move(p);
    }
  }
  return out;
}

std::string best_backend(const std::map<std::string, BackendProbe>& probes) {
  std::string best;
  int64_t best_rank = 0;
  for (const auto& [name, p] : probes) {  // in name order: the first of equal ranks wins
    if (p.available && (best.empty() || p.rank > best_rank)) {
      best = name;
      best_rank = p.rank;
    }
  }
  return best;
}

std::string choose_auto_backend(PluginRegistry& plugins, uint32_t kind) {
  return best_backend(probe_backends(plugins, kind));
}

void check_backend_name(PluginRegistry& plugins, uint32_t kind, const std::string& field,
                        const std::string& value, const std::string& extra) {
  if (value == "auto" || (!extra.empty() && value == extra)) return;
  const std::vector<std::string> installed = plugins.available(kind);
  for (const auto& name : installed) {
    if (name == value) return;
  }
  std::string list;
  for (const auto& name : installed) list += (list.empty() ? "" : ", ") + name;
  fail(SMOLVM_EINVAL, field + "='" + value + "': no such " + plugin_kind_name(kind) +
                          " plugin (allowed: auto" + (extra.empty() ? "" : ", " + extra) +
                          (list.empty() ? "" : ", " + list) + "; smolvm plugins lists them)");
}

uint64_t vmm_memory_overhead_mib(const LoadedPlugin& vmm, const std::string& accel) {
  const BackendProbe p = probe_backend(vmm);
  const auto overhead = p.json.find("memory_overhead_mib");
  if (overhead != p.json.end() && overhead->is_object()) {
    const auto mib = overhead->find(accel);
    if (mib != overhead->end() && mib->is_number_unsigned()) return mib->get<uint64_t>();
  }
  return kDefaultVmmOverheadMib;
}

}  // namespace smolvm
