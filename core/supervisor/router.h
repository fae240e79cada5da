// Stream routing between many client connections and the one agent
// channel: each client numbers its own streams; the router maps them to
// channel-wide ids and back, and knows when a stream has ended.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "protocol/frame.h"

namespace smolvm {

class StreamRouter {
 public:
  struct Route {
    uint64_t client = 0;  // 0: the client went away (orphaned stream)
    uint32_t local = 0;
    proto::Type kind = proto::Type::kExec;
  };

  // A client opens stream `local` with an EXEC/FILE_WRITE/FILE_READ frame.
  // Returns the channel-wide id, or nullopt if local is already live.
  std::optional<uint32_t> open(uint64_t client, uint32_t local, proto::Type kind);
  // Channel-wide id of a live client stream.
  std::optional<uint32_t> to_global(uint64_t client, uint32_t local) const;
  // Route of an agent frame's stream, if known.
  const Route* from_global(uint32_t global) const;
  // Whether this agent frame ends its stream.
  static bool ends_stream(const Route& route, const proto::Frame& frame);
  void close(uint32_t global);
  // Detaches every stream of a client; returns their ids and kinds so the
  // caller can cancel them in the guest.
  std::vector<std::pair<uint32_t, proto::Type>> orphan_client(uint64_t client);
  // Every live stream (for failing them when the agent goes away).
  std::vector<uint32_t> all() const;
  size_t size() const { return routes_.size(); }

 private:
  uint32_t next_ = 1;
  std::map<uint32_t, Route> routes_;
  std::map<std::pair<uint64_t, uint32_t>, uint32_t> by_client_;
};

}  // namespace smolvm
