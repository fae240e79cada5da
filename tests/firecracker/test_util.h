// Helpers shared by the Firecracker unit tests: temporary folders and Unix
// socket servers that are real sockets in the test's own process.
#pragma once

#include <string>

namespace fctest {

// A fresh folder under /tmp (short: Unix socket paths stay < 108 bytes),
// removed with everything in it by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A listening Unix socket at path (-1 on failure, with the test failed).
int listen_unix(const std::string& path);

// Reads until `delim` has arrived (included in the result) or the peer
// closes; the bytes after delim in the same read are returned in rest.
std::string read_until(int fd, const std::string& delim, std::string* rest = nullptr);

bool write_all(int fd, const std::string& data);

void write_file(const std::string& path, const std::string& text, int mode = 0644);

}  // namespace fctest
