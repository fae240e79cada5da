// Just enough QMP to ask QEMU to quit cleanly.
#pragma once

#include <string>

namespace smolvm_qemu {

// Connects to the QMP socket, negotiates capabilities and sends "quit".
// False (with error) if QMP could not be reached or did not answer.
bool qmp_quit(const std::string& socket_path, int timeout_ms, std::string& error);

}  // namespace smolvm_qemu
