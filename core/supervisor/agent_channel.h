// The supervisor's one connection to the guest agent: a non-blocking
// socket, the frames decoded from it and the bytes still to be written.
// It knows nothing of clients or phases; the supervisor decides what a
// lost channel means.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/frame.h"
#include "protocol/outbox.h"

namespace smolvm {

class AgentChannel {
 public:
  AgentChannel() = default;
  AgentChannel(const AgentChannel&) = delete;
  AgentChannel& operator=(const AgentChannel&) = delete;
  ~AgentChannel() { close(); }

  // Takes a connected socket (made non-blocking); a fresh decoder, since the
  // agent starts a new session on every connection. With an epoch (not 0),
  // the one our HELLO carries, every frame before the HELLO_OK that echoes
  // it is dropped, and bytes that do not frame are skipped: a restored VM's
  // agent may still send what it queued for a connection before the
  // snapshot, even the rest of a frame cut in half. ERROR frames on stream
  // 0 still come through (a refused HELLO).
  void attach(int fd, uint32_t epoch = 0);
  void close();
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  bool wants_write() const { return out_.pending() > 0; }
  size_t backlog() const { return out_.pending(); }

  // Queues a frame and writes what the socket takes now. False when the
  // write failed: the channel is then lost (why()); the caller closes it.
  bool send(proto::Type type, uint8_t flags, uint32_t stream, std::string_view payload);
  bool flush();

  enum class Read { kAgain, kFrames, kLost };
  // One read from the socket into the decoder; kLost names why().
  Read fill();
  // The next complete frame (after fill); kError names why().
  proto::Decoder::Result next(proto::Frame& f);
  const std::string& why() const { return why_; }
  // Still waiting for the HELLO_OK of our epoch.
  bool handshaking() const { return epoch_ != 0; }
  // Frames dropped while handshaking (from an earlier connection).
  uint64_t stale_frames() const { return stale_frames_; }

 private:
  int fd_ = -1;
  proto::Decoder decoder_;
  proto::Outbox out_;  // the same write queue as the agent's own
  std::string why_;
  uint32_t epoch_ = 0;  // 0 once the handshake is done
  uint64_t stale_frames_ = 0;
};

}  // namespace smolvm
