// The pieces the YAML documents' checkers share (a VM profile's in
// schema_check.cpp, an image recipe's in recipe_check.cpp): each fails with
// "file:line:col: key.path=value: rule", the way the schemas say it.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "core/profile/yaml_tree.h"

namespace smolvm::profile {

using Check = void (*)(const Node& value, const std::string& path);

struct Field {
  std::string_view key;
  Check check;
};

// "a.b" (or "b" at the top).
std::string join(const std::string& path, std::string_view key);

// A mapping with a fixed set of keys (additionalProperties: false), each
// checked by its Field; `required` keys must be there.
void check_map(const Node& n, const std::string& path, std::initializer_list<Field> fields,
               std::initializer_list<std::string_view> required = {});

// A string of min_chars (0 or 1, minLength) to max_chars characters.
const std::string& expect_string(const Node& n, const std::string& path, size_t min_chars,
                                 size_t max_chars);
void expect_no_nul(const Node& n, const std::string& path);
// A list of at most max items ("at most 64 commands").
void expect_list_size(const Node& n, const std::string& path, size_t max, const char* what);
// A string that must be exactly `want` (apiVersion, kind).
void check_constant(const Node& n, const std::string& path, std::string_view want);
// A mapping of environment variables: NAME: value.
void check_env(const Node& n, const std::string& path);

}  // namespace smolvm::profile
