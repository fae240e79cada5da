#include "core/runtime/vm_env.h"

#include "core/config/vm_spec.h"
#include "core/state/vm_writer.h"

namespace smolvm {
namespace {

std::vector<std::string> entries_of(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

}  // namespace

std::map<std::string, std::string> env_map(const std::vector<std::string>& entries) {
  std::map<std::string, std::string> env;
  for (const auto& kv : entries) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) continue;  // validate() refuses these on the way in
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

std::map<std::string, std::string> set_vm_env(Store& store, const std::string& id,
                                              const std::vector<std::string>& entries, bool merge) {
  for (const auto& kv : entries) check_env_entry(kv);
  const VmRecord rec = update_record(store, id, [&](VmRecord& r) {
    auto env = merge ? env_map(r.spec.env) : std::map<std::string, std::string>{};
    for (const auto& [name, value] : env_map(entries)) env[name] = value;
    r.spec.env = entries_of(env);
  });
  return env_map(rec.spec.env);
}

std::map<std::string, std::string> unset_vm_env(Store& store, const std::string& id,
                                                const std::vector<std::string>& names) {
  for (const auto& name : names) check_env_name(name);
  const VmRecord rec = update_record(store, id, [&](VmRecord& r) {
    auto env = env_map(r.spec.env);
    for (const auto& name : names) env.erase(name);
    r.spec.env = entries_of(env);
  });
  return env_map(rec.spec.env);
}

}  // namespace smolvm
