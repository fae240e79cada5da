#include "core/config/vm_spec.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "core/common/error.h"

namespace smolvm {
namespace {

template <typename Names>
void check_one_of(const char* field, const std::string& value, const Names& allowed) {
  std::string list;
  for (std::string_view a : allowed) {
    if (value == a) return;
    if (!list.empty()) list += "|";
    list += std::string(a);
  }
  fail(SMOLVM_EINVAL, std::string(field) + "='" + value + "': must be one of " + list);
}

// A plugin's name is the <name> of smolvm-<kind>-<name>.so and part of its
// entry point's symbol: lower-case letters, digits and '_'.
void check_plugin_name(const char* field, const std::string& value) {
  const bool ok =
      !value.empty() && value.size() <= 32 &&
      value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
  if (!ok) {
    fail(SMOLVM_EINVAL, std::string(field) + "='" + value +
                            "': must be auto or a plugin name of 1 to 32 lower-case letters, "
                            "digits and '_'");
  }
}

void check_one_of(const char* field, const std::string& value,
                  std::initializer_list<std::string_view> allowed) {
  check_one_of<std::initializer_list<std::string_view>>(field, value, allowed);
}

void check_range(const char* field, uint64_t value, uint64_t lo, uint64_t hi) {
  if (value < lo || value > hi) {
    fail(SMOLVM_EINVAL, std::string(field) + "=" + std::to_string(value) + ": must be " +
                            std::to_string(lo) + ".." + std::to_string(hi));
  }
}

void check_path(const char* field, const std::string& value) {
  if (value.find('\0') != std::string::npos || value.find('\n') != std::string::npos) {
    fail(SMOLVM_EINVAL, std::string(field) + ": must not contain NUL or newline characters");
  }
}

}  // namespace

bool is_valid_vm_id(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  auto ok_first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!ok_first(id[0])) return false;
  for (char c : id.substr(1)) {
    if (!ok_first(c) && c != '-') return false;
  }
  return true;
}

void check_env_name(std::string_view name) {
  const auto word = [](char c) { return c == '_' || std::isalnum(static_cast<unsigned char>(c)); };
  const bool ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                  std::all_of(name.begin(), name.end(), word);
  if (!ok) {
    fail(SMOLVM_EINVAL, "env name '" + std::string(name) + "': must match [A-Za-z_][A-Za-z0-9_]*");
  }
}

void check_env_entry(std::string_view kv) {
  const auto eq = kv.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    fail(SMOLVM_EINVAL,
         "env entry '" + std::string(kv) + "': must be KEY=VALUE with a non-empty KEY");
  }
  check_env_name(kv.substr(0, eq));
}

void check_vm_id(std::string_view id) {
  if (!is_valid_vm_id(id)) {
    fail(SMOLVM_EINVAL, "vm_id='" + std::string(id) +
                            "': must match [a-z0-9][a-z0-9-]{0,62} (lower-case letters, digits "
                            "and '-', 1 to 63 characters, not starting with '-')");
  }
}

std::string generate_vm_id() {
  static thread_local std::mt19937 rng{std::random_device{}()};
  char buf[16];
  std::snprintf(buf, sizeof buf, "vm-%08x", static_cast<unsigned>(rng()));
  return buf;
}

bool is_valid_image_name(std::string_view name) {
  const auto lower_or_digit = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  bool ok = !name.empty() && name.size() <= 63 && lower_or_digit(name[0]);
  for (const char c : name) ok = ok && (lower_or_digit(c) || c == '.' || c == '_' || c == '-');
  return ok;
}

void check_image_name(std::string_view name, const std::string& field) {
  if (!is_valid_image_name(name)) {
    fail(SMOLVM_EINVAL,
         field + "='" + std::string(name) + "': must match [a-z0-9][a-z0-9._-]{0,62}");
  }
}

