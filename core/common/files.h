// File helpers that fail with smolvm::Error naming the path.
#pragma once

#include <cstdint>
#include <string>

namespace smolvm {

void make_dirs(const std::string& path, unsigned mode);  // mkdir -p with mode
std::string read_file(const std::string& path);
// Writes via a temporary file and rename, so readers never see half a file.
void write_file_atomic(const std::string& path, const std::string& data, unsigned mode);
bool path_exists(const std::string& path);
// Copies src to a new file dst (mode 0600; an existing dst is an error),
// synced to disk; returns its size. On failure removes dst.
uint64_t copy_file_synced(const std::string& src, const std::string& dst);
// rm -rf; missing is fine. Returns false if something could not be removed.
bool remove_tree(const std::string& path);
// Last n bytes of a file (for error messages quoting a console log).
std::string tail_file(const std::string& path, size_t n);
// A random hex string of 2*bytes characters from /dev/urandom.
std::string random_hex(size_t bytes);

}  // namespace smolvm
