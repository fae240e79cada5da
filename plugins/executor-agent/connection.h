// A client connection to a VM's supervisor speaking the agent protocol
// (docs/protocol.md): many streams on one socket, demultiplexed into
// per-stream queues as frames arrive.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include "protocol/frame.h"

namespace smolvm_agent_exec {

struct StreamQueue {
  std::deque<smolvm::proto::Frame> frames;
};

class Connection {
 public:
  ~Connection();

  // Connects and completes HELLO; on failure returns a status and sets error.
  int open(const std::string& socket_path, const std::string& token, uint32_t timeout_ms,
           std::string& error);

  uint32_t open_stream();  // a fresh stream id, with its queue
  void close_stream(uint32_t id);
  StreamQueue* queue(uint32_t id);

  // Sends one frame; false (with error set) if the connection broke.
  bool send(smolvm::proto::Type type, uint8_t flags, uint32_t stream, std::string_view payload);
  // As send, but gives up when the frame is not all taken within wait_ms
  // (-1: never; a frozen guest stops the supervisor reading): returns 0,
  // SMOLVM_ETIMEOUT or SMOLVM_EIO. A frame cut off half-way cannot be resumed, so the
  // connection is then shut down (the supervisor drops its streams).
  int send_within(smolvm::proto::Type type, uint8_t flags, uint32_t stream,
                  std::string_view payload, int32_t wait_ms);

  // Reads what arrives within wait_ms (-1: until something does) and files
  // frames into their queues. Returns 0, SMOLVM_ETIMEOUT, or an error.
  int pump(int32_t wait_ms);

  bool broken() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  int fd_ = -1;
  smolvm::proto::Decoder decoder_;
  uint32_t next_stream_ = 1;
  std::map<uint32_t, StreamQueue> streams_;
  std::string error_;
};

// Milliseconds until deadline, at least 0: a bounded wait for poll.
int32_t ms_until(std::chrono::steady_clock::time_point deadline);

// "ENOTFOUND" -> SMOLVM_ENOTFOUND ...; unknown names map to SMOLVM_ERROR.
int status_from_code(const std::string& code);

}  // namespace smolvm_agent_exec
