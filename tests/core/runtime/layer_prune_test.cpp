// Pruning the recipe layer cache on a real cache layout in a temporary
// folder: layers/<key>/{root.tar,parent} as guest/build-recipe.sh writes
// them, image folders with the manifests it writes.
#include "core/runtime/layer_prune.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

class LayerPrune : public ::testing::Test {
 protected:
  // A layer on `parent` ("" for a base: no parent file).
  void layer(const std::string& key, const std::string& parent) {
    const std::string dir = tmp_.path() + "/layers/" + key;
    fs::create_directories(dir);
    std::ofstream(dir + "/root.tar") << std::string(4096, 't');
    if (!parent.empty()) std::ofstream(dir + "/parent") << parent << "\n";
  }
  // An image folder assembled from layer `top`.
  std::string image(const std::string& key, const std::string& top) {
    const std::string dir = tmp_.path() + "/images/" + key;
    fs::create_directories(dir);
    std::ofstream(dir + "/manifest.json")
        << R"({"key": ")" << key << R"(", "layer": ")" << top << R"("})";
    return dir;
  }
  std::map<std::string, std::string> pruned(const std::vector<std::string>& kept, bool dry) {
    std::map<std::string, std::string> out;
    for (const auto& l : prune_layers(tmp_.path(), kept, dry)) {
      EXPECT_EQ(l.kind, "layer");
      out[l.key] = l.kept_because;
    }
    return out;
  }
  bool exists(const std::string& key) { return fs::exists(tmp_.path() + "/layers/" + key); }

  test::TempDir tmp_;
};

// Two recipes on one base; one image is kept. Its chain stays, the other
// recipe's own layers go, the shared base with them only when no kept
// image is made of it.
TEST_F(LayerPrune, TheLayersOfKeptImagesStayAndTheRestGo) {
  layer("000000000000000a", "");                  // an imported archive
  layer("000000000000000b", "000000000000000a");  // kept recipe, step 1
  layer("000000000000000c", "000000000000000b");  // kept recipe, step 2
  layer("000000000000000d", "000000000000000a");  // the removed recipe's step
  layer("000000000000000e", "ffffffffffffffff");  // on the default base (no layer)
  const std::string kept = image("1111111111111111", "000000000000000c");

  const auto dry = pruned({kept}, true);
  EXPECT_EQ(dry.at("000000000000000a"), "part of a kept image");
  EXPECT_EQ(dry.at("000000000000000b"), "part of a kept image");
  EXPECT_EQ(dry.at("000000000000000c"), "part of a kept image");
  EXPECT_EQ(dry.at("000000000000000d"), "");
  EXPECT_EQ(dry.at("000000000000000e"), "");
  EXPECT_TRUE(exists("000000000000000d")) << "a dry run removed a layer";

  const auto done = pruned({kept}, false);
  EXPECT_EQ(done, dry);
  EXPECT_TRUE(exists("000000000000000a") && exists("000000000000000c"));
  EXPECT_FALSE(exists("000000000000000d"));
  EXPECT_FALSE(exists("000000000000000e"));

  // No image left: every layer goes.
  pruned({}, false);
  EXPECT_FALSE(exists("000000000000000a"));
}

// A build in progress (its layers/.build-* work folder) may be about to use
// layers no image is made of yet: they stay; a parent file that loops or
// names something odd ends the walk without harm.
TEST_F(LayerPrune, NothingGoesWhileABuildRunsAndABadParentLeadsNowhere) {
  layer("000000000000000a", "000000000000000b");
  layer("000000000000000b", "000000000000000a");  // a loop
  layer("000000000000000c", "../../etc");
  fs::create_directories(tmp_.path() + "/layers/.build-123");
  const auto kept = pruned({image("1111111111111111", "000000000000000a")}, false);
  EXPECT_EQ(kept.at("000000000000000a"), "part of a kept image");
  EXPECT_EQ(kept.at("000000000000000b"), "part of a kept image");
  EXPECT_NE(kept.at("000000000000000c").find("a build is running"), std::string::npos);
  EXPECT_TRUE(exists("000000000000000c"));
  EXPECT_EQ(kept.count(".build-123"), 0u);
}

TEST_F(LayerPrune, NoLayersFolderIsNothingToPrune) {
  EXPECT_TRUE(prune_layers(tmp_.path() + "/none", {}, false).empty());
}

}  // namespace
}  // namespace smolvm
