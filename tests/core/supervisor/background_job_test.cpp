// A job on a thread of its own: its descriptor becomes readable when it
// ends, and what it wrote is there after join().
#include "core/supervisor/background_job.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace smolvm {
namespace {

bool readable(int fd, int wait_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, wait_ms) == 1 && (p.revents & POLLIN);
}

TEST(BackgroundJob, ItsDescriptorIsReadableOnceTheWorkEndedNotBefore) {
  BackgroundJob job;
  EXPECT_FALSE(job.started());
  EXPECT_EQ(job.done_fd(), -1);
  std::atomic<bool> go{false};
  int result = 0;
  job.start([&] {
    while (!go) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    result = 42;
  });
  EXPECT_TRUE(job.started());
  EXPECT_FALSE(readable(job.done_fd(), 50));
  go = true;
  EXPECT_TRUE(readable(job.done_fd(), 10000));
  job.join();
  EXPECT_EQ(result, 42);
  EXPECT_FALSE(job.started());
  EXPECT_EQ(job.done_fd(), -1);
  // Another job after the first.
  job.start([&] { result = 7; });
  job.join();
  EXPECT_EQ(result, 7);
}

TEST(BackgroundJob, OneAtATime) {
  BackgroundJob job;
  std::atomic<bool> go{false};
  job.start([&] {
    while (!go) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  EXPECT_ANY_THROW(job.start([] {}));
  go = true;
}  // the destructor waits for the work

}  // namespace
}  // namespace smolvm
