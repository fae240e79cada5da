#include "core/profile/schema_check.h"

#include "core/profile/profile.h"
#include "core/profile/schema_parts.h"
#include "core/profile/value_checks.h"

namespace smolvm::profile {

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// A mapping with a fixed set of keys (additionalProperties: false).
void check_map(const Node& n, const std::string& path, std::initializer_list<Field> fields,
               std::initializer_list<std::string_view> required) {
  expect_kind(n, path, Kind::Map);
  for (const Entry& e : n.entries) {
    const Field* field = nullptr;
    for (const Field& f : fields) {
      if (f.key == e.key) field = &f;
    }
    if (!field) {
      std::string allowed;
      for (const Field& f : fields) allowed += (allowed.empty() ? "" : ", ") + std::string(f.key);
      const std::string shown = quote(e.key);
      fail_at(e.key_loc, join(path, std::string_view(shown).substr(1, shown.size() - 2)) +
                             ": unknown key; allowed: " + allowed);
    }
    field->check(*e.value, join(path, e.key));
  }
  for (std::string_view key : required) {
    if (!n.find(key)) fail_at(n.loc, join(path, key) + ": required");
  }
}

// min_chars is 0 or 1 (minLength in the schema).
const std::string& expect_string(const Node& n, const std::string& path, size_t min_chars,
                                 size_t max_chars) {
  expect_kind(n, path, Kind::String);
  const size_t len = char_count(n.text);
  if (len < min_chars) fail_value(n, path, "must not be empty");
  if (len > max_chars) {
    fail_value(n, path, "must be at most " + std::to_string(max_chars) + " characters long");
  }
  return n.text;
}

void expect_no_nul(const Node& n, const std::string& path) {
  if (n.text.find('\0') != std::string::npos) {
    fail_value(n, path, "must not contain NUL characters");
  }
}

void expect_list_size(const Node& n, const std::string& path, size_t max, const char* what) {
  expect_kind(n, path, Kind::List);
  if (n.items.size() > max) {
    fail_value(n, path,
               "at most " + std::to_string(max) + " " + what + " (found " +
                   std::to_string(n.items.size()) + ")");
  }
}

void check_constant(const Node& n, const std::string& path, std::string_view want) {
  expect_kind(n, path, Kind::String);
  if (n.text != want) fail_value(n, path, "must be " + std::string(want));
}

namespace {

// ^[A-Za-z_][A-Za-z0-9_]*$
bool is_valid_env_name(std::string_view s) {
  auto ok = [](char c, bool first) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
  };
  if (s.empty() || !ok(s[0], true)) return false;
  for (char c : s.substr(1)) {
    if (!ok(c, false)) return false;
  }
  return true;
}

// Dotted quad, each part 0..255 without leading zeros: exactly the schema's
// pattern (inet_aton would also take "127.1" or "0x7f.0.0.1").
bool is_ipv4(std::string_view s) {
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (s.empty() || s[0] != '.') return false;
      s.remove_prefix(1);
    }
    size_t digits = 0;
    unsigned value = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9' && digits < 4) {
      value = value * 10 + static_cast<unsigned>(s[digits] - '0');
      ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && s[0] == '0')) return false;
    s.remove_prefix(digits);
  }
  return s.empty();
}

void check_path_value(const Node& n, const std::string& path, std::string VmSpec::*field) {
  expect_string(n, path, 1, kProfileMaxPathChars);
  expect_spec_string(n, path, field);
}

void check_image(const Node& n, const std::string& path) {
  constexpr const char* kRule =
      "must be default, an image's name ([a-z0-9][a-z0-9._-]{0,62}, `smolvm image ls`) or a "
      "mapping with kernel and/or rootfs";
  if (n.kind == Kind::String) {
    if (!is_valid_image_name(n.text)) fail_value(n, path, kRule);
    return;
  }
  if (n.kind != Kind::Map) fail_value(n, path, kRule);
  check_map(n, path,
            {{"kernel", [](const Node& v,
                           const std::string& p) { check_path_value(v, p, &VmSpec::kernel_path); }},
             {"rootfs", [](const Node& v, const std::string& p) {
                check_path_value(v, p, &VmSpec::rootfs_path);
              }}});
  if (n.entries.empty()) fail_value(n, path, "must name kernel, rootfs or both");
}

