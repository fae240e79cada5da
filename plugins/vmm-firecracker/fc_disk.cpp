#include "plugins/vmm-firecracker/fc_disk.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace smolvm_fc {
namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// Copies [off, off+len) from in to out at the same offsets: copy_file_range
// (in-kernel, and a server-side copy on NFS), else read/write.
bool copy_range(int in, int out, off_t off, off_t len, std::string& error) {
  off_t in_off = off, out_off = off;
  off_t left = len;
  bool use_cfr = true;
  std::vector<char> buf;
  while (left > 0) {
    if (use_cfr) {
      const ssize_t n = copy_file_range(in, &in_off, out, &out_off, static_cast<size_t>(left), 0);
      if (n > 0) {
        left -= n;
        continue;
      }
      if (n == 0) break;  // the source shrank under us
      if (errno == EINTR) continue;
      if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) {
        error = errno_text("copy_file_range");
        return false;
      }
      use_cfr = false;
      buf.resize(1 << 20);
    }
    const size_t want = static_cast<size_t>(std::min<off_t>(left, static_cast<off_t>(buf.size())));
    const ssize_t n = pread(in, buf.data(), want, in_off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errno_text("read");
      return false;
    }
    if (n == 0) break;
    ssize_t done = 0;
    while (done < n) {
      const ssize_t w =
          pwrite(out, buf.data() + done, static_cast<size_t>(n - done), out_off + done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        error = errno_text("write");
        return false;
      }
      done += w;
    }
    in_off += n;
    out_off += n;
    left -= n;
  }
  return true;
}

bool sparse_copy_fds(int in, int out, off_t size, std::string& error) {
  // The size first: the holes between the data extents stay holes.
  if (ftruncate(out, size) != 0) {
    error = errno_text("ftruncate");
    return false;
  }
  off_t pos = 0;
  while (pos < size) {
    const off_t data = lseek(in, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole is left
      if (errno == EINVAL) return copy_range(in, out, pos, size - pos, error);  // no SEEK_DATA
      error = errno_text("lseek SEEK_DATA");
      return false;
    }
    off_t hole = lseek(in, data, SEEK_HOLE);
    if (hole < 0) hole = size;
    if (!copy_range(in, out, data, hole - data, error)) return false;
    pos = hole;
  }
  return true;
}

bool open_pair(const std::string& src, const std::string& dst, int& in, int& out, off_t& size,
               std::string& error) {
  in = open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    error = errno_text("open " + src);
    return false;
  }
  struct stat st;
  if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = src + " is not a regular file";
    return false;
  }
  size = st.st_size;
  out = open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    error = errno_text("create " + dst);
    return false;
  }
  return true;
}

}  // namespace

const char* copy_method_name(CopyMethod m) {
  return m == CopyMethod::kReflink ? "reflink" : "sparse copy";
}

bool clone_file(const std::string& src, const std::string& dst, CopyMethod& used,
                std::string& error) {
  int in_fd = -1, out_fd = -1;
  off_t size = 0;
  const bool opened = open_pair(src, dst, in_fd, out_fd, size, error);
  Fd in(in_fd), out(out_fd);
  if (!opened) return false;
  bool ok;
  if (ioctl(out.fd, FICLONE, in.fd) == 0) {
    used = CopyMethod::kReflink;
    ok = true;
  } else {
    // EOPNOTSUPP/ENOTTY (ext4, tmpfs), EXDEV (another file system), EINVAL.
    used = CopyMethod::kSparseCopy;
    ok = sparse_copy_fds(in.fd, out.fd, size, error);
  }
  if (!ok) {
    error = "copying " + src + " to " + dst + ": " + error;
    unlink(dst.c_str());
  }
  return ok;
}

bool sparse_copy(const std::string& src, const std::string& dst, std::string& error) {
  int in_fd = -1, out_fd = -1;
  off_t size = 0;
  const bool opened = open_pair(src, dst, in_fd, out_fd, size, error);
  Fd in(in_fd), out(out_fd);
  if (opened && sparse_copy_fds(in.fd, out.fd, size, error)) return true;
  if (out.fd >= 0) unlink(dst.c_str());
  return false;
}

}  // namespace smolvm_fc
