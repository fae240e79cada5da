#include "core/supervisor/console_log.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/common/error.h"

namespace smolvm {
namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int open_log(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

}  // namespace

ConsoleLog::ConsoleLog(std::string path, size_t cap)
    : path_(std::move(path)), rotated_(rotated_console_log(path_)), cap_(cap) {
  ::unlink(rotated_.c_str());
  file_ = open_log(path_);
  if (file_ < 0) fail_errno(SMOLVM_EIO, "cannot create the console log " + path_);
  int p[2], s[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    close_fd(file_);
    fail_errno(SMOLVM_EIO, "pipe for the console");
  }
  if (::pipe2(s, O_CLOEXEC) != 0) {
    ::close(p[0]);
    ::close(p[1]);
    close_fd(file_);
    fail_errno(SMOLVM_EIO, "pipe for the console");
  }
  pipe_r_ = p[0];
  pipe_w_ = p[1];
  stop_r_ = s[0];
  stop_w_ = s[1];
  // A larger pipe lets boot output through while the supervisor is busy
  // elsewhere; failing is harmless (64 KiB).
  ::fcntl(pipe_w_, F_SETPIPE_SZ, 1 << 20);
}

ConsoleLog::~ConsoleLog() {
  if (thread_.joinable()) {
    [[maybe_unused]] const ssize_t n = ::write(stop_w_, "x", 1);
    thread_.join();
  }
  for (int* fd : {&pipe_r_, &pipe_w_, &stop_r_, &stop_w_, &file_}) close_fd(*fd);
}

void ConsoleLog::close_write_end() { close_fd(pipe_w_); }

void ConsoleLog::start() {
  thread_ = std::thread([this] { copy_loop(); });
}

void ConsoleLog::append(const char* data, size_t len) {
  while (len > 0 && file_ >= 0) {
    if (written_ >= cap_) {
      // Only system calls here: the supervisor forks (plugins run helper
      // commands) while this thread runs.
      ::rename(path_.c_str(), rotated_.c_str());
      close_fd(file_);
      file_ = open_log(path_);
      written_ = 0;
      if (file_ < 0) return;  // the rest of the console is dropped
    }
    const size_t n = std::min(len, cap_ - written_);
    const ssize_t w = ::write(file_, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // disk full or I/O error: drop, never block the VMM
    written_ += static_cast<size_t>(w);
    data += w;
    len -= static_cast<size_t>(w);
  }
}

void ConsoleLog::copy_loop() {
  char buf[64 * 1024];
  bool stopping = false;
  // After the stop request: at most what a full pipe holds (1 MiB), so a
  // VMM still writing cannot keep the supervisor from ending.
  int reads_left = 16;
  for (;;) {
    if (stopping && reads_left-- == 0) return;
    pollfd fds[2] = {{pipe_r_, POLLIN, 0}, {stop_r_, POLLIN, 0}};
    // Once asked to stop, take only what is already in the pipe.
    if (::poll(fds, stopping ? 1 : 2, stopping ? 0 : -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) stopping = true;
    if (fds[0].revents) {
      const ssize_t n = ::read(pipe_r_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // every writer (the VMM) is gone
      append(buf, static_cast<size_t>(n));
      continue;
    }
    if (stopping) return;
  }
}

}  // namespace smolvm
