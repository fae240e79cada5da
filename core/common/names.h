// Names of status codes and VM states, shared by the C API and the core
// (the supervisor links the core without the C API).
#pragma once

#include <string_view>

namespace smolvm {

const char* status_name(int status);
// The status a status_name() names; SMOLVM_ERROR for any other text.
int status_by_name(std::string_view name);
const char* vm_state_name(int state);

}  // namespace smolvm
