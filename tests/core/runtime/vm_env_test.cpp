// A VM's environment kept in its record, against a real SQLite store:
// merge and replace, unset, and bad names refused with nothing changed.
#include "core/runtime/vm_env.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/plugins/loader.h"
#include "tests/support/failure.h"
#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

using Env = std::map<std::string, std::string>;
using test::failure_of;

class VmEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ =
        std::make_unique<Store>(plugins_.get(SMOLVM_PLUGIN_STORE, "sqlite"), tmp_ / "store.db");
    VmRecord rec;
    rec.id = rec.spec.vm_id = "e";
    rec.state = "running";
    rec.spec.env = {"FROM_PROFILE=1"};
    store_->insert(rec);
  }
  Env stored() { return env_map(store_->get("e").spec.env); }

  test::TempDir tmp_;
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
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"OK=1", "1BAD=x"}, "env name '1BAD'"},
      {{"NO_VALUE"}, "env entry 'NO_VALUE': must be KEY=VALUE"},
      {{"=x"}, "env entry '=x'"},
      {{"A-B=1"}, "env name 'A-B': must match [A-Za-z_][A-Za-z0-9_]*"}};
  for (const auto& [entries, words] : cases) {
    const auto f = failure_of([&] { set_vm_env(*store_, "e", entries, true); });
    EXPECT_EQ(f.status, SMOLVM_EINVAL) << entries.back();
    EXPECT_NE(f.message.find(words), std::string::npos) << f.message;
  }
  EXPECT_EQ(failure_of([&] { unset_vm_env(*store_, "e", {"has space"}); }).status, SMOLVM_EINVAL);
  EXPECT_EQ(stored(), before);
}

TEST_F(VmEnvTest, AMissingVmIsNotFound) {
  EXPECT_EQ(failure_of([&] { set_vm_env(*store_, "nope", {"A=1"}, true); }).status,
            SMOLVM_ENOTFOUND);
}

}  // namespace
}  // namespace smolvm
