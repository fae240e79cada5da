#include "test_util.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "plugins/vmm-firecracker/fc_jail.h"

namespace fctest {

TempDir::TempDir() {
  char tmpl[] = "/tmp/fct-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  if (!dir) ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
  path_ = dir ? dir : "/nonexistent";
}

TempDir::~TempDir() { smolvm_fc::remove_tree(path_); }

int listen_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(fd, 8) != 0) {
    ADD_FAILURE() << "listening on " << path << ": " << std::strerror(errno);
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

std::string read_until(int fd, const std::string& delim, std::string* rest) {
  std::string buf;
  char chunk[4096];
  for (;;) {
    const auto at = buf.find(delim);
    if (at != std::string::npos) {
      if (rest) *rest = buf.substr(at + delim.size());
      return buf.substr(0, at + delim.size());
    }
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return buf;
    buf.append(chunk, static_cast<size_t>(n));
  }
}

bool write_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

void write_file(const std::string& path, const std::string& text, int mode) {
  std::ofstream(path, std::ios::binary) << text;
  chmod(path.c_str(), static_cast<mode_t>(mode));
}

}  // namespace fctest
