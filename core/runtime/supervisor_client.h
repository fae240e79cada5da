// The runtime's control connection to a VM's supervisor (VM_STOP). Command
// traffic goes through the executor plugin instead.
#pragma once

#include <cstdint>
#include <string>

namespace smolvm {

// Asks the supervisor to stop the VM within timeout_ms. Returns false if
// the supervisor could not be reached or refused (the caller then falls back
// to killing the recorded processes).
bool request_stop(const std::string& socket_path, const std::string& token, uint32_t timeout_ms,
                  bool force, std::string& error);

}  // namespace smolvm
