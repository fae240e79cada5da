// Just enough QMP to run one command: quit, stop, cont.
#pragma once

#include <string>

namespace smolvm_qemu {

// Connects to the QMP socket, negotiates capabilities, runs `command` (no
// arguments) and waits for its "return". False (with error) if QMP could
// not be reached, refused the command or did not answer in time.
bool qmp_execute(const std::string& socket_path, const std::string& command, int timeout_ms,
                 std::string& error);

// qmp_execute "quit"; QEMU closing the socket as it exits counts as the
// answer.
bool qmp_quit(const std::string& socket_path, int timeout_ms, std::string& error);

}  // namespace smolvm_qemu
