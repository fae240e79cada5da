#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace smolvm::test {

TempDir::TempDir() {
  char tmpl[] = "/tmp/svt-XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  if (!dir) ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
  path_ = dir ? dir : "/nonexistent";
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& text, int mode) const {
  const std::string p = *this / name;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(p).parent_path(), ec);
  write_file(p, text, mode);
  return p;
}

void write_file(const std::string& path, const std::string& text, int mode) {
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  try {
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  } catch (const std::ios_base::failure&) {
    // A read error: libstdc++ throws it through istreambuf_iterator. A
    // /proc/PID file whose process exited between open and read fails so
    // (ESRCH).
    return "";
  }
}

}  // namespace smolvm::test
