// A write queue of frames for one non-blocking connection: everything sent
// is appended here and written as the peer accepts it, so a slow peer never
// blocks an event loop. Used by the guest agent for its channel and by the
// supervisor for its channel to the agent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/frame.h"

namespace smolvm::proto {

class Outbox {
 public:
  // Output frames are split at 64 KiB: well under the 1 MiB protocol limit,
  // and small enough that one busy stream does not delay the others' frames.
  static constexpr size_t kMaxChunk = 64 * 1024;

  void send(Type type, uint32_t stream, std::string_view payload, uint8_t flags = 0);
  // Raw bytes, split into frames of at most kMaxChunk.
  void send_data(Type type, uint32_t stream, std::string_view data);
  void send_error(uint32_t stream, std::string_view code, std::string_view message);

  size_t pending() const { return buf_.size() - off_; }
  // Writes what fd takes now; false on a write error (errno set).
  bool flush(int fd);
  // Blocks up to timeout_ms to write everything (used before closing).
  void flush_for(int fd, int timeout_ms);
  void clear();

 private:
  std::string buf_;
  size_t off_ = 0;
};

}  // namespace smolvm::proto
