// The one writer of VM records, against a real SQLite store: transitions
// are compare-and-set and say which states clashed; record_end writes a
// VM's end once, whoever calls it first.
#include "core/state/vm_writer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "core/common/error.h"
#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

class VmWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    store_ =
        std::make_unique<Store>(plugins_.get(SMOLVM_PLUGIN_STORE, "sqlite"), dir_ + "/store.db");
    VmRecord rec;
    rec.id = "w";
    rec.state = "created";
    rec.spec.vm_id = "w";
    rec.runtime.vm_dir = dir_ + "/vms/w";
    store_->insert(rec);
  }
  void TearDown() override { store_.reset(); }
  // Puts the row in `state` the way a crashed old writer would have.
  void force_state(const std::string& state) { store_->update("w", state, nullptr, nullptr, ""); }
  std::string message_of(const std::function<void()>& f, int status) {
    try {
      f();
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), status) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "no error";
    return "";
  }

  test::TempDir tmp_;
  std::string dir_;
  PluginRegistry plugins_{SMOLVM_PLUGIN_BUILD_DIR};
  std::unique_ptr<Store> store_;
};

TEST_F(VmWriterTest, TransitionMovesTheStateAndAppliesThePatchToTheStoredRecord) {
  const VmRecord out = transition(*store_, "w", VmState::kCreated, VmState::kStarting,
                                  [](VmRecord& r) { r.runtime.accel = "tcg"; });
  EXPECT_EQ(out.state, "starting");
  const VmRecord rec = store_->get("w");
  EXPECT_EQ(rec.state, "starting");
  EXPECT_EQ(rec.runtime.accel, "tcg");
  EXPECT_EQ(rec.runtime.vm_dir, dir_ + "/vms/w");
}

TEST_F(VmWriterTest, AnIllegalTransitionIsRefusedNamingTheStates) {
  const int64_t before = store_->get("w").updated_at_ms;
  EXPECT_EQ(message_of([&] { transition(*store_, "w", VmState::kCreated, VmState::kRunning); },
                       SMOLVM_ESTATE),
            "vm 'w' is created: cannot go to running (allowed from starting|paused)");
  EXPECT_EQ(store_->get("w").state, "created");
  EXPECT_EQ(store_->get("w").updated_at_ms, before);
}

TEST_F(VmWriterTest, ATransitionFromAStateTheVmLeftIsRefusedAndWritesNothing) {
  force_state("stopped");
  const VmRecord before = store_->get("w");
  bool patched = false;
  EXPECT_EQ(message_of(
                [&] {
                  transition(*store_, "w", VmState::kRunning, VmState::kStopping,
                             [&](VmRecord&) { patched = true; });
                },
                SMOLVM_ESTATE),
            "vm 'w' is stopped, not running: cannot go to stopping (another process changed it)");
  EXPECT_FALSE(patched);
  const VmRecord after = store_->get("w");
  EXPECT_EQ(after.state, "stopped");
  EXPECT_EQ(after.updated_at_ms, before.updated_at_ms);
}

TEST_F(VmWriterTest, UpdateRecordKeepsTheStateAndUpdateInRefusesAnotherState) {
  force_state("running");
  update_record(*store_, "w", [](VmRecord& r) { r.runtime.setup_done = true; });
  EXPECT_EQ(store_->get("w").state, "running");
  EXPECT_TRUE(store_->get("w").runtime.setup_done);
  EXPECT_EQ(message_of(
                [&] {
                  update_record_in(*store_, "w", VmState::kStarting, [](VmRecord& r) {
                    r.runtime.limits.cgroup = {{"x", 1}};
                  });
                },
                SMOLVM_ESTATE),
            "vm 'w' is running, not starting: its record is not changed (another process "
            "changed it)");
  EXPECT_TRUE(store_->get("w").runtime.limits.cgroup.is_null());
}

TEST_F(VmWriterTest, RecordEndWritesTheEndOnceWhoeverComesFirst) {
  force_state("running");
  update_record(*store_, "w", [](VmRecord& r) {
    r.runtime.supervisor_pid = 11;
    r.runtime.vmm_pid = 12;
  });
  store_->set_process({"w", "supervisor", 11, 1});
  EXPECT_TRUE(record_end(*store_, "w", {VmState::kFailed, "the VMM died", ""}));
  const VmRecord ended = store_->get("w");
  EXPECT_EQ(ended.state, "failed");
  EXPECT_EQ(ended.runtime.supervisor_pid, 0);
  EXPECT_EQ(ended.runtime.vmm_pid, 0);
  EXPECT_EQ(ended.runtime.last_error, "the VMM died");
  EXPECT_GT(ended.runtime.stopped_at_ms, 0);
  EXPECT_TRUE(store_->processes("w").empty());
  // The second writer (a client that found the supervisor gone, or the
  // supervisor after a client) changes nothing.
  EXPECT_FALSE(record_end(*store_, "w", {VmState::kStopped, "", ""}));
  const VmRecord again = store_->get("w");
  EXPECT_EQ(again.state, "failed");
  EXPECT_EQ(again.runtime.last_error, "the VMM died");
  EXPECT_EQ(again.updated_at_ms, ended.updated_at_ms);
}

TEST_F(VmWriterTest, RecordEndOfABootCalledOffIsStoppedAndNeverEndsAVmNotLive) {
  EXPECT_FALSE(record_end(*store_, "w", {VmState::kStopped, "", ""}));  // created
  EXPECT_EQ(store_->get("w").state, "created");
  force_state("starting");
  EXPECT_TRUE(record_end(*store_, "w", {VmState::kStopped, "", "stopped while booting"}));
  EXPECT_EQ(store_->get("w").state, "stopped");
  EXPECT_EQ(store_->get("w").runtime.last_exit, "stopped while booting");
  EXPECT_FALSE(record_end(*store_, "gone", {VmState::kFailed, "x", ""}));
  EXPECT_EQ(message_of(
                [&] {
                  record_end(*store_, "w", {VmState::kRunning, "", ""});
                },
                SMOLVM_EINVAL),
            "a VM ends stopped or failed, not running");
}

}  // namespace
}  // namespace smolvm
