// load_profile: read a file, follow its extends chain, check every file on
// its own and the merged result, and build the Profile.
#include <filesystem>
#include <new>
#include <vector>

#include "core/common/error.h"
#include "core/profile/convert.h"
#include "core/profile/merge.h"
#include "core/profile/profile.h"
#include "core/profile/schema_check.h"
#include "core/profile/source.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;
using namespace profile;

struct Link {
  SourcePtr source;
  NodePtr root;
  fs::path canonical;  // symlinks resolved, for cycle detection
};

fs::path canonical_of(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(p, ec);
  return ec ? p : c;
}

std::string chain_text(const std::vector<Link>& chain, const std::string& next) {
  std::string text;
  for (const Link& l : chain) text += l.source->display + " -> ";
  return text + next;
}

// Parses and checks one file on its own. A file that does not say it is a
// profile fails without its text (declares_profile).
NodePtr parse_checked(const SourcePtr& src) {
  try {
    NodePtr root = parse_document(src);
    check_profile_document(*root);
    return root;
  } catch (const Error& e) {
    if (declares_profile(src->text)) throw;
    fail_not_a_profile(src->display, e.status());
  }
}

// Follows extends from top to the root of the chain: child first.
std::vector<Link> read_chain(SourcePtr src) {
  std::vector<Link> chain;
  for (;;) {
    NodePtr root = parse_checked(src);
    chain.push_back(Link{src, root, canonical_of(src->path)});
    const Entry* ext = root->find("extends");
    if (!ext) return chain;
    const Node& at = *ext->value;
    const fs::path rel(at.text);
    const fs::path target = rel.is_absolute() ? rel : src->dir / rel;
    // Shown relative to the way the user named the first file.
    const std::string display =
        rel.is_absolute()
            ? rel.string()
            : (fs::path(src->display).parent_path() / rel).lexically_normal().string();
    const fs::path canonical = canonical_of(target);
    for (const Link& l : chain) {
      if (l.canonical == canonical)
        fail_at(at.loc, "extends: cycle: " + chain_text(chain, display));
    }
    if (chain.size() >= kProfileMaxExtends + 1) {
      fail_at(at.loc, "extends: more than " + std::to_string(kProfileMaxExtends) +
                          " levels: " + chain_text(chain, display));
    }
    try {
      src = read_source(target, display);
    } catch (const Error& e) {
      throw Error(e.status(), where(at.loc) + ": extends: " + e.what());
    }
  }
}

Profile load(const std::function<SourcePtr()>& open_top, const std::string& name) {
  try {
    const std::vector<Link> chain = read_chain(open_top());
    NodePtr merged = chain.back().root;
    for (size_t i = chain.size() - 1; i-- > 0;) merged = merge_profiles(merged, chain[i].root);
    // Each file passed on its own, but rules across fields wait for the
    // merge when a file extends another.
    if (chain.size() > 1) check_profile_document(*merged);
    Profile p = to_profile(*merged);
    p.source_path = chain.front().source->path.string();
    for (const Link& l : chain) p.extends_chain.push_back(l.source->path.string());
    // The checks above mirror the schema; VmSpec gets the last word.
    VmSpec spec = p.spec;
    if (spec.vm_id.empty()) spec.vm_id = "profile";
    try {
      validate(spec);
    } catch (const Error& e) {
      fail(SMOLVM_EINVAL, name + ": " + e.what());
    }
    return p;
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    fail(SMOLVM_ENOMEM, name + ": out of memory while loading the profile");
  } catch (const std::exception& e) {
    fail(SMOLVM_ERROR, name + ": " + e.what());
  }
}

}  // namespace

Profile load_profile(const std::string& path) {
  return load([&] { return read_source(path, path); }, path);
}

Profile load_profile_from_string(const std::string& text, const std::string& virtual_name) {
  return load([&] { return make_source(text, virtual_name); }, virtual_name);
}

}  // namespace smolvm
