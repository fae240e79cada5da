#include "core/profile/yaml_tree.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <map>
#include <set>
#include <sstream>
#include <unordered_set>

#include "core/common/error.h"
#include "core/profile/profile.h"
#include "core/profile/value_checks.h"

namespace smolvm::profile {
namespace {

bool is_digit(char c, int base) {
  if (base == 8) return c >= '0' && c <= '7';
  if (base == 16) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  return c >= '0' && c <= '9';
}

bool all_digits(std::string_view s, int base) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_digit(c, base)) return false;
  }
  return true;
}

std::string_view drop_sign(std::string_view s) {
  return (!s.empty() && (s[0] == '-' || s[0] == '+')) ? s.substr(1) : s;
}

// YAML 1.2 core schema: [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+
bool is_core_int(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o') return all_digits(s.substr(2), 8);
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x') return all_digits(s.substr(2), 16);
  return all_digits(drop_sign(s), 10);
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)
// Written out by hand: std::regex recurses per character and can overflow
// the stack on long input.
bool is_core_float(std::string_view s) {
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return true;
  std::string_view m = drop_sign(s);
  if (m == ".inf" || m == ".Inf" || m == ".INF") return true;
  size_t i = 0, int_digits = 0, frac_digits = 0;
  while (i < m.size() && is_digit(m[i], 10)) ++i, ++int_digits;
  if (i < m.size() && m[i] == '.') {
    ++i;
    while (i < m.size() && is_digit(m[i], 10)) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < m.size() && (m[i] == 'e' || m[i] == 'E')) {
    return all_digits(drop_sign(m.substr(i + 1)), 10);
  }
  return i == m.size();
}

Kind resolve_plain(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE") {
    return Kind::Bool;
  }
  if (is_core_int(s)) return Kind::Int;
  if (is_core_float(s)) return Kind::Float;
  return Kind::String;
}

// Builds the tree from yaml-cpp's events rather than YAML::Load, so the
// limits act while parsing: yaml-cpp recurses once per nesting level, and a
// throw at kProfileMaxDepth stops it long before its own guard or the stack.
class Builder : public YAML::EventHandler {
 public:
  explicit Builder(SourcePtr src) : src_(std::move(src)) {}

  NodePtr root() const { return root_; }

  Loc loc(const YAML::Mark& m) const { return Loc{src_, m.line, m.column}; }

  void OnDocumentStart(const YAML::Mark& m) override {
    if (documents_++ > 0) fail_at(loc(m), "a profile is one YAML document; found a second one");
  }
  void OnDocumentEnd() override {}

  void OnAnchor(const YAML::Mark& m, const std::string& name) override {
    // PyYAML refuses redefined anchors; so do we, to accept the same files.
    if (!anchor_names_.insert(name).second) {
      fail_at(loc(m), "anchor &" + name + " is defined twice");
    }
  }

  void OnNull(const YAML::Mark& m, YAML::anchor_t anchor) override {
    auto node = make(Kind::Null, m);
    // An empty value ("key:") is reported at the next token; point at the
    // key (or the list) instead.
    if (!spelled_at(m, {"~", "null", "Null", "NULL"}) && !stack_.empty()) {
      const Frame& f = stack_.back();
      node->loc = f.have_key ? f.key_loc : f.node->loc;
    }
    add(std::move(node), anchor);
  }

