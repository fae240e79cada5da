// A scratch folder of real files for a test, removed with everything in it
// when the test is done.
#pragma once

#include <string>

namespace smolvm::test {

class TempDir {
 public:
  // Under /tmp with a short name: Unix socket paths inside stay < 108 bytes.
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  // Writes name (folders created as needed) and returns its full path.
  std::string write(const std::string& name, const std::string& text, int mode = 0644) const;

 private:
  std::string path_;
};

// Writes text to path and sets its mode.
void write_file(const std::string& path, const std::string& text, int mode = 0644);
// The whole file, or "" if it cannot be opened or read (a /proc/PID file
// of a process that just exited included).
std::string read_file(const std::string& path);

}  // namespace smolvm::test