void check_port(const Node& n, const std::string& path) {
  check_map(
      n, path,
      {{"guest", [](const Node& v, const std::string& p) { expect_range(v, p, 1, kPortMax); }},
       {"host",
        [](const Node& v, const std::string& p) {
          if (v.kind == Kind::String && v.text == "auto") return;
          const std::string rule = "must be 1.." + std::to_string(kPortMax) + " or auto";
          if (v.kind != Kind::Int && v.kind != Kind::Float) fail_value(v, p, rule);
          const IntValue port = expect_integer(v, p);
          if (!port.fits || port.value < 1 || port.value > kPortMax) fail_value(v, p, rule);
        }},
       {"host_addr",
        [](const Node& v, const std::string& p) {
          expect_kind(v, p, Kind::String);
          if (!is_ipv4(v.text)) fail_value(v, p, "must be an IPv4 address like 127.0.0.1");
        }},
       {"protocol",
        [](const Node& v, const std::string& p) {
          expect_kind(v, p, Kind::String);
          if (v.text != "tcp" && v.text != "udp") fail_value(v, p, "must be one of tcp|udp");
        }}},
      {"guest"});
}

}  // namespace

void check_env(const Node& n, const std::string& path) {
  expect_kind(n, path, Kind::Map);
  if (n.entries.size() > kProfileMaxEnv) {
    fail_value(n, path,
               "at most " + std::to_string(kProfileMaxEnv) + " variables (found " +
                   std::to_string(n.entries.size()) + ")");
  }
  for (const Entry& e : n.entries) {
    if (!is_valid_env_name(e.key) || e.key.size() > kProfileMaxEnvNameChars) {
      fail_at(e.key_loc, path + ": variable name " + quote(e.key) +
                             " must match [A-Za-z_][A-Za-z0-9_]* (at most " +
                             std::to_string(kProfileMaxEnvNameChars) + " characters)");
    }
    const std::string key_path = join(path, e.key);
    expect_string(*e.value, key_path, 0, kProfileMaxEnvValueChars);
    expect_no_nul(*e.value, key_path);
  }
}

