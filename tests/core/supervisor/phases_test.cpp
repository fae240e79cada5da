#include "core/supervisor/phases.h"

#include <gtest/gtest.h>

namespace smolvm {
namespace {

TEST(Deadlines, NoneSetMeansWaitForever) {
  EXPECT_EQ(Deadlines{}.poll_timeout_ms(Phase::kRunning, 1000), -1);
}

TEST(Deadlines, TheNearestDeadlineWins) {
  Deadlines d;
  d.stop = 5000;
  d.kill = 3000;
  d.agent_lost = 4000;
  EXPECT_EQ(d.poll_timeout_ms(Phase::kStopping, 1000), 2000);
}

TEST(Deadlines, TheBootDeadlineCountsOnlyWhileBooting) {
  Deadlines d;
  d.boot = 2000;
  d.stop = 9000;
  EXPECT_EQ(d.poll_timeout_ms(Phase::kBooting, 1000), 1000);
  EXPECT_EQ(d.poll_timeout_ms(Phase::kRunning, 1000), 8000);
  d.stop = 0;
  EXPECT_EQ(d.poll_timeout_ms(Phase::kRunning, 1000), -1);
}

TEST(Deadlines, APassedDeadlineMeansDoNotWait) {
  Deadlines d;
  d.kill = 500;
  EXPECT_EQ(d.poll_timeout_ms(Phase::kStopping, 1000), 0);
}

}  // namespace
}  // namespace smolvm
