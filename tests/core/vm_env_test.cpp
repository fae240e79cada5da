// A VM's environment kept in its record, against a real SQLite store:
// merge and replace, unset, and bad names refused with nothing changed.
#include "core/runtime/vm_env.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "core/common/error.h"
#include "core/plugins/loader.h"

namespace smolvm {
namespace {

using Env = std::map<std::string, std::string>;

class VmEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/svenv-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ =
        std::make_unique<Store>(plugins_.get(SMOLVM_PLUGIN_STORE, "sqlite"), dir_ + "/store.db");
    VmRecord rec;
    rec.id = "e";
    rec.state = "running";
    rec.spec.vm_id = "e";
    rec.spec.env = {"FROM_PROFILE=1"};
    store_->insert(rec);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  Env stored() { return env_map(store_->get("e").spec.env); }

  std::string dir_;
  PluginRegistry plugins_{SMOLVM_PLUGIN_BUILD_DIR};
  std::unique_ptr<Store> store_;
};

TEST_F(VmEnvTest, SetMergesOrReplacesAndIsStored) {
  EXPECT_EQ(set_vm_env(*store_, "e", {"A=1", "B=x=y", "A=2"}, true),
            (Env{{"A", "2"}, {"B", "x=y"}, {"FROM_PROFILE", "1"}}));
  EXPECT_EQ(stored(), (Env{{"A", "2"}, {"B", "x=y"}, {"FROM_PROFILE", "1"}}));
  EXPECT_EQ(set_vm_env(*store_, "e", {"ONLY="}, false), (Env{{"ONLY", ""}}));
  EXPECT_EQ(store_->get("e").spec.env, std::vector<std::string>{"ONLY="});
}

TEST_F(VmEnvTest, UnsetRemovesNamesAndIgnoresAbsentOnes) {
  set_vm_env(*store_, "e", {"A=1", "B=2"}, true);
  EXPECT_EQ(unset_vm_env(*store_, "e", {"A", "NEVER"}), (Env{{"B", "2"}, {"FROM_PROFILE", "1"}}));
}

TEST_F(VmEnvTest, ABadEntryIsRefusedByNameAndNothingChanges) {
  const Env before = stored();
  for (const auto& [entries, words] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"OK=1", "1BAD=x"}, "env name '1BAD'"},
           {{"NO_VALUE"}, "env entry 'NO_VALUE': must be KEY=VALUE"},
           {{"=x"}, "env entry '=x'"},
           {{"A-B=1"}, "env name 'A-B': must match [A-Za-z_][A-Za-z0-9_]*"}}) {
    try {
      set_vm_env(*store_, "e", entries, true);
      ADD_FAILURE() << "accepted " << entries.back();
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), SMOLVM_EINVAL);
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(unset_vm_env(*store_, "e", {"has space"}), Error);
  EXPECT_EQ(stored(), before);
}

TEST_F(VmEnvTest, AMissingVmIsNotFound) {
  try {
    set_vm_env(*store_, "nope", {"A=1"}, true);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_ENOTFOUND) << e.what();
  }
}

}  // namespace
}  // namespace smolvm
