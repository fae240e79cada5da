#include "core/profile/recipe_check.h"

#include "core/config/vm_spec.h"
#include "core/profile/profile.h"
#include "core/profile/recipe.h"
#include "core/profile/schema_parts.h"
#include "core/profile/value_checks.h"

namespace smolvm::profile {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Debian's package name rule, with an optional =version:
// [a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+:~-]+)?. Nothing apt could read as an
// option or a second word.
bool is_package(std::string_view s) {
  const size_t eq = s.find('=');
  const std::string_view name = s.substr(0, eq);
  if (name.size() < 2 || !is_lower_alnum(name[0])) return false;
  for (char c : name) {
    if (!is_lower_alnum(c) && c != '+' && c != '.' && c != '-') return false;
  }
  if (eq == std::string_view::npos) return true;
  const std::string_view version = s.substr(eq + 1);
  if (version.empty()) return false;
  for (char c : version) {
    const bool ok = is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '+' ||
                    c == ':' || c == '~' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// An absolute guest path without "..", NUL or newline: where a file lands
// or the working directory.
void check_guest_path(const Node& n, const std::string& path) {
  expect_string(n, path, 1, kProfileMaxPathChars);
  const std::string& p = n.text;
  bool dotdot = false;
  for (size_t i = 0; i < p.size();) {
    const size_t end = std::min(p.find('/', i), p.size());
    if (p.compare(i, end - i, "..") == 0) dotdot = true;
    i = end + 1;
  }
  if (p[0] != '/' || dotdot || p.find_first_of(std::string_view("\0\n", 2)) != std::string::npos) {
    fail_value(n, path, "must be an absolute path without '..' components");
  }
}

void check_host_path(const Node& n, const std::string& path) {
  expect_string(n, path, 1, kProfileMaxPathChars);
  if (n.text.find_first_of(std::string_view("\0\n", 2)) != std::string::npos) {
    fail_value(n, path, "must not contain NUL or newline characters");
  }
}

void check_base(const Node& n, const std::string& path) {
  constexpr const char* kRule =
      "must be default or a mapping with image (a name) or recipe (a file)";
  if (n.kind == Kind::String) {
    if (n.text != kDefaultImageName) fail_value(n, path, kRule);
    return;
  }
  if (n.kind != Kind::Map) fail_value(n, path, kRule);
  check_map(n, path,
            {{"image",
              [](const Node& v, const std::string& p) {
                expect_kind(v, p, Kind::String);
                if (!is_valid_image_name(v.text)) {
                  fail_value(v, p, "must match [a-z0-9][a-z0-9._-]{0,62}");
                }
              }},
             {"recipe", check_host_path}});
  if (n.entries.size() != 1) fail_value(n, path, "must name exactly one of image, recipe");
}

void check_packages(const Node& n, const std::string& path) {
  expect_list_size(n, path, kRecipeMaxPackages, "packages");
  for (size_t i = 0; i < n.items.size(); ++i) {
    const Node& item = *n.items[i];
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    expect_kind(item, item_path, Kind::String);
    if (!is_package(item.text)) {
      fail_value(item, item_path,
                 "must be a Debian package name ([a-z0-9][a-z0-9+.-]+), optionally =VERSION");
    }
  }
}

void check_files(const Node& n, const std::string& path) {
  expect_list_size(n, path, kRecipeMaxFiles, "files");
  for (size_t i = 0; i < n.items.size(); ++i) {
    check_map(*n.items[i], path + "[" + std::to_string(i) + "]",
              {{"src", check_host_path}, {"dest", check_guest_path}}, {"src", "dest"});
  }
}

void check_run(const Node& n, const std::string& path) {
  expect_list_size(n, path, kRecipeMaxRun, "commands");
  for (size_t i = 0; i < n.items.size(); ++i) {
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    expect_string(*n.items[i], item_path, 1, kProfileMaxCommandChars);
    expect_no_nul(*n.items[i], item_path);
  }
}

void check_user(const Node& n, const std::string& path) {
  expect_kind(n, path, Kind::String);
  const std::string& u = n.text;
  bool ok = !u.empty() && u.size() <= 32 && ((u[0] >= 'a' && u[0] <= 'z') || u[0] == '_');
  for (char c : u) ok = ok && (is_lower_alnum(c) || c == '_' || c == '-');
  if (!ok) fail_value(n, path, "must be a user name ([a-z_][a-z0-9_-]{0,31})");
}

}  // namespace

void check_recipe_document(const Node& root) {
  if (root.kind != Kind::Map) {
    fail_at(root.loc, std::string("a recipe must be a YAML mapping (apiVersion: smolvm/v1, "
                                  "kind: ImageRecipe, name: ...), not ") +
                          kind_name(root.kind));
  }
  check_map(
      root, "",
      {{"apiVersion",
        [](const Node& v, const std::string& p) { check_constant(v, p, "smolvm/v1"); }},
       {"kind", [](const Node& v, const std::string& p) { check_constant(v, p, "ImageRecipe"); }},
       {"name",
        [](const Node& v, const std::string& p) {
          expect_kind(v, p, Kind::String);
          if (!is_valid_image_name(v.text) || v.text == kDefaultImageName) {
            fail_value(v, p, "must match [a-z0-9][a-z0-9._-]{0,62} and not be default");
          }
        }},
       {"base", check_base},
       {"packages", check_packages},
       {"files", check_files},
       {"run", check_run},
       {"env", check_env},
       {"user", check_user},
       {"workdir", check_guest_path},
       {"disk",
        [](const Node& v, const std::string& p) {
          check_map(v, p, {{"size_mib", [](const Node& x, const std::string& q) {
                              expect_range(x, q, kDiskMinMib, kDiskMaxMib);
                            }}});
        }}},
      {"apiVersion", "kind", "name"});
}

}  // namespace smolvm::profile
