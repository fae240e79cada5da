// The text of one profile file and positions in it. Every parsed node keeps a
// pointer to its Source, so after extends has merged several files an error
// still names the file, line and column the bad value came from.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace smolvm::profile {

struct Source {
  std::string display;              // the path as the user wrote it, for messages
  std::filesystem::path dir;        // absolute folder: base of relative paths in it
  std::filesystem::path path;       // absolute, normalised path of the file
  std::string text;                 // checked: valid UTF-8, YAML-printable, <= 1 MiB
  std::vector<size_t> line_starts;  // byte offset of each line, as yaml-cpp counts
};
using SourcePtr = std::shared_ptr<const Source>;

// A position as yaml-cpp reports it: 0-based line, 0-based byte column.
struct Loc {
  SourcePtr source;
  int line = -1;
  int column = -1;
};

// "file:line:column" (1-based, column in characters), or "file" when the
// position is unknown.
std::string where(const Loc& loc);

// Throws Error(SMOLVM_EINVAL, where(loc) + ": " + message).
[[noreturn]] void fail_at(const Loc& loc, const std::string& message);

// Whether a file's text says it is a profile (mentions smolvm/v1 or
// VMProfile). Only then may an error quote it: extends (or --profile) can
// name any file the process can read, such as /etc/shadow.
bool declares_profile(std::string_view text);

// The error for a file that is not a profile: names it, never quotes it.
[[noreturn]] void fail_not_a_profile(const std::string& display, int status);

// Reads a profile file: regular files only (a FIFO or device would block or
// never end), at most kProfileMaxBytes.
SourcePtr read_source(const std::filesystem::path& path, const std::string& display);

// Wraps text already in memory; `name` is shown in messages and its folder is
// the base of relative paths.
SourcePtr make_source(std::string text, const std::string& name);

}  // namespace smolvm::profile
