#include "core/profile/value_checks.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/common/error.h"

namespace smolvm::profile {
namespace {

constexpr size_t kShownMax = 80;

bool is_scalar(Kind k) { return k != Kind::Null && k != Kind::List && k != Kind::Map; }

std::string shown(const Node& n) { return n.kind == Kind::String ? quote(n.text) : n.text; }

// Parses a YAML 1.2 core integer ([-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+).
IntValue parse_int(std::string_view s) {
  bool negative = false;
  int base = 10;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    base = s[1] == 'o' ? 8 : 16;
    s.remove_prefix(2);
  }
  uint64_t magnitude = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude, base);
  if (ec != std::errc() || end != s.data() + s.size() ||
      magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return {false, 0};
  }
  const auto v = static_cast<int64_t>(magnitude);
  return {true, negative ? -v : v};
}

}  // namespace

std::string rule_of(std::string_view message) {
  const size_t at = message.rfind(": ");
  return std::string(at == std::string_view::npos ? message : message.substr(at + 2));
}

std::string quote(std::string_view text) {
  std::string out = "'";
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80 && ++chars > kShownMax) {
      out += "...";
      break;
    }
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

void fail_value(const Node& n, const std::string& path, const std::string& rule) {
  const std::string name = path.empty() ? "profile" : path;
  fail_at(n.loc, is_scalar(n.kind) ? name + "=" + shown(n) + ": " + rule : name + ": " + rule);
}

void expect_kind(const Node& n, const std::string& path, Kind kind) {
  if (n.kind != kind) {
    fail_value(n, path, std::string("must be ") + kind_name(kind) + ", not " + kind_name(n.kind));
  }
}

size_t char_count(std::string_view text) {
  size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

IntValue expect_integer(const Node& n, const std::string& path) {
  if (n.kind == Kind::Int) return parse_int(n.text);
  if (n.kind != Kind::Float) expect_kind(n, path, Kind::Int);
  // JSON Schema counts 3.0 as an integer; .inf, .nan and 3.5 are not.
  std::string_view s = n.text;
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  double d = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec == std::errc::result_out_of_range) return {false, 0};
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(d) || d != std::trunc(d)) {
    fail_value(n, path, "must be an integer");
  }
  if (std::fabs(d) >= 9.2e18) return {false, 0};
  return {true, static_cast<int64_t>(d)};
}

uint32_t expect_range(const Node& n, const std::string& path, uint32_t lo, uint32_t hi) {
  const IntValue v = expect_integer(n, path);
  if (!v.fits || v.value < lo || v.value > hi) {
    fail_value(n, path, "must be " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return static_cast<uint32_t>(v.value);
}

uint32_t expect_spec_uint(const Node& n, const std::string& path, uint32_t VmSpec::*field) {
  const IntValue v = expect_integer(n, path);
  // Values outside uint32 become 0 or UINT32_MAX: both outside every VmSpec
  // range (tests/core/profile checks the ranges), so validate() names the rule.
  uint32_t value = std::numeric_limits<uint32_t>::max();
  if (v.fits && v.value < 0) value = 0;
  if (v.fits && v.value >= 0 && v.value <= std::numeric_limits<uint32_t>::max()) {
    value = static_cast<uint32_t>(v.value);
  }
  VmSpec spec;
  spec.vm_id = "profile";
  spec.*field = value;
  try {
    validate(spec);
  } catch (const Error& e) {
    fail_value(n, path, rule_of(e.what()));
  }
  return value;
}

const std::string& expect_spec_string(const Node& n, const std::string& path,
                                      std::string VmSpec::*field) {
  expect_kind(n, path, Kind::String);
  VmSpec spec;
  spec.vm_id = "profile";
  spec.*field = n.text;
  try {
    validate(spec);
  } catch (const Error& e) {
    fail_value(n, path, rule_of(e.what()));
  }
  return n.text;
}

void expect_vm_id(const Node& n, const std::string& path) {
  expect_kind(n, path, Kind::String);
  try {
    check_vm_id(n.text);
  } catch (const Error& e) {
    fail_value(n, path, rule_of(e.what()));
  }
}

}  // namespace smolvm::profile
