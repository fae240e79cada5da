#include <gtest/gtest.h>

#include "core/common/error.h"
#include "core/state/vm_state.h"

namespace smolvm {
namespace {

TEST(VmState, LegalTransitions) {
  EXPECT_TRUE(can_transition(VmState::kCreated, VmState::kStarting));
  EXPECT_TRUE(can_transition(VmState::kStarting, VmState::kRunning));
  EXPECT_TRUE(can_transition(VmState::kRunning, VmState::kStopping));
  EXPECT_TRUE(can_transition(VmState::kStopping, VmState::kStopped));
  EXPECT_TRUE(can_transition(VmState::kStopped, VmState::kStarting));
  EXPECT_TRUE(can_transition(VmState::kFailed, VmState::kStarting));
  EXPECT_TRUE(can_transition(VmState::kStarting, VmState::kFailed));
  EXPECT_TRUE(can_transition(VmState::kRunning, VmState::kStopped));
}

TEST(VmState, IllegalTransitions) {
  EXPECT_FALSE(can_transition(VmState::kCreated, VmState::kRunning));
  EXPECT_FALSE(can_transition(VmState::kRunning, VmState::kStarting));
  EXPECT_FALSE(can_transition(VmState::kStopped, VmState::kStopping));
  EXPECT_FALSE(can_transition(VmState::kCreated, VmState::kFailed));
  for (VmState s : {VmState::kCreated, VmState::kStarting, VmState::kRunning, VmState::kPaused,
                    VmState::kStopping, VmState::kStopped, VmState::kFailed}) {
    EXPECT_FALSE(can_transition(s, VmState::kCreated)) << state_name(s);
  }
}

TEST(VmState, AStopDuringBootAndAFailedSetupAreTransitionsToo) {
  EXPECT_TRUE(can_transition(VmState::kStarting, VmState::kStopped));
  EXPECT_TRUE(can_transition(VmState::kStopped, VmState::kFailed));
  EXPECT_FALSE(can_transition(VmState::kCreated, VmState::kStopped));
  EXPECT_EQ(states_leading_to(VmState::kStopped), "starting|running|paused|stopping");
}

TEST(VmState, PausedIsBetweenRunningAndRunningAndEndsLikeRunning) {
  EXPECT_TRUE(can_transition(VmState::kRunning, VmState::kPaused));
  EXPECT_TRUE(can_transition(VmState::kPaused, VmState::kRunning));
  EXPECT_TRUE(can_transition(VmState::kPaused, VmState::kStopping));
  EXPECT_TRUE(can_transition(VmState::kPaused, VmState::kStopped));
  EXPECT_TRUE(can_transition(VmState::kPaused, VmState::kFailed));
  EXPECT_FALSE(can_transition(VmState::kPaused, VmState::kPaused));
  EXPECT_FALSE(can_transition(VmState::kStarting, VmState::kPaused));
  EXPECT_FALSE(can_transition(VmState::kStopped, VmState::kPaused));
  EXPECT_FALSE(can_transition(VmState::kPaused, VmState::kStarting));
  EXPECT_TRUE(is_live(VmState::kPaused));
  EXPECT_EQ(states_leading_to(VmState::kPaused), "running");
  EXPECT_EQ(parse_state("paused"), VmState::kPaused);
}

TEST(VmState, LiveStatesAreTheOnesWithASupervisor) {
  EXPECT_TRUE(is_live(VmState::kStarting));
  EXPECT_TRUE(is_live(VmState::kRunning));
  EXPECT_TRUE(is_live(VmState::kStopping));
  EXPECT_FALSE(is_live(VmState::kCreated));
  EXPECT_FALSE(is_live(VmState::kStopped));
  EXPECT_FALSE(is_live(VmState::kFailed));
}

TEST(VmState, IllegalTransitionMessage) {
  try {
    check_transition("vm-1", VmState::kRunning, VmState::kStarting);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_ESTATE);
    EXPECT_STREQ(e.what(),
                 "vm 'vm-1' is running: cannot go to starting (allowed from "
                 "created|stopped|failed)");
  }
}

TEST(VmState, Names) {
  EXPECT_EQ(parse_state("running"), VmState::kRunning);
  EXPECT_STREQ(state_name(VmState::kStopped), "stopped");
  EXPECT_EQ(states_leading_to(VmState::kStarting), "created|stopped|failed");
  EXPECT_THROW(parse_state("zombie"), Error);
}

}  // namespace
}  // namespace smolvm