  void OnAlias(const YAML::Mark& m, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      fail_at(loc(m), "alias refers to a node that contains it (a cycle)");
    }
    count(it->second->weight, m);
    attach(it->second);
  }

  void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    check_tag(tag, m);
    // "!" is yaml-cpp's tag for quoted scalars: always strings.
    auto node = make(tag == "!" ? Kind::String : resolve_plain(value), m);
    node->text = value;
    add(std::move(node), anchor);
  }

  void OnSequenceStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(Kind::List, m, tag, anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(Kind::Map, m, tag, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    std::shared_ptr<Node> node;
    YAML::anchor_t anchor = YAML::NullAnchor;
    bool have_key = false;
    std::string key;
    Loc key_loc;
    std::unordered_set<std::string> keys;  // duplicate check without O(n^2)
  };

  bool spelled_at(const YAML::Mark& m, std::initializer_list<std::string_view> words) const {
    if (m.line < 0 || static_cast<size_t>(m.line) >= src_->line_starts.size()) return false;
    const std::string_view rest =
        std::string_view(src_->text)
            .substr(std::min(src_->text.size(),
                             src_->line_starts[m.line] + static_cast<size_t>(m.column)));
    for (std::string_view w : words) {
      if (rest.substr(0, w.size()) == w) return true;
    }
    return false;
  }

  void check_tag(const std::string& tag, const YAML::Mark& m) const {
    if (tag != "?" && tag != "!") {
      // Shown as written: yaml-cpp has expanded "!!int" to its full name.
      constexpr std::string_view kCore = "tag:yaml.org,2002:";
      const std::string shown = tag.starts_with(kCore) ? "!!" + tag.substr(kCore.size()) : tag;
      fail_at(loc(m), "YAML tag " + shown + " is not allowed: a profile is plain data");
    }
  }

  void count(size_t n, const YAML::Mark& m) {
    total_ += n;
    if (total_ > kProfileMaxNodes) {
      fail_at(loc(m), "more than " + std::to_string(kProfileMaxNodes) +
                          " YAML nodes (aliases counted in full); a profile is small");
    }
  }

  std::shared_ptr<Node> make(Kind kind, const YAML::Mark& m) {
    count(1, m);
    auto node = std::make_shared<Node>();
    node->kind = kind;
    node->loc = loc(m);
    return node;
  }

  void add(std::shared_ptr<Node> node, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) anchors_[anchor] = node;
    attach(std::move(node));
  }

  void open(Kind kind, const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor) {
    check_tag(tag, m);
    if (stack_.size() >= kProfileMaxDepth) {
      fail_at(loc(m), "lists and mappings nested deeper than " + std::to_string(kProfileMaxDepth) +
                          " levels");
    }
    if (!stack_.empty() && stack_.back().node->kind == Kind::Map && !stack_.back().have_key) {
      fail_at(loc(m), std::string("mapping keys must be strings, not ") + kind_name(kind));
    }
    Frame f;
    f.node = make(kind, m);
    f.anchor = anchor;
    stack_.push_back(std::move(f));
  }

  void close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    for (const NodePtr& item : f.node->items) f.node->weight += item->weight;
    for (const Entry& e : f.node->entries) f.node->weight += e.value->weight;
    // Registered only now: an alias inside its own anchor is a cycle.
    if (f.anchor != YAML::NullAnchor) anchors_[f.anchor] = f.node;
    attach(std::move(f.node));
  }

  void attach(NodePtr node) {
    if (stack_.empty()) {
      root_ = std::move(node);
      return;
    }
    Frame& f = stack_.back();
    if (f.node->kind == Kind::List) {
      f.node->items.push_back(std::move(node));
    } else if (!f.have_key) {
      if (node->kind != Kind::String) {
        const bool scalar = node->kind != Kind::List && node->kind != Kind::Map;
        fail_at(node->loc, std::string("mapping keys must be strings, not ") +
                               kind_name(node->kind) + (scalar ? " (quote it)" : ""));
      }
      if (!f.keys.insert(node->text).second) {
        fail_at(node->loc, "duplicate key " + quote(node->text));
      }
      f.have_key = true;
      f.key = node->text;
      f.key_loc = node->loc;
    } else {
      f.node->entries.push_back(Entry{std::move(f.key), f.key_loc, std::move(node)});
      f.have_key = false;
    }
  }

  SourcePtr src_;
  NodePtr root_;
  int documents_ = 0;
  size_t total_ = 0;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, NodePtr> anchors_;
  std::set<std::string> anchor_names_;
};

}  // namespace

const Entry* Node::find(std::string_view key) const {
  for (const Entry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Null:
      return "null";
    case Kind::Bool:
      return "a boolean";
    case Kind::Int:
      return "an integer";
    case Kind::Float:
      return "a number";
    case Kind::String:
      return "a string";
    case Kind::List:
      return "a list";
    case Kind::Map:
      return "a mapping";
  }
  return "?";
}

NodePtr parse_document(const SourcePtr& src) {
  Builder builder(src);
  try {
    std::istringstream in(src->text);
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const Error&) {
    throw;
  } catch (const YAML::Exception& e) {
    fail_at(builder.loc(e.mark), "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    fail_at(Loc{src}, std::string("cannot parse: ") + e.what());
  }
  if (NodePtr root = builder.root()) return root;
  auto empty = std::make_shared<Node>();
  empty->loc = Loc{src, 0, 0};
  return empty;
}

}  // namespace smolvm::profile
