// Checks of single values, each failing with "file:line:col: path=value:
// rule". Values VmSpec also holds are checked by VmSpec's own validate(), so
// the profile format cannot drift from the C API's ranges.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/config/vm_spec.h"
#include "core/profile/yaml_tree.h"

namespace smolvm::profile {

// The rule in one of VmSpec's messages, which read "field=value: rule" or
// "field: rule". Rules contain no ": " (values might), so it is what
// follows the last one.
std::string rule_of(std::string_view message);

// "'text'" with control characters escaped and long text cut short.
std::string quote(std::string_view text);

// Fails at n: "path=value: rule" for scalars, "path: rule" otherwise.
[[noreturn]] void fail_value(const Node& n, const std::string& path, const std::string& rule);

// Fails unless n is of `kind`: "path=value: must be a mapping, not a list".
void expect_kind(const Node& n, const std::string& path, Kind kind);

// A string's length in characters, as JSON Schema's maxLength counts.
size_t char_count(std::string_view text);

// An integer as JSON Schema counts them: 3, 0x3 or 3.0, not 3.5 or true.
// fits is false when the value does not fit in int64 (it is then out of
// every range we have).
struct IntValue {
  bool fits;
  int64_t value;
};
IntValue expect_integer(const Node& n, const std::string& path);

// An integer in lo..hi ("must be lo..hi"), for values VmSpec does not hold.
uint32_t expect_range(const Node& n, const std::string& path, uint32_t lo, uint32_t hi);

// Sets one VmSpec field from n and runs validate() on an otherwise default
// spec, relabelling its complaint with the profile's path and position.
uint32_t expect_spec_uint(const Node& n, const std::string& path, uint32_t VmSpec::*field);
const std::string& expect_spec_string(const Node& n, const std::string& path,
                                      std::string VmSpec::*field);
// The id rule of check_vm_id(), likewise relabelled.
void expect_vm_id(const Node& n, const std::string& path);

}  // namespace smolvm::profile
