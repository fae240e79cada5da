#include "core/store/vm_record.h"

#include <algorithm>
#include <type_traits>
#include <vector>

namespace smolvm {
namespace {

// Every stored key with its field, once: to_json and runtime_from_json both
// walk this list. The document stays flat (one level of keys) as every
// earlier version wrote it.
template <class Runtime, class Visit>
void each_field(Runtime& rt, Visit&& visit) {
  visit("vm_dir", rt.vm_dir);
  visit("kernel_path", rt.kernel_path);
  visit("rootfs_path", rt.rootfs_path);
  visit("disk_path", rt.disk_path);
  visit("image_user", rt.image_user);
  visit("image_workdir", rt.image_workdir);
  visit("disk_size_mib", rt.disk_size_mib);
  visit("console_log", rt.console_log);
  visit("supervisor_socket", rt.supervisor_socket);
  visit("token", rt.token);
  visit("vmm", rt.vmm);
  visit("executor", rt.executor);
  visit("network", rt.network);
  visit("accel", rt.accel);
  visit("boot_args", rt.boot_args);
  visit("boot_timeout_ms", rt.boot_timeout_ms);
  visit("supervisor_pid", rt.supervisor_pid);
  visit("vmm_pid", rt.vmm_pid);
  visit("creator_pid", rt.creator_pid);
  visit("creator_start", rt.creator_start);
  visit("owner_pid", rt.owner_pid);
  visit("owner_start", rt.owner_start);
  visit("ip", rt.lease.ip);
  visit("tap", rt.lease.tap);
  visit("mac", rt.lease.mac);
  visit("gateway", rt.lease.gateway);
  visit("prefix", rt.lease.prefix);
  visit("dns", rt.lease.dns);
  visit("cgroup", rt.limits.cgroup);
  visit("privileges", rt.limits.privileges);
  visit("vmm_user", rt.limits.vmm_user);
  visit("executor_data", rt.executor_data);
  visit("started_at_ms", rt.started_at_ms);
  visit("stopped_at_ms", rt.stopped_at_ms);
  visit("agent_version", rt.agent_version);
  visit("last_error", rt.last_error);
  visit("last_exit", rt.last_exit);
  visit("setup_done", rt.setup_done);
  visit("ttl_deadline_ms", rt.ttl_deadline_ms);
  visit("ttl_left_ms", rt.ttl_left_ms);
  visit("paused_by", rt.paused_by);
  visit("disk_layers", rt.disk_layers);
  visit("snapshot", rt.snapshot);
  visit("restore_state", rt.restore_state);
  visit("boot", rt.boot);
  visit("boot_reason", rt.boot_reason);
  visit("template_dir", rt.template_dir);
}

template <class T>
void read_value(const nlohmann::json& v, T& out) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (v.is_string()) out = v.get<std::string>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (v.is_boolean()) out = v.get<bool>();
  } else if constexpr (std::is_same_v<T, uint32_t>) {
    if (v.is_number_unsigned() && v.get<uint64_t>() <= UINT32_MAX) out = v.get<uint32_t>();
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (v.is_number_integer()) out = v.get<int64_t>();
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (!v.is_array()) return;
    for (const auto& e : v) {
      if (!e.is_string()) return;
    }
    out = v.get<std::vector<std::string>>();
  } else {
    static_assert(std::is_same_v<T, nlohmann::json>);
    out = v;
  }
}

// Before executor data, core stored an executor's fields itself, as
// top-level keys named after it ("<executor>_<field>"). Keys this version
// knows are taken by each_field first, so only such fields are left here.
void adopt_executor_keys(VmRuntime& rt) {
  if (rt.executor.empty()) return;
  const std::string prefix = rt.executor + "_";
  for (auto it = rt.unknown.begin(); it != rt.unknown.end();) {
    if (it.key().size() > prefix.size() && it.key().compare(0, prefix.size(), prefix) == 0) {
      rt.executor_data[it.key().substr(prefix.size())] = it.value();
      it = rt.unknown.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace

int64_t boot_timeout_ms(const VmRecord& rec) {
  return rec.runtime.boot_timeout_ms > 0 ? int64_t{rec.runtime.boot_timeout_ms}
                                         : int64_t{rec.spec.boot_timeout_s} * 1000;
}

int64_t ttl_left_ms(const VmRecord& rec, int64_t now_ms) {
  if (rec.spec.ttl_s == 0) return -1;
  if (rec.state == "running" && rec.runtime.ttl_deadline_ms > 0) {
    return std::max<int64_t>(0, rec.runtime.ttl_deadline_ms - now_ms);
  }
  if (rec.state == "paused") return rec.runtime.ttl_left_ms;
  return int64_t{rec.spec.ttl_s} * 1000;
}

nlohmann::json to_json(const VmRuntime& rt) {
  nlohmann::json j = rt.unknown.is_object() ? rt.unknown : nlohmann::json::object();
  each_field(rt, [&](const char* key, const auto& value) {
    // Limits not (yet) reported stay absent, as before: inspect shows only
    // what the supervisor said.
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, nlohmann::json>) {
      if (value.is_null()) return;
    }
    j[key] = value;
  });
  return j;
}

VmRuntime runtime_from_json(const nlohmann::json& j) {
  VmRuntime rt;
  if (!j.is_object()) return rt;
  rt.unknown = j;
  each_field(rt, [&](const char* key, auto& value) {
    const auto it = j.find(key);
    if (it == j.end()) return;
    read_value(*it, value);
    rt.unknown.erase(key);
  });
  if (!rt.executor_data.is_object()) rt.executor_data = nlohmann::json::object();
  if (j.find("executor_data") == j.end()) adopt_executor_keys(rt);
  return rt;
}

}  // namespace smolvm
