// The runtime's control connection to a VM's supervisor (VM_STOP,
// VM_PAUSE, VM_RESUME). Command traffic goes through the executor plugin
// instead.
#pragma once

#include <cstdint>
#include <string>

namespace smolvm {

// Asks the supervisor to stop the VM within timeout_ms. Returns false if
// the supervisor could not be reached or refused (the caller then falls back
// to killing the recorded processes).
bool request_stop(const std::string& socket_path, const std::string& token, uint32_t timeout_ms,
                  bool force, std::string& error);

// Asks the supervisor to pause (or resume) the VM's vCPUs and waits for its
// answer. 0, or the supervisor's smolvm_status (ESTATE, EUNSUPPORTED, ...)
// with its message in error; EIO when it could not be reached.
int request_pause(const std::string& socket_path, const std::string& token, bool pause,
                  std::string& error);

}  // namespace smolvm
