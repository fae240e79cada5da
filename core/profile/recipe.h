// Image recipes: a YAML file (kind: ImageRecipe, schemas/image-recipe.schema.json)
// that says how to make a named guest image from a base: Debian packages,
// files to copy in, commands to run at build time, and the defaults its VMs
// get (environment, user, working directory, disk size). Loaded and checked
// here with the profile's parser and checks, so errors read
// "file:line:column: key.path=value: rule"; `smolvm image build -f` then
// builds it layer by layer (guest/build-recipe.sh).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

namespace smolvm {

// One build step, and one cached layer: its key is a hash of the layer
// below's key and of everything the step reads.
struct RecipeStep {
  std::string kind;                   // "packages" | "file" | "run"
  std::vector<std::string> packages;  // packages: apt-get install these
  std::string src, dest;              // file: host path (absolute) -> guest path
  std::string command;                // run: /bin/sh -c in the image's root
  std::string at;                     // "file:line:column" of the step, for messages
};

struct ImageRecipe {
  std::string name;
  std::string source_path;  // absolute path of the recipe file
  // base: "default" (SmolVM's Debian base), "image" (a named image) or
  // "recipe" (another recipe, built first).
  std::string base_kind = "default";
  std::string base_image;
  std::shared_ptr<const ImageRecipe> base_recipe;
  std::vector<RecipeStep> steps;  // packages, then files, then run, each in file order
  std::vector<std::pair<std::string, std::string>> env;  // in file order
  std::string user;                                      // "": the base's (root)
  std::string workdir;                                   // "": the base's (/)
  uint32_t disk_size_mib = 0;                            // 0: the default image's size
};

// Limits of the format, mirrored by the schema.
inline constexpr size_t kRecipeMaxPackages = 512, kRecipeMaxFiles = 64, kRecipeMaxRun = 64;
inline constexpr size_t kRecipeMaxBaseDepth = 8;  // recipes on recipes

// Reads and checks a recipe and, for base: {recipe: ...}, the recipes below
// it (cycles and depth refused). Throws smolvm::Error: EINVAL with the
// position for a bad recipe, ENOTFOUND / EPERM / EIO for a file that cannot
// be read (the recipe, its base, a file it copies in).
ImageRecipe load_recipe(const std::string& path);

// What guest/build-recipe.sh reads: every field above, the base recipe
// nested under "base".
nlohmann::json to_json(const ImageRecipe& recipe);

}  // namespace smolvm
