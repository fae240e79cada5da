// The agent's write queue for the channel. Everything the agent sends is
// appended here and written as the channel accepts it, so a slow host never
// blocks the event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/frame.h"

namespace smolvm::agent {

class Outbox {
 public:
  // Output frames are split at 64 KiB: well under the 1 MiB protocol limit,
  // and small enough that one busy stream does not delay the others' frames.
  static constexpr size_t kMaxChunk = 64 * 1024;

  void send(proto::Type type, uint32_t stream, std::string_view payload, uint8_t flags = 0);
  // Raw bytes, split into frames of at most kMaxChunk.
  void send_data(proto::Type type, uint32_t stream, std::string_view data);
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

}  // namespace smolvm::agent
