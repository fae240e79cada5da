// The lifetime clocks (core/supervisor/lifetime.h): the ttl counts running
// time only, the idle clock only time with nothing under way.
#include "core/supervisor/lifetime.h"

#include <gtest/gtest.h>

namespace smolvm {
namespace {

using Due = LifetimeClock::Due;

TEST(LifetimeClock, NoLimitsNeverComeDue) {
  LifetimeClock c;
  c.run(1000);
  EXPECT_EQ(c.due(1000000000), Due::kNothing);
  EXPECT_EQ(c.next_deadline(), 0);
  EXPECT_EQ(c.ttl_left(5000), -1);
}

TEST(LifetimeClock, TheTtlCountsRunningTimeOnlyNotPausedTime) {
  LifetimeClock c(10000, 0);
  EXPECT_EQ(c.ttl_left(0), 10000);  // not running yet: the whole ttl
  c.run(1000);
  EXPECT_EQ(c.next_deadline(), 11000);
  c.pause(4000);  // 3 s ran
  EXPECT_EQ(c.ttl_left(50000), 7000);
  EXPECT_EQ(c.due(50000), Due::kNothing);
  EXPECT_EQ(c.next_deadline(), 0);
  c.run(60000);
  EXPECT_EQ(c.due(66999), Due::kNothing);
  EXPECT_EQ(c.due(67000), Due::kTtl);
  EXPECT_EQ(c.ttl_left(70000), 0);
}

TEST(LifetimeClock, TheIdleClockRunsOnlyWhileNothingIsUnderWay) {
  LifetimeClock c(0, 2000);
  c.run(0);
  EXPECT_EQ(c.next_deadline(), 2000);
  c.set_busy(true, 1500);  // a command starts
  EXPECT_EQ(c.due(100000), Due::kNothing);
  EXPECT_EQ(c.next_deadline(), 0);
  c.set_busy(false, 100000);  // ... and ends: the clock starts again
  EXPECT_EQ(c.due(101999), Due::kNothing);
  EXPECT_EQ(c.due(102000), Due::kIdle);
  // Paused (by that idle timeout) and resumed: a fresh idle period.
  c.pause(102000);
  EXPECT_EQ(c.due(500000), Due::kNothing);
  c.run(500000);
  EXPECT_EQ(c.due(501000), Due::kNothing);
  EXPECT_EQ(c.due(502000), Due::kIdle);
}

TEST(LifetimeClock, AStreamUnderWayAtResumeKeepsTheIdleClockStopped) {
  LifetimeClock c(0, 1000);
  c.set_busy(true, 0);
  c.run(0);
  EXPECT_EQ(c.due(5000), Due::kNothing);
  c.set_busy(false, 5000);
  EXPECT_EQ(c.due(6000), Due::kIdle);
}

TEST(LifetimeClock, TheTtlComesFirstWhenBothHavePassed) {
  LifetimeClock c(3000, 3000);
  c.run(0);
  EXPECT_EQ(c.next_deadline(), 3000);
  EXPECT_EQ(c.due(3000), Due::kTtl);
}

}  // namespace
}  // namespace smolvm
