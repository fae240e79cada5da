#include "core/profile/recipe.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/profile/recipe_check.h"
#include "core/profile/source.h"
#include "core/profile/value_checks.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;
using namespace profile;

std::string resolved_path(const Node& n) {
  const fs::path p(n.text);
  return (p.is_absolute() ? p : n.loc.source->dir / p).lexically_normal().string();
}

std::vector<std::string> strings_of(const Node* list) {
  std::vector<std::string> out;
  if (list) {
    for (const NodePtr& item : list->items) out.push_back(item->text);
  }
  return out;
}

const Node* value_of(const Node& n, std::string_view key) {
  const Entry* e = n.find(key);
  return e ? e->value.get() : nullptr;
}

ImageRecipe load_chain(const fs::path& path, const std::string& display,
                       std::vector<fs::path>& seen) {
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(path, ec);
  const SourcePtr src = read_source(path, display);
  NodePtr root;
  try {
    root = parse_document(src);
    check_recipe_document(*root);
  } catch (const Error& e) {
    // A file that does not say it is a recipe is never quoted (base: can
    // name any file the process reads).
    if (src->text.find("ImageRecipe") == std::string::npos) {
      fail(e.status(), display +
                           ": not a SmolVM image recipe: a YAML mapping with apiVersion: "
                           "smolvm/v1 and kind: ImageRecipe (the file's content is not shown)");
    }
    throw;
  }
  seen.push_back(canonical);
  ImageRecipe r;
  r.name = value_of(*root, "name")->text;
  r.source_path = src->path.string();
  if (const Node* base = value_of(*root, "base"); base && base->kind == Kind::Map) {
    if (const Node* image = value_of(*base, "image")) {
      r.base_kind = "image";
      r.base_image = image->text;
    } else if (const Node* recipe = value_of(*base, "recipe")) {
      const fs::path target(resolved_path(*recipe));
      for (const fs::path& s : seen) {
        if (s == fs::weakly_canonical(target, ec)) {
          fail_at(recipe->loc, "base.recipe: cycle: " + target.string() + " is built on itself");
        }
      }
      if (seen.size() > kRecipeMaxBaseDepth) {
        fail_at(recipe->loc, "base.recipe: more than " + std::to_string(kRecipeMaxBaseDepth) +
                                 " recipes on recipes");
      }
      r.base_kind = "recipe";
      try {
        r.base_recipe = std::make_shared<const ImageRecipe>(
            load_chain(target, (fs::path(display).parent_path() / recipe->text).string(), seen));
      } catch (const Error& e) {
        if (e.status() == SMOLVM_EINVAL) throw;
        throw Error(e.status(), where(recipe->loc) + ": base.recipe: " + e.what());
      }
    }
  }
  if (const Node* packages = value_of(*root, "packages"); packages && !packages->items.empty()) {
    RecipeStep s;
    s.kind = "packages";
    s.packages = strings_of(packages);
    s.at = where(packages->loc);
    r.steps.push_back(s);
  }
  if (const Node* files = value_of(*root, "files")) {
    for (size_t i = 0; i < files->items.size(); ++i) {
      const NodePtr& f = files->items[i];
      RecipeStep s;
      s.kind = "file";
      const Node& src_node = *value_of(*f, "src");
      s.src = resolved_path(src_node);
      s.dest = value_of(*f, "dest")->text;
      s.at = where(f->loc);
      if (!fs::exists(fs::symlink_status(s.src, ec))) {
        fail(SMOLVM_ENOTFOUND, where(src_node.loc) + ": files[" + std::to_string(i) + "].src='" +
                                   src_node.text + "': no such file or folder (" + s.src + ")");
      }
      r.steps.push_back(s);
    }
  }
  if (const Node* run = value_of(*root, "run")) {
    for (const NodePtr& c : run->items) {
      RecipeStep s;
      s.kind = "run";
      s.command = c->text;
      s.at = where(c->loc);
      r.steps.push_back(s);
    }
  }
  if (const Node* env = value_of(*root, "env")) {
    for (const Entry& e : env->entries) r.env.emplace_back(e.key, e.value->text);
  }
  if (const Node* user = value_of(*root, "user")) r.user = user->text;
  if (const Node* workdir = value_of(*root, "workdir")) r.workdir = workdir->text;
  if (const Node* disk = value_of(*root, "disk")) {
    if (const Node* size = value_of(*disk, "size_mib")) {
      r.disk_size_mib = static_cast<uint32_t>(expect_integer(*size, "").value);
    }
  }
  return r;
}

}  // namespace

ImageRecipe load_recipe(const std::string& path) {
  std::vector<fs::path> seen;
  return load_chain(path, path, seen);
}

nlohmann::json to_json(const ImageRecipe& r) {
  nlohmann::json steps = nlohmann::json::array();
  for (const RecipeStep& s : r.steps) {
    nlohmann::json j = {{"kind", s.kind}, {"at", s.at}};
    if (s.kind == "packages") j["packages"] = s.packages;
    if (s.kind == "file") {
      j["src"] = s.src;
      j["dest"] = s.dest;
    }
    if (s.kind == "run") j["command"] = s.command;
    steps.push_back(j);
  }
  nlohmann::json env = nlohmann::json::array();
  for (const auto& [k, v] : r.env) env.push_back(k + "=" + v);
  nlohmann::json base = {{"kind", r.base_kind}};
  if (r.base_kind == "image") base["image"] = r.base_image;
  if (r.base_recipe) base["recipe"] = to_json(*r.base_recipe);
  return {{"name", r.name},       {"source", r.source_path},
          {"base", base},         {"steps", steps},
          {"env", env},           {"user", r.user},
          {"workdir", r.workdir}, {"disk_size_mib", r.disk_size_mib}};
}

}  // namespace smolvm
