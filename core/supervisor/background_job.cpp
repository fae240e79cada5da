#include "core/supervisor/background_job.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <system_error>

#include "core/common/error.h"

namespace smolvm {

BackgroundJob::~BackgroundJob() { join(); }

void BackgroundJob::start(std::function<void()> work) {
  if (started()) fail(SMOLVM_EBUSY, "a background job is already running");
  done_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (done_fd_ < 0) fail_errno(SMOLVM_EIO, "eventfd");
  const int fd = done_fd_;
  try {
    thread_ = std::thread([fd, work = std::move(work)] {
      work();
      const uint64_t one = 1;
      // Cannot fail on an eventfd of ours short of overflow.
      (void)!::write(fd, &one, sizeof one);
    });
  } catch (const std::system_error& e) {
    ::close(done_fd_);
    done_fd_ = -1;
    fail(SMOLVM_EIO, std::string("cannot start a thread: ") + e.what());
  }
}

void BackgroundJob::join() {
  if (thread_.joinable()) thread_.join();
  if (done_fd_ >= 0) ::close(done_fd_);
  done_fd_ = -1;
}

}  // namespace smolvm
