#include "core/common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/common/error.h"

namespace smolvm {

void make_dirs(const std::string& path, unsigned mode) {
  std::string cur;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      cur = path.substr(0, i);
      if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) {
        fail_errno(SMOLVM_EIO, "cannot create folder '" + cur + "'");
      }
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    fail(SMOLVM_EIO, "'" + path + "' is not a folder");
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_errno(SMOLVM_ENOTFOUND, "cannot read '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file_atomic(const std::string& path, const std::string& data, unsigned mode) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) fail_errno(SMOLVM_EIO, "cannot write '" + tmp + "'");
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail_errno(SMOLVM_EIO, "cannot write '" + tmp + "'");
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    fail_errno(SMOLVM_EIO, "cannot rename '" + tmp + "' to '" + path + "'");
  }
}

uint64_t copy_file_synced(const std::string& src, const std::string& dst) {
  const int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) fail_errno(SMOLVM_EIO, "cannot open '" + src + "'");
  const int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    const int e = errno;
    ::close(in);
    errno = e;
    fail_errno(SMOLVM_EIO, "cannot create '" + dst + "'");
  }
  uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, 1u << 30, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      const bool ok = n == 0 && ::fsync(out) == 0;
      ::close(in);
      ::close(out);
      if (ok) return total;
      ::unlink(dst.c_str());
      errno = n == 0 ? errno : e;
      fail_errno(SMOLVM_EIO, "cannot copy '" + src + "' to '" + dst + "'");
    }
    total += static_cast<uint64_t>(n);
  }
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  return !ec;
}

std::string tail_file(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const auto size = static_cast<size_t>(in.tellg());
  const size_t start = size > n ? size - n : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string out(size - start, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::read(fd, raw.data(), bytes) != static_cast<ssize_t>(bytes)) {
    if (fd >= 0) ::close(fd);
    fail_errno(SMOLVM_EIO, "cannot read /dev/urandom");
  }
  ::close(fd);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

}  // namespace smolvm