namespace {

void check_setup(const Node& n, const std::string& path) {
  expect_list_size(n, path, kProfileMaxSetup, "commands");
  for (size_t i = 0; i < n.items.size(); ++i) {
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    expect_string(*n.items[i], item_path, 1, kProfileMaxCommandChars);
    expect_no_nul(*n.items[i], item_path);
  }
}

void check_top_fields(const Node& root) {
  check_map(
      root, "",
      {{"apiVersion",
        [](const Node& v, const std::string& p) { check_constant(v, p, "smolvm/v1"); }},
       {"kind", [](const Node& v, const std::string& p) { check_constant(v, p, "VMProfile"); }},
       {"name",
        [](const Node& v, const std::string& p) {
          expect_kind(v, p, Kind::String);
          if (!is_valid_image_name(v.text)) {  // the same rule
            fail_value(v, p,
                       "must match [a-z0-9][a-z0-9._-]{0,62} (lower-case letters, digits, '.', "
                       "'_' and '-', 1 to 63 characters)");
          }
        }},
       {"id", expect_vm_id},
       {"extends",
        [](const Node& v, const std::string& p) {
          expect_string(v, p, 1, kProfileMaxPathChars);
          if (v.text.find_first_of(std::string_view("\0\n", 2)) != std::string::npos) {
            fail_value(v, p, "must not contain NUL or newline characters");
          }
        }},
       {"resources",
        [](const Node& v, const std::string& p) {
          check_map(v, p,
                    {{"vcpu_count",
                      [](const Node& x, const std::string& q) {
                        expect_spec_uint(x, q, &VmSpec::vcpu_count);
                      }},
                     {"mem_size_mib", [](const Node& x, const std::string& q) {
                        expect_spec_uint(x, q, &VmSpec::mem_size_mib);
                      }}});
        }},
       {"disk",
        [](const Node& v, const std::string& p) {
          check_map(
              v, p,
              {{"mode", [](const Node& x,
                           const std::string& q) { expect_spec_string(x, q, &VmSpec::disk_mode); }},
               {"size_mib", [](const Node& x, const std::string& q) {
                  expect_range(x, q, kDiskMinMib, kDiskMaxMib);
                }}});
        }},
       {"image", check_image},
       {"boot",
        [](const Node& v, const std::string& p) {
          check_map(v, p,
                    {{"args",
                      [](const Node& x, const std::string& q) {
                        expect_kind(x, q, Kind::String);
                        for (unsigned char c : x.text) {
                          if (c < 0x20 || c > 0x7E) {
                            fail_value(x, q, "must be printable ASCII on one line");
                          }
                        }
                        expect_spec_string(x, q, &VmSpec::boot_args);
                      }},
                     {"timeout_s",
                      [](const Node& x, const std::string& q) {
                        expect_spec_uint(x, q, &VmSpec::boot_timeout_s);
                      }},
                     {"mode", [](const Node& x, const std::string& q) {
                        expect_spec_string(x, q, &VmSpec::boot);
                      }}});
        }},
       {"backend",
        [](const Node& v, const std::string& p) {
          check_map(v, p,
                    {{"vmm", [](const Node& x,
                                const std::string& q) { expect_spec_string(x, q, &VmSpec::vmm); }},
                     {"executor",
                      [](const Node& x, const std::string& q) {
                        expect_spec_string(x, q, &VmSpec::executor);
                      }},
                     {"network",
                      [](const Node& x, const std::string& q) {
                        expect_spec_string(x, q, &VmSpec::network);
                      }},
                     {"accel", [](const Node& x, const std::string& q) {
                        expect_spec_string(x, q, &VmSpec::accel);
                      }}});
        }},
       {"lifetime",
        [](const Node& v, const std::string& p) {
          check_map(
              v, p,
              // 0 is allowed ("no limit"), so not expect_spec_uint,
              // which relies on 0 being out of range.
              {{"ttl_s",
                [](const Node& x, const std::string& q) { expect_range(x, q, 0, kLifetimeMax); }},
               {"idle_timeout_s",
                [](const Node& x, const std::string& q) { expect_range(x, q, 0, kLifetimeMax); }},
               {"on_ttl", [](const Node& x,
                             const std::string& q) { expect_spec_string(x, q, &VmSpec::on_ttl); }},
               {"on_idle", [](const Node& x, const std::string& q) {
                  expect_spec_string(x, q, &VmSpec::on_idle);
                }}});
        }},
       {"network",
        [](const Node& v, const std::string& p) {
          check_map(v, p, {{"ports", [](const Node& x, const std::string& q) {
                              expect_list_size(x, q, kProfileMaxPorts, "ports");
                              for (size_t i = 0; i < x.items.size(); ++i) {
                                check_port(*x.items[i], q + "[" + std::to_string(i) + "]");
                              }
                            }}});
        }},
       {"env", check_env},
       {"setup", check_setup},
       {"snapshot",
        [](const Node& v, const std::string& p) {
          expect_kind(v, p, Kind::String);
          if (!is_valid_image_name(v.text)) {  // snapshot ids and names follow it too
            fail_value(v, p,
                       "must be a snapshot's id or name (`smolvm snapshot ls`): "
                       "[a-z0-9][a-z0-9._-]{0,62}");
          }
        }}},
      {"apiVersion", "kind", "name"});
}

const Entry* lookup(const Node& root, std::string_view section, std::string_view key) {
  const Entry* s = root.find(section);
  return s ? s->value->find(key) : nullptr;
}

// What a snapshot fixes, so a profile naming one cannot set it.
constexpr const char* kSnapshotDecides[] = {"resources", "disk",    "image",
                                            "boot",      "backend", "network"};

// Rules that tie two fields together. They matter most after extends, when
// the two may come from different files, so both positions are named.
void check_cross_fields(const Node& root) {
  const Entry* net = lookup(root, "backend", "network");
  const Entry* ports = lookup(root, "network", "ports");
  // Absent, the network is VmSpec's default, which is no network at all.
  const std::string network = net ? net->value->text : VmSpec().network;
  if (ports && network == "none" && !ports->value->items.empty()) {
    fail_at(ports->key_loc,
            "network.ports: forwarding ports needs a network, but "
            "backend.network is 'none' (" +
                (net ? where(net->value->loc) : "the default") + ")");
  }
  if (const Entry* snapshot = root.find("snapshot")) {
    for (const char* section : kSnapshotDecides) {
      if (const Entry* e = root.find(section)) {
        fail_at(e->key_loc, std::string(section) +
                                ": a VM restored from a snapshot runs on the snapshot's "
                                "resources, image, disk, backend and network, but snapshot is "
                                "set (" +
                                where(snapshot->value->loc) + "); remove one of the two");
      }
    }
  }
  const Entry* mode = lookup(root, "disk", "mode");
  const Entry* size = lookup(root, "disk", "size_mib");
  if (mode && size && mode->value->text == "shared") {
    fail_at(size->key_loc,
            "disk.size_mib: only an isolated disk can be sized; disk.mode is "
            "'shared' (" +
                where(mode->value->loc) + ")");
  }
}

}  // namespace

void check_profile_document(const Node& root) {
  if (root.kind != Kind::Map) {
    fail_at(root.loc, std::string("a profile must be a YAML mapping (apiVersion: smolvm/v1, "
                                  "kind: VMProfile, name: ...), not ") +
                          kind_name(root.kind));
  }
  check_top_fields(root);
  // A profile that extends another may rely on its base for the other half
  // of a rule; the merged document (which has no extends) is checked too.
  if (!root.find("extends")) check_cross_fields(root);
}

}  // namespace smolvm::profile
