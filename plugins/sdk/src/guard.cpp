// The out-of-line parts of smolvm/sdk/guard.h.
#include "smolvm/sdk/guard.h"

#include <cstring>

namespace smolvm::sdk {

void copy_out(char* out, size_t cap, const std::string& value, const char* what) {
  if (out == nullptr || value.size() + 1 > cap) {
    throw Error(SMOLVM_EINVAL, std::string(what) + " needs " + std::to_string(value.size() + 1) +
                                   " bytes; the buffer has " + std::to_string(out ? cap : 0));
  }
  std::memcpy(out, value.c_str(), value.size() + 1);
}

namespace detail {

int report(smolvm_plugin_error* err, int status, const char* op, const char* subject,
           const char* what) noexcept {
  if (subject != nullptr) {
    return smolvm_plugin_set_error(err, status, "%s '%s': %s", op, subject, what);
  }
  return smolvm_plugin_set_error(err, status, "%s: %s", op, what);
}

}  // namespace detail
}  // namespace smolvm::sdk
