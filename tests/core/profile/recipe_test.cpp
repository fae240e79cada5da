// Image recipes: what load_recipe makes of one (the plan the builder reads),
// and the exact message for what it refuses, on real files.
#include "core/profile/recipe.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace smolvm {
namespace {

using testing::failure_of;

constexpr const char* kRecipeHeader = "apiVersion: smolvm/v1\nkind: ImageRecipe\nname: r\n";

class Recipes : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = tmp_.path() + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
    return path;
  }
  std::string error_of(const std::string& body, int status = SMOLVM_EINVAL) {
    const std::string path = write("r.yaml", kRecipeHeader + body);
    const auto f = failure_of([&] { load_recipe(path); });
    EXPECT_EQ(f.status, status) << f.message;
    return f.message.substr(f.message.find("r.yaml"));
  }
  testing::TempDir tmp_;
};

TEST_F(Recipes, AFullRecipeBecomesItsPlan) {
  write("app/main.py", "print(1)\n");
  const std::string path = write("r.yaml", std::string(kRecipeHeader) +
                                               "packages: [git, python3-numpy=1:1.24.2-1]\n"
                                               "files:\n"
                                               "  - {src: app, dest: /opt/app}\n"
                                               "run: [\"echo built > /etc/built\"]\n"
                                               "env: {MODE: prod}\n"
                                               "user: root\n"
                                               "workdir: /opt/app\n"
                                               "disk: {size_mib: 2048}\n");
  const ImageRecipe r = load_recipe(path);
  EXPECT_EQ(r.name, "r");
  EXPECT_EQ(r.base_kind, "default");
  ASSERT_EQ(r.steps.size(), 3u);  // packages, then files, then run
  EXPECT_EQ(r.steps[0].packages, (std::vector<std::string>{"git", "python3-numpy=1:1.24.2-1"}));
  EXPECT_EQ(r.steps[1].src, tmp_.path() + "/app");  // relative to the recipe's folder
  EXPECT_EQ(r.steps[1].dest, "/opt/app");
  EXPECT_EQ(r.steps[2].command, "echo built > /etc/built");
  EXPECT_NE(r.steps[2].at.find("r.yaml:7:"), std::string::npos) << r.steps[2].at;
  const auto j = to_json(r);
  EXPECT_EQ(j["env"], nlohmann::json::array({"MODE=prod"}));
  EXPECT_EQ(j["workdir"], "/opt/app");
  EXPECT_EQ(j["disk_size_mib"], 2048);
  EXPECT_EQ(j["base"]["kind"], "default");
}

TEST_F(Recipes, ABaseRecipeNestsAndACycleIsRefused) {
  write("base/b.yaml", "apiVersion: smolvm/v1\nkind: ImageRecipe\nname: b\nrun: [\"true\"]\n");
  const std::string top = write("top.yaml",
                                "apiVersion: smolvm/v1\nkind: ImageRecipe\nname: top\n"
                                "base: {recipe: base/b.yaml}\n");
  const auto j = to_json(load_recipe(top));
  EXPECT_EQ(j["base"]["kind"], "recipe");
  EXPECT_EQ(j["base"]["recipe"]["name"], "b");
  const std::string loop = write("loop.yaml",
                                 "apiVersion: smolvm/v1\nkind: ImageRecipe\nname: loop\n"
                                 "base: {recipe: loop.yaml}\n");
  const auto f = failure_of([&] { load_recipe(loop); });
  EXPECT_EQ(f.status, SMOLVM_EINVAL);
  EXPECT_NE(f.message.find("loop.yaml:4:16: base.recipe: cycle"), std::string::npos) << f.message;
  const auto named = load_recipe(
      write("n.yaml", "apiVersion: smolvm/v1\nkind: ImageRecipe\nname: n\nbase: {image: py}\n"));
  EXPECT_EQ(named.base_kind, "image");
  EXPECT_EQ(named.base_image, "py");
}

TEST_F(Recipes, BadRecipesAreRefusedWithPositionFieldAndRule) {
  EXPECT_EQ(error_of("packages: [git, '-o=APT::x']\n"),
            "r.yaml:4:17: packages[1]='-o=APT::x': must be a Debian package name "
            "([a-z0-9][a-z0-9+.-]+), optionally =VERSION");
  EXPECT_EQ(error_of("files: [{src: r.yaml, dest: /opt/../etc/x}]\n"),
            "r.yaml:4:29: files[0].dest='/opt/../etc/x': must be an absolute path without '..' "
            "components");
  EXPECT_EQ(error_of("files: [{src: r.yaml, dest: etc/x}]\n"),
            "r.yaml:4:29: files[0].dest='etc/x': must be an absolute path without '..' "
            "components");
  EXPECT_EQ(error_of("files: [{src: nothing-here, dest: /x}]\n", SMOLVM_ENOTFOUND),
            "r.yaml:4:15: files[0].src='nothing-here': no such file or folder (" + tmp_.path() +
                "/nothing-here)");
  EXPECT_EQ(error_of("steps: []\n"),
            "r.yaml:4:1: steps: unknown key; allowed: apiVersion, kind, name, base, packages, "
            "files, run, env, user, workdir, disk");
  EXPECT_EQ(error_of("base: latest\n"),
            "r.yaml:4:7: base='latest': must be default or a mapping with image (a name) or "
            "recipe (a file)");
  EXPECT_EQ(error_of("disk: {size_mib: 10}\n"),
            "r.yaml:4:18: disk.size_mib=10: must be 64..1048576");
  EXPECT_EQ(error_of("run: ['']\n"), "r.yaml:4:7: run[0]='': must not be empty");
  EXPECT_EQ(error_of("user: Root\n"),
            "r.yaml:4:7: user='Root': must be a user name ([a-z_][a-z0-9_-]{0,31})");
}

TEST_F(Recipes, TheExamplesLoad) {
  for (const char* name : {"python-data", "node", "build"}) {
    const ImageRecipe r =
        load_recipe(std::string(PROFILE_EXAMPLES_DIR "/../images/") + name + ".yaml");
    EXPECT_EQ(r.name, name);
    EXPECT_EQ(r.steps.front().kind, "packages");
  }
}

TEST_F(Recipes, AFileThatIsNotARecipeIsNotQuoted) {
  const std::string secret = write("secret.txt", "password: hunter2\n");
  const auto f = failure_of([&] { load_recipe(secret); });
  EXPECT_EQ(f.status, SMOLVM_EINVAL);
  EXPECT_NE(f.message.find("not a SmolVM image recipe"), std::string::npos) << f.message;
  EXPECT_EQ(f.message.find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace smolvm
