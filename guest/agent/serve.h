// The agent's serving loops, one per way of reaching the host.
#pragma once

#include <cstdint>
#include <string>

namespace smolvm::agent {

struct ChannelSpec {
  enum class Kind { kVirtioSerial, kVsock } kind = Kind::kVirtioSerial;
  uint32_t port = 0;
};

// "virtio-serial" or "vsock:PORT".
bool parse_channel_spec(const std::string& text, ChannelSpec& out, std::string& err);

// Host test mode on fds 0/1: one session; returns the exit status.
int serve_stdio(int signal_fd);
// Host test mode: connections on a Unix socket, one after another. Returns
// after SHUTDOWN or SIGTERM.
int serve_unix(const std::string& path, int signal_fd);
// In the guest. As init it never returns (SHUTDOWN powers off); otherwise it
// returns after SHUTDOWN or SIGTERM.
int serve_guest(const ChannelSpec& channel, bool as_init, int signal_fd);

}  // namespace smolvm::agent
