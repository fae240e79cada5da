// The core's one exception type: a smolvm_status plus a message that names
// the field, the value and what is allowed. The C API turns it into a return
// code and smolvm_last_error(); nothing else crosses that boundary.
#pragma once

#include <stdexcept>
#include <string>

#include "smolvm/smolvm.h"

namespace smolvm {

class Error : public std::runtime_error {
 public:
  Error(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

[[noreturn]] inline void fail(int status, const std::string& message) {
  throw Error(status, message);
}

// errno-based failure: "what: strerror(errno)".
[[noreturn]] void fail_errno(int status, const std::string& what);

}  // namespace smolvm
