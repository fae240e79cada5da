// Helpers shared by the profile tests: a scratch folder of real files, and
// the message of the smolvm::Error a call throws.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "core/common/error.h"

namespace smolvm::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "smolvm-profile-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes name (folders created as needed) and returns its full path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::filesystem::path p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

struct Failure {
  int status = 0;
  std::string message;  // empty: nothing was thrown
};

// Runs f and reports the smolvm::Error it threw. Any other exception fails
// the test: the loader promises to throw nothing else.
inline Failure failure_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const smolvm::Error& e) {
    return {e.status(), e.what()};
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a smolvm::Error: " << e.what();
  }
  return {};
}

// A profile header every valid document needs, as lines 1-3.
inline constexpr const char* kHeader = "apiVersion: smolvm/v1\nkind: VMProfile\nname: t\n";

}  // namespace smolvm::testing
