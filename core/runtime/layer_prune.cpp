#include "core/runtime/layer_prune.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/common/error.h"
#include "core/common/files.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

// A layer key as the builder makes them (16 hex digits): anything else in
// a manifest or a parent file leads nowhere.
bool is_layer_key(const std::string& key) {
  return key.size() == 16 && key.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The layer an image folder's manifest says it was assembled from, or "".
std::string top_layer_of(const std::string& image_dir) {
  const std::string path = image_dir + "/manifest.json";
  if (!path_exists(path)) return "";
  const auto m = nlohmann::json::parse(read_file(path), nullptr, false);
  const auto it = m.is_object() ? m.find("layer") : m.end();
  if (it == m.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// Every layer on the chains from `tops` down to their bases.
std::set<std::string> layers_in_use(const std::string& layers,
                                    const std::vector<std::string>& tops) {
  std::set<std::string> used;
  for (std::string key : tops) {
    // A parent file cannot make a loop last: a key seen before ends the walk.
    while (is_layer_key(key) && used.insert(key).second) {
      const std::string parent = layers + "/" + key + "/parent";
      if (!path_exists(parent)) break;
      key = read_file(parent);
      while (!key.empty() && (key.back() == '\n' || key.back() == ' ')) key.pop_back();
    }
  }
  return used;
}

}  // namespace

std::vector<CachedImage> prune_layers(const std::string& cache_dir,
                                      const std::vector<std::string>& kept_images, bool dry_run) {
  const std::string layers = cache_dir + "/layers";
  std::vector<CachedImage> out;
  if (!path_exists(layers)) return out;
  std::vector<std::string> tops;
  for (const auto& dir : kept_images) tops.push_back(top_layer_of(dir));
  const std::set<std::string> used = layers_in_use(layers, tops);
  bool building = false;
  std::vector<fs::path> dirs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(layers, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(".build-", 0) == 0) building = true;
    if (name[0] != '.' && e.is_directory() && !e.is_symlink()) dirs.push_back(e.path());
  }
  if (ec) fail(SMOLVM_EIO, "cannot list " + layers + ": " + ec.message());
  for (const auto& dir : dirs) {
    CachedImage layer;
    layer.kind = "layer";
    layer.key = dir.filename().string();
    layer.path = dir.string();
    layer.bytes = bytes_on_disk(layer.path);
    if (used.count(layer.key)) {
      layer.kept_because = "part of a kept image";
    } else if (building) {
      layer.kept_because = "a build is running (" + layers + "/.build-*)";
    } else if (!dry_run && !remove_tree(layer.path)) {
      fail(SMOLVM_EIO, "cannot remove " + layer.path);
    }
    out.push_back(layer);
  }
  return out;
}

}  // namespace smolvm
