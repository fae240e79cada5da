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
  // agent starts a new session on every connection.
  void attach(int fd);
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

 private:
  int fd_ = -1;
  proto::Decoder decoder_;
  proto::Outbox out_;  // the same write queue as the agent's own
  std::string why_;
};

}  // namespace smolvm
