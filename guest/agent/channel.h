// Opening the byte stream the agent serves: a virtio-serial port found by
// name, or a listening vsock or Unix socket.
#pragma once

#include <cstdint>
#include <string>

namespace smolvm::agent {

// Name of the virtio-serial port the host creates for the agent.
inline constexpr const char* kAgentPortName = "smolvm.agent";

// Finds the port named `name` under /sys/class/virtio-ports and opens its
// /dev node (the guest has no udev to make a /dev/virtio-ports link).
// Returns a non-blocking fd, or -1 with err set.
int open_virtio_port(const std::string& name, std::string& err);

int listen_unix(const std::string& path, std::string& err);
int listen_vsock(uint32_t port, std::string& err);
// Accepts one pending connection: a non-blocking, close-on-exec fd or -1.
int accept_connection(int listen_fd);

// Waits up to timeout_ms (-1: forever) for fd (-1: none) to be readable,
// reaping children meanwhile so PID 1 never gathers zombies. True if
// readable.
bool wait_readable(int fd, int signal_fd, int timeout_ms);

}  // namespace smolvm::agent
