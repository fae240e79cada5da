#include "core/profile/merge.h"

namespace smolvm::profile {
namespace {

NodePtr merge_nodes(const NodePtr& base, const NodePtr& child) {
  if (base->kind != Kind::Map || child->kind != Kind::Map) return child;
  auto out = std::make_shared<Node>(*base);
  for (const Entry& c : child->entries) {
    bool merged = false;
    for (Entry& e : out->entries) {
      if (e.key == c.key) {
        // The key keeps the child's position: the value came from there.
        e = Entry{c.key, c.key_loc, merge_nodes(e.value, c.value)};
        merged = true;
        break;
      }
    }
    if (!merged) out->entries.push_back(c);
  }
  return out;
}

}  // namespace

NodePtr merge_profiles(const NodePtr& base, const NodePtr& child) {
  NodePtr merged = merge_nodes(base, child);
  if (merged->kind != Kind::Map || !merged->find("extends")) return merged;
  auto out = std::make_shared<Node>(*merged);
  std::erase_if(out->entries, [](const Entry& e) { return e.key == "extends"; });
  return out;
}

}  // namespace smolvm::profile
