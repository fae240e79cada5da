#include "core/common/error.h"

#include <cerrno>
#include <cstring>

namespace smolvm {

void fail_errno(int status, const std::string& what) {
  const int saved = errno;
  throw Error(status, what + ": " + std::strerror(saved));
}

}  // namespace smolvm
