// Helpers shared by the profile tests: the message of the smolvm::Error a
// call throws, and a valid document header.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "core/common/error.h"
#include "tests/support/temp_dir.h"

namespace smolvm::testing {

// A scratch folder of real files (tests/support).
using smolvm::test::TempDir;

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
