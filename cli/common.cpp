#include "cli/common.h"

#include <algorithm>
#include <ctime>
#include <iterator>

namespace smolvm_cli {

void check(int rc) {
  if (rc != 0) throw ApiError(rc, smolvm_last_error());
}

Runtime::Runtime() { check(smolvm_runtime_open(&rt, nullptr)); }

Vm::Vm(Runtime& rt, const std::string& id) { check(smolvm_vm_open(&vm, rt.rt, id.c_str())); }

std::string format_time_ms(int64_t ms) {
  if (ms <= 0) return "-";
  const time_t t = static_cast<time_t>(ms / 1000);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", localtime(&t));
  return buf;
}

std::string format_span_s(uint64_t s) {
  static constexpr uint64_t kSeconds[] = {86400, 3600, 60, 1};
  static constexpr const char* kNames[] = {"d", "h", "m", "s"};
  for (size_t u = 0; u < std::size(kSeconds); ++u) {
    if (s < kSeconds[u] && u + 1 < std::size(kSeconds)) continue;
    std::string out = std::to_string(s / kSeconds[u]) + kNames[u];
    const uint64_t rest = s % kSeconds[u];
    if (u + 1 < std::size(kSeconds) && rest / kSeconds[u + 1] > 0) {
      out += std::to_string(rest / kSeconds[u + 1]) + kNames[u + 1];
    }
    return out;
  }
  return "0s";
}

std::string lifetime_summary(const nlohmann::json& l) {
  std::vector<std::string> parts;
  if (l.value("ttl_s", 0u) > 0) {
    const int64_t left = l.value("ttl_left_ms", int64_t{-1});
    parts.push_back("ttl " +
                    format_span_s(static_cast<uint64_t>(std::max<int64_t>(left, 0)) / 1000) + " (" +
                    l.value("on_ttl", std::string()) + ")");
  }
  const std::string paused_by = l.value("paused_by", std::string());
  if (paused_by == "snapshot") parts.push_back("paused for a snapshot");
  if (paused_by == "idle" || paused_by == "hibernated") {
    parts.push_back("idle: " + std::string(paused_by == "idle" ? "paused" : "hibernated"));
  } else if (l.value("idle_timeout_s", 0u) > 0) {
    parts.push_back("idle " + format_span_s(l.value("idle_timeout_s", 0u)) + " (" +
                    l.value("on_idle", std::string()) + ")");
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out.empty() ? "-" : out;
}

nlohmann::json info_json(smolvm_vm* vm) {
  smolvm_vm_info i;
  smolvm_vm_info_init(&i);
  check(smolvm_vm_get_info(&i, vm));
  return {{"id", i.id},
          {"state", i.state_name},
          {"vcpu_count", i.vcpu_count},
          {"mem_size_mib", i.mem_size_mib},
          {"disk_mode", i.disk_mode},
          {"disk_size_mib", i.disk_size_mib},
          {"vmm", i.vmm},
          {"executor", i.executor},
          {"network", i.network},
          {"accel", i.accel},
          {"kernel_path", i.kernel_path},
          {"rootfs_path", i.rootfs_path},
          {"disk_path", i.disk_path},
          {"ip", i.ip},
          {"state_dir", i.state_dir},
          {"console_log", i.console_log},
          {"supervisor_pid", i.supervisor_pid},
          {"vmm_pid", i.vmm_pid},
          {"created_at", format_time_ms(i.created_at_ms)},
          {"started_at", format_time_ms(i.started_at_ms)},
          {"last_error", i.last_error},
          {"boot", i.boot},
          {"boot_reason", i.boot_reason},
          {"lifetime",
           {{"ttl_s", i.ttl_s},
            {"on_ttl", i.on_ttl},
            {"ttl_left_ms", i.ttl_left_ms},
            {"idle_timeout_s", i.idle_timeout_s},
            {"on_idle", i.on_idle},
            {"paused_by", i.paused_by}}},
          {"limits", nlohmann::json::parse(i.limits ? i.limits : "{}", nullptr, false)}};
}

const std::set<std::string> kCreateValueFlags = {
    "--id",           "--vcpus",   "--mem",     "--disk-mode",    "--disk-size",
    "--image",        "--kernel",  "--rootfs",  "--boot-args",    "--vmm",
    "--executor",     "--network", "--accel",   "--boot-timeout", "--ttl",
    "--idle-timeout", "--on-ttl",  "--on-idle", "--boot"};

const std::set<std::string> kLifetimeFlags = {"--ttl", "--idle-timeout", "--on-ttl", "--on-idle"};

void fill_vm_options(const Args& a, smolvm_vm_options& o, std::vector<std::string>& keep) {
  smolvm_vm_options_init(&o);
  // The C API copies strings, but only at create: keep ours alive till then.
  keep.reserve(16);
  auto str = [&](const char* flag) -> const char* {
    if (!a.has(flag)) return nullptr;
    keep.push_back(a.get(flag));
    return keep.back().c_str();
  };
  o.vm_id = str("--id");
  // The ranges are the library's own (smolvm.h).
  o.vcpu_count = static_cast<uint32_t>(
      a.number("--vcpus", SMOLVM_VCPU_DEFAULT, SMOLVM_VCPU_MIN, SMOLVM_VCPU_MAX));
  o.mem_size_mib = static_cast<uint32_t>(
      a.number("--mem", SMOLVM_MEM_MIB_DEFAULT, SMOLVM_MEM_MIB_MIN, SMOLVM_MEM_MIB_MAX));
  o.disk_mode = str("--disk-mode");
  o.disk_size_mib = static_cast<uint32_t>(
      a.number("--disk-size", 0, SMOLVM_DISK_MIB_MIN, SMOLVM_DISK_MIB_MAX, true));
  o.image = str("--image");
  o.kernel_path = str("--kernel");
  o.rootfs_path = str("--rootfs");
  o.boot_args = str("--boot-args");
  o.vmm = str("--vmm");
  o.executor = str("--executor");
  o.network = str("--network");
  o.accel = str("--accel");
  o.boot_timeout_s =
      static_cast<uint32_t>(a.number("--boot-timeout", 0, 1, SMOLVM_BOOT_TIMEOUT_S_MAX, true));
  fill_lifetime(a, o, keep);
  o.boot = str("--boot");
}

}  // namespace smolvm_cli