void validate(const VmSpec& s) {
  check_vm_id(s.vm_id);
  check_range("vcpu_count", s.vcpu_count, kVcpuMin, kVcpuMax);
  check_range("mem_size_mib", s.mem_size_mib, kMemMin, kMemMax);
  check_one_of("disk_mode", s.disk_mode, {"isolated", "shared"});
  // Which plugins exist is the runtime's to check (core/plugins/
  // backend_choice.h); here only that the value can name one.
  check_plugin_name("vmm", s.vmm);
  check_plugin_name("executor", s.executor);
  check_plugin_name("network", s.network);
  check_one_of("accel", s.accel, {"auto", "kvm", "tcg"});
  check_range("boot_timeout_s", s.boot_timeout_s, 1, kBootTimeoutMax);
  if (!s.image.empty()) {
    check_image_name(s.image);
    if (!s.rootfs_path.empty()) {
      fail(SMOLVM_EINVAL, "image='" + s.image +
                              "': a named image brings its own rootfs; rootfs_path='" +
                              s.rootfs_path + "' cannot be given with it");
    }
  }
  check_path("kernel_path", s.kernel_path);
  check_path("rootfs_path", s.rootfs_path);
  if (s.boot_args.find('\n') != std::string::npos || s.boot_args.size() > 2048) {
    fail(SMOLVM_EINVAL, "boot_args: must be one line of at most 2048 characters");
  }
  for (const auto& kv : s.env) check_env_entry(kv);
  for (const auto& cmd : s.setup) {
    if (cmd.empty()) fail(SMOLVM_EINVAL, "setup: commands must not be empty");
  }
  check_range("ttl_s", s.ttl_s, 0, kLifetimeMax);
  check_range("idle_timeout_s", s.idle_timeout_s, 0, kLifetimeMax);
  check_one_of("on_ttl", s.on_ttl, kTtlActions);
  check_one_of("on_idle", s.on_idle, kIdleActions);
  check_one_of("boot", s.boot, kBootModes);
  // Hibernation saves the VM as a snapshot does, and restores it with the
  // disk it had and the network it had (which a restore cannot give back
  // yet).
  if (s.on_idle == "hibernate") {
    const std::string unfit = s.disk_mode != "isolated" ? "disk_mode is '" + s.disk_mode + "'"
                              : s.network != kNoNetwork ? "network is '" + s.network + "'"
                                                        : "";
    if (!unfit.empty()) {
      fail(SMOLVM_EINVAL, "on_idle='hibernate': " + unfit +
                              "; only a VM with an isolated disk and no network can hibernate");
    }
  }
  if (s.disk_size_mib != 0) {
    check_range("disk_size_mib", s.disk_size_mib, kDiskMinMib, kDiskMaxMib);
    if (s.disk_mode == "shared") {
      fail(SMOLVM_EINVAL, "disk_size_mib=" + std::to_string(s.disk_size_mib) +
                              ": only an isolated disk can be sized; disk_mode is 'shared' "
                              "(the image itself)");
    }
  }
}

nlohmann::json to_json(const VmSpec& s) {
  return {{"vm_id", s.vm_id},
          {"vcpu_count", s.vcpu_count},
          {"mem_size_mib", s.mem_size_mib},
          {"disk_mode", s.disk_mode},
          {"image", s.image},
          {"kernel_path", s.kernel_path},
          {"rootfs_path", s.rootfs_path},
          {"boot_args", s.boot_args},
          {"vmm", s.vmm},
          {"executor", s.executor},
          {"network", s.network},
          {"accel", s.accel},
          {"boot_timeout_s", s.boot_timeout_s},
          {"env", s.env},
          {"setup", s.setup},
          {"disk_size_mib", s.disk_size_mib},
          {"delete_with_owner", s.delete_with_owner},
          {"ttl_s", s.ttl_s},
          {"idle_timeout_s", s.idle_timeout_s},
          {"on_ttl", s.on_ttl},
          {"on_idle", s.on_idle},
          {"boot", s.boot}};
}

VmSpec spec_from_json(const nlohmann::json& j) {
  VmSpec s;
  auto str = [&](const char* k, std::string& out) {
    if (j.contains(k) && j[k].is_string()) out = j[k].get<std::string>();
  };
  auto num = [&](const char* k, uint32_t& out) {
    if (j.contains(k) && j[k].is_number_unsigned()) out = j[k].get<uint32_t>();
  };
  str("vm_id", s.vm_id);
  num("vcpu_count", s.vcpu_count);
  num("mem_size_mib", s.mem_size_mib);
  str("disk_mode", s.disk_mode);
  str("image", s.image);
  str("kernel_path", s.kernel_path);
  str("rootfs_path", s.rootfs_path);
  str("boot_args", s.boot_args);
  str("vmm", s.vmm);
  str("executor", s.executor);
  str("network", s.network);
  str("accel", s.accel);
  num("boot_timeout_s", s.boot_timeout_s);
  num("disk_size_mib", s.disk_size_mib);
  num("ttl_s", s.ttl_s);
  num("idle_timeout_s", s.idle_timeout_s);
  str("on_ttl", s.on_ttl);
  str("on_idle", s.on_idle);
  str("boot", s.boot);
  if (j.contains("delete_with_owner") && j["delete_with_owner"].is_boolean()) {
    s.delete_with_owner = j["delete_with_owner"].get<bool>();
  }
  auto strings = [&](const char* k, std::vector<std::string>& out) {
    if (!j.contains(k) || !j[k].is_array()) return;
    for (const auto& e : j[k]) {
      if (e.is_string()) out.push_back(e.get<std::string>());
    }
  };
  strings("env", s.env);
  strings("setup", s.setup);
  return s;
}

}  // namespace smolvm
