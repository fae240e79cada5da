// Names of status codes and VM states, shared by the C API and the core
// (the supervisor links the core without the C API).
#pragma once

namespace smolvm {

const char* status_name(int status);
const char* vm_state_name(int state);

}  // namespace smolvm
