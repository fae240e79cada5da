// File-system primitives for writing what a guest sent under a host folder
// without ever following a symlink: every lookup goes through openat2 with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS.
#pragma once

#include <sys/types.h>

#include <string>

namespace smolvm::transfer {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// openat2 of rel (relative, no symlink in any component, never leaving
// dirfd); -1 with errno set on failure.
int open_beneath(int dirfd, const std::string& rel, int flags, mode_t mode = 0);

// The process umask, read from /proc/self/status: umask() would have to set
// it to read it, a race with other threads creating files.
mode_t current_umask();

// A member name fit for an error message: control bytes escaped, cut short.
std::string printable(const std::string& s);

}  // namespace smolvm::transfer
