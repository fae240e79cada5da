// The smolvm::Error a call throws, as status and message, for tests of the
// core (which link it): one line per refusal instead of a try/catch.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <string>

#include "core/common/error.h"

namespace smolvm::test {

struct Failure {
  int status = 0;
  std::string message;  // empty: nothing was thrown
};

// Runs f and reports the smolvm::Error it threw. Any other exception fails
// the test: the core promises to throw nothing else.
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

}  // namespace smolvm::test
