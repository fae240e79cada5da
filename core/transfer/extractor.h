// Unpacks a tar stream a guest produced into a host folder, treating every
// byte as hostile (docs: README "Reliability and least privilege"):
//  - tar is parsed by libarchive; the writes are ours, each one relative to
//    a descriptor of DEST with no symlink in any path component, so nothing
//    lands outside DEST, also through symlinks an earlier copy left there;
//  - no owner is applied, no setuid/setgid/sticky bit, modes are
//    member & 0777 & ~umask; devices, FIFOs and sockets are skipped;
//    symlinks are created as symlinks and never followed; hard links become
//    copies of a member of the same archive;
//  - DEST's own owner and mode never change ("." is skipped); existing
//    folders are reused as they are;
//  - every file and symlink is written under a temporary name and renamed
//    into place only by commit(), after the guest command succeeded: until
//    then nothing stands under its final name, and a failure (or dropping
//    the Extractor) removes everything the copy created.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/transfer/budget.h"
#include "core/transfer/host_fs.h"

struct archive;  // libarchive's, kept out of this header
struct archive_entry;

namespace smolvm::transfer {

// The next bytes of the stream; an empty view at its end. Valid until the
// next call. May throw (a timeout, the guest failing).
using Source = std::function<std::string_view()>;

struct ExtractStats {
  uint64_t files = 0, dirs = 0, symlinks = 0;
  uint64_t skipped = 0;  // devices, FIFOs, sockets
};

class Extractor {
 public:
  // Opens DEST, creating it (and missing parents) with 0777 & ~umask.
  Extractor(const std::string& dest, Budget& budget);
  ~Extractor();  // rolls back unless committed
  Extractor(const Extractor&) = delete;
  Extractor& operator=(const Extractor&) = delete;

  // Reads the whole archive from source (and whatever follows it, to the
  // end) and stages its members. Throws on the first bad member.
  ExtractStats unpack(const Source& source);
  // Moves every staged member to its final name and gives created folders
  // their modes.
  void commit();

 private:
  // Kept small: a guest may send millions of empty members.
  struct Staged {
    uint32_t parent;  // index in parents_; the final name ends the map's key
    uint32_t tmp;     // temporary name: tmp_prefix_ + tmp, in the parent
    bool is_file;
  };
  struct CreatedDir {
    std::string rel;
    mode_t mode;
  };

  void member(::archive* ar, ::archive_entry* entry, ExtractStats& stats);
  // The parent folder of comps[0..n), created (0700 until commit) where
  // missing when create is set.
  int parent_fd(const std::vector<std::string>& comps, size_t n, const std::string& member,
                bool create);
  void make_dir(const std::vector<std::string>& comps, const std::string& member, mode_t mode);
  // Removes an earlier staging of the same name; refuses an existing folder.
  void prepare_slot(int pfd, const std::string& rel, const std::string& name,
                    const std::string& member);
  uint32_t parent_index(const std::string& parent);
  std::string temp_name(const Staged& s) const { return tmp_prefix_ + std::to_string(s.tmp); }
  // The parent folder of a staged member, opened again (commit, rollback).
  Fd staged_parent(const Staged& s) const;
  void write_file(::archive* ar, int fd, const std::string& member, int64_t size);
  void copy_file(int from, int to, const std::string& member);
  void rollback() noexcept;

  std::string dest_;
  Budget& budget_;
  Fd dest_fd_;
  mode_t umask_;
  std::vector<std::string> created_path_;  // DEST and parents we made, deepest first
  std::string tmp_prefix_;
  uint32_t tmp_counter_ = 0;
  std::map<std::string, Staged> staged_;  // by final relative path
  std::vector<std::string> parents_;      // relative to DEST, "" for DEST itself
  std::map<std::string, uint32_t> parent_index_;
  std::vector<CreatedDir> created_dirs_;  // in creation order
  std::map<std::string, size_t> created_index_;
  std::optional<std::string> cached_parent_;  // the last parent looked up, if any
  Fd cached_fd_;
  bool committed_ = false;
  std::exception_ptr* source_error_ = nullptr;  // the stream's failure, during unpack()
};

// Splits a member name into components; refuses absolute names and "..".
// "." components and empty ones vanish ("." itself gives no component).
std::vector<std::string> member_components(const std::string& name);

}  // namespace smolvm::transfer
