// The host end of Firecracker's hybrid vsock: a Unix socket on which the
// host asks for a guest port with "CONNECT <port>\n" and gets "OK <n>\n"
// (specs/firecracker-vsock.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace smolvm_fc {

// Connects to the guest's vsock `port` through the Unix socket at uds_path
// and returns the connected fd (blocking, close-on-exec), positioned just
// after the "OK ...\n" line: the next byte read is the guest's. Firecracker
// closes the connection while nothing in the guest listens on the port yet,
// and the socket does not exist before InstanceStart, so both are retried
// every few milliseconds until timeout_ms. still_running is asked between
// attempts (it may set why and return false to give up at once). Returns -1
// with error set on failure, and timed_out telling a deadline from the rest.
int hybrid_vsock_connect(const std::string& uds_path, uint32_t port, uint32_t timeout_ms,
                         const std::function<bool(std::string& why)>& still_running,
                         std::string& error, bool& timed_out);

}  // namespace smolvm_fc
