#include "core/supervisor/router.h"

namespace smolvm {

std::optional<uint32_t> StreamRouter::open(uint64_t client, uint32_t local, proto::Type kind) {
  if (local == 0 || by_client_.count({client, local})) return std::nullopt;
  uint32_t global = next_;
  // Skip 0 and ids still in use after wrap-around.
  while (global == 0 || routes_.count(global)) ++global;
  next_ = global + 1;
  routes_[global] = Route{client, local, kind};
  by_client_[{client, local}] = global;
  return global;
}

std::optional<uint32_t> StreamRouter::to_global(uint64_t client, uint32_t local) const {
  auto it = by_client_.find({client, local});
  if (it == by_client_.end()) return std::nullopt;
  return it->second;
}

const StreamRouter::Route* StreamRouter::from_global(uint32_t global) const {
  auto it = routes_.find(global);
  return it == routes_.end() ? nullptr : &it->second;
}

bool StreamRouter::ends_stream(const Route& route, const proto::Frame& f) {
  using proto::Type;
  switch (f.type) {
    case Type::kExit:
    case Type::kError:
    case Type::kDone:
      return true;
    case Type::kData:
      return route.kind == Type::kFileRead && f.end();
    default:
      return false;
  }
}

void StreamRouter::close(uint32_t global) {
  auto it = routes_.find(global);
  if (it == routes_.end()) return;
  if (it->second.client) by_client_.erase({it->second.client, it->second.local});
  routes_.erase(it);
}

std::vector<std::pair<uint32_t, proto::Type>> StreamRouter::orphan_client(uint64_t client) {
  std::vector<std::pair<uint32_t, proto::Type>> out;
  for (auto& [global, route] : routes_) {
    if (route.client != client) continue;
    by_client_.erase({client, route.local});
    route.client = 0;
    out.emplace_back(global, route.kind);
  }
  return out;
}

std::vector<uint32_t> StreamRouter::all() const {
  std::vector<uint32_t> out;
  for (const auto& [global, route] : routes_) out.push_back(global);
  return out;
}

}  // namespace smolvm
