// One piece of work on a thread of its own while the supervisor's event
// loop goes on, and a descriptor the loop polls to learn that it ended
// (a snapshot's state is written this way: the loop answers meanwhile).
#pragma once

#include <functional>
#include <thread>

namespace smolvm {

class BackgroundJob {
 public:
  BackgroundJob() = default;
  BackgroundJob(const BackgroundJob&) = delete;
  BackgroundJob& operator=(const BackgroundJob&) = delete;
  ~BackgroundJob();  // waits for the work

  // Runs work on a new thread; one job at a time. Throws (EIO) when no
  // thread or descriptor can be had.
  void start(std::function<void()> work);
  bool started() const { return thread_.joinable(); }
  // Readable once the work has ended; -1 when none was started.
  int done_fd() const { return done_fd_; }
  // Waits for the work to end (at once after done_fd is readable).
  void join();

 private:
  std::thread thread_;
  int done_fd_ = -1;
};

}  // namespace smolvm
