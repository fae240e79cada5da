// A parsed profile document: plain data (null, bool, int, float, string,
// list, mapping) with the position of every node. Scalars are typed by the
// YAML 1.2 core schema, the one JSON Schema validators see through PyYAML in
// tests/core/profile/check_corpus.py, so `yes` is a string and `0x10` is 16.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/profile/source.h"

namespace smolvm::profile {

enum class Kind { Null, Bool, Int, Float, String, List, Map };

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Entry {
  std::string key;
  Loc key_loc;
  NodePtr value;
};

struct Node {
  Kind kind = Kind::Null;
  Loc loc;
  std::string text;            // a scalar's value as written (unquoted)
  std::vector<NodePtr> items;  // Kind::List
  std::vector<Entry> entries;  // Kind::Map, in file order, keys unique
  size_t weight = 1;           // nodes in this tree, aliases expanded

  const Entry* find(std::string_view key) const;
};

// "a string", "an integer", ... for messages.
const char* kind_name(Kind kind);

// Parses the one YAML document in src. An empty document is a Null node.
// Refuses, with the position: syntax errors, more than one document, tags
// (a profile is plain data), non-string or duplicate keys, anchors defined
// twice or aliases into their own node, nesting deeper than
// kProfileMaxDepth and more than kProfileMaxNodes nodes.
NodePtr parse_document(const SourcePtr& src);

}  // namespace smolvm::profile
