#include "core/transfer/extractor.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

#include "core/common/error.h"
#include "core/common/files.h"

namespace smolvm::transfer {
namespace {

std::string join(const std::vector<std::string>& comps, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += '/';
    out += comps[i];
  }
  return out;
}

std::string final_name(const std::string& rel) { return rel.substr(rel.find_last_of('/') + 1); }

// What a member costs against max_bytes beyond its data: a block on the
// host's disk for its inode and folder entry. It also bounds how many
// members (and so how much of the client's memory) one transfer can take.
constexpr uint64_t kMemberBytes = 4096;

[[noreturn]] void fail_member(const std::string& member, const std::string& why) {
  fail(SMOLVM_EIO, "member '" + printable(member) + "' of the guest's archive: " + why);
}

[[noreturn]] void fail_member_errno(const std::string& member, const std::string& what) {
  const int e = errno;
  fail_member(member, what + ": " + std::strerror(e));
}

void write_all_at(int fd, const char* data, size_t len, int64_t offset, const std::string& member) {
  while (len > 0) {
    const ssize_t n = ::pwrite(fd, data, len, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_member_errno(member, "cannot write on the host");
    }
    data += n;
    len -= static_cast<size_t>(n);
    offset += n;
  }
}

std::string archive_message(::archive* ar) {
  const char* msg = archive_error_string(ar);
  return msg ? msg : "unknown libarchive error";
}

struct ReadContext {
  const Source* source;
  Budget* budget;
  std::exception_ptr error;
};

la_ssize_t read_callback(struct archive*, void* ctx_ptr, const void** buf) {
  auto* ctx = static_cast<ReadContext*>(ctx_ptr);
  try {
    const std::string_view data = (*ctx->source)();
    ctx->budget->add_received(data.size());
    *buf = data.data();
    return static_cast<la_ssize_t>(data.size());
  } catch (...) {
    ctx->error = std::current_exception();
    return ARCHIVE_FATAL;
  }
}

}  // namespace

std::vector<std::string> member_components(const std::string& name) {
  if (name.empty()) fail_member(name, "an empty name");
  if (name[0] == '/') fail_member(name, "an absolute name; only names inside DEST are allowed");
  std::vector<std::string> comps;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    const std::string c = name.substr(start, end - start);
    if (c == "..") fail_member(name, "'..' would leave DEST; only names inside DEST are allowed");
    if (!c.empty() && c != ".") comps.push_back(c);
    start = end + 1;
  }
  return comps;
}

Extractor::Extractor(const std::string& dest, Budget& budget)
    : dest_(dest), budget_(budget), umask_(current_umask()) {
  if (dest.empty()) fail(SMOLVM_EINVAL, "host_path='': must name a folder");
  // Create DEST and missing parents; remember the topmost we made, so a
  // failed copy leaves the host as it found it.
  std::vector<std::string> missing;
  for (std::string p = dest; !p.empty() && !path_exists(p);) {
    missing.push_back(p);
    const auto slash = p.find_last_of('/');
    if (slash == std::string::npos) break;
    p = p.substr(0, slash);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0777) != 0) {
      const int e = errno;
      rollback();
      errno = e;
      fail_errno(SMOLVM_EIO, "host_path='" + dest + "': cannot create '" + *it + "'");
    }
    created_path_.insert(created_path_.begin(), *it);
  }
  // DEST itself is the caller's path: a symlink there is the caller's choice.
  dest_fd_ = Fd(::open(dest.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dest_fd_) {
    const int e = errno;
    rollback();
    errno = e;
    fail_errno(SMOLVM_EIO, "host_path='" + dest + "': cannot open it as a folder");
  }
  tmp_prefix_ = ".smolvm-part-" + random_hex(8) + "-";
}

Extractor::~Extractor() {
  if (!committed_) rollback();
}

uint32_t Extractor::parent_index(const std::string& parent) {
  const auto [it, added] = parent_index_.emplace(parent, static_cast<uint32_t>(parents_.size()));
  if (added) parents_.push_back(parent);
  return it->second;
}

Fd Extractor::staged_parent(const Staged& s) const {
  const std::string& parent = parents_[s.parent];
  return Fd(parent.empty() ? ::dup(dest_fd_.get())
                           : open_beneath(dest_fd_.get(), parent, O_PATH | O_DIRECTORY));
}

int Extractor::parent_fd(const std::vector<std::string>& comps, size_t n, const std::string& member,
                         bool create) {
  if (n == 0) return dest_fd_.get();
  const std::string rel = join(comps, n);
  if (cached_parent_ == rel) return cached_fd_.get();
  Fd cur;
  for (size_t i = 0; i < n; ++i) {
    const std::string prefix = join(comps, i + 1);
    if (staged_.count(prefix)) {
      fail_member(member, "its path meets '" + printable(prefix) +
                              "', a file or symlink of this copy, not a folder");
    }
    const int at = i == 0 ? dest_fd_.get() : cur.get();
    Fd next(open_beneath(at, comps[i], O_PATH | O_DIRECTORY));
    if (!next && errno == ENOENT && create) {
      if (::mkdirat(at, comps[i].c_str(), 0700) != 0 && errno != EEXIST) {
        fail_member_errno(member, "cannot create folder '" + printable(prefix) + "'");
      }
      created_index_[prefix] = created_dirs_.size();
      created_dirs_.push_back({prefix, static_cast<mode_t>(0777 & ~umask_)});
      next = Fd(open_beneath(at, comps[i], O_PATH | O_DIRECTORY));
    }
    if (!next) {
      if (errno == ELOOP || errno == ENOTDIR || errno == EXDEV) {
        fail_member(member, "its path meets '" + printable(prefix) +
                                "' on the host, which is not a folder (a symlink or a file); "
                                "the copy never follows a symlink");
      }
      fail_member_errno(member, "cannot open folder '" + printable(prefix) + "'");
    }
    cur = std::move(next);
  }
  cached_parent_ = rel;
  cached_fd_ = std::move(cur);
  return cached_fd_.get();
}

void Extractor::make_dir(const std::vector<std::string>& comps, const std::string& member,
                         mode_t mode) {
  const std::string rel = join(comps, comps.size());
  if (staged_.count(rel)) {
    fail_member(member, "a folder where this copy already put a file or symlink");
  }
  const int pfd = parent_fd(comps, comps.size() - 1, member, true);
  const std::string& name = comps.back();
  if (::mkdirat(pfd, name.c_str(), 0700) == 0) {
    created_index_[rel] = created_dirs_.size();
    created_dirs_.push_back({rel, mode});
    return;
  }
  if (errno != EEXIST) fail_member_errno(member, "cannot create the folder");
  struct stat st {};
  if (::fstatat(pfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
    fail_member(member, "a folder, but the host has a file or symlink of that name");
  }
  // An existing folder is reused as it is; one this copy made takes the
  // mode its own entry gives.
  if (auto it = created_index_.find(rel); it != created_index_.end()) {
    created_dirs_[it->second].mode = mode;
  }
}

void Extractor::prepare_slot(int pfd, const std::string& rel, const std::string& name,
                             const std::string& member) {
  if (created_index_.count(rel)) {
    fail_member(member, "a file or symlink where this copy made a folder");
  }
  if (auto it = staged_.find(rel); it != staged_.end()) {
    // A later member of the same name wins, as with tar.
    ::unlinkat(pfd, temp_name(it->second).c_str(), 0);
    staged_.erase(it);
    return;
  }
  struct stat st {};
  if (::fstatat(pfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
    fail_member(member, "a file or symlink, but the host has a folder of that name");
  }
}

void Extractor::write_file(struct archive* ar, int fd, const std::string& member, int64_t size) {
  if (size < 0) fail_member(member, "a negative size");
  // Counted up front: a sparse file is as large as it claims.
  budget_.add_written(static_cast<uint64_t>(size));
  const void* block = nullptr;
  size_t len = 0;
  la_int64_t offset = 0;
  for (;;) {
    const int rc = archive_read_data_block(ar, &block, &len, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      // The stream's own failure (timeout, limit, the guest) comes first.
      if (source_error_ && *source_error_) std::rethrow_exception(*source_error_);
      fail_member(member, "cannot read its data: " + archive_message(ar));
    }
    if (offset < 0 || static_cast<uint64_t>(offset) + len > static_cast<uint64_t>(size)) {
      fail_member(member, "data past its declared size");
    }
    write_all_at(fd, static_cast<const char*>(block), len, offset, member);
    budget_.check_time();
  }
  if (::ftruncate(fd, size) != 0) fail_member_errno(member, "cannot size the file");
}

void Extractor::copy_file(int from, int to, const std::string& member) {
  struct stat st {};
  if (::fstat(from, &st) != 0) fail_member_errno(member, "cannot read its link target");
  budget_.add_written(static_cast<uint64_t>(st.st_size));
  char buf[1 << 16];
  int64_t off = 0;
  for (;;) {
    const ssize_t n = ::pread(from, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_member_errno(member, "cannot read its link target");
    if (n == 0) break;
    write_all_at(to, buf, static_cast<size_t>(n), off, member);
    off += n;
  }
}

void Extractor::member(struct archive* ar, struct archive_entry* entry, ExtractStats& stats) {
  const char* raw = archive_entry_pathname(entry);
  const std::string name = raw ? raw : "";
  const std::vector<std::string> comps = member_components(name);
  if (comps.empty()) return;  // "." is DEST: its owner and mode stay the host's
  const std::string rel = join(comps, comps.size());
  const mode_t perm = static_cast<mode_t>(archive_entry_perm(entry) & 0777 & ~umask_);
  const char* hardlink = archive_entry_hardlink(entry);
  const auto type = archive_entry_filetype(entry);
  if (hardlink || type == AE_IFDIR || type == AE_IFREG || type == AE_IFLNK) {
    budget_.add_written(kMemberBytes);
  }
  if (!hardlink && type == AE_IFDIR) {
    make_dir(comps, name, perm);
    ++stats.dirs;
    return;
  }
  if (!hardlink && type != AE_IFREG && type != AE_IFLNK) {
    ++stats.skipped;  // devices, FIFOs, sockets never land on the host
    return;
  }
  // Hard link sources are members of this copy, still under their
  // temporary names.
  Fd source;
  if (hardlink) {
    std::vector<std::string> target;
    try {
      target = member_components(hardlink);
    } catch (const Error& e) {
      fail_member(name, "a hard link to '" + printable(hardlink) + "', refused: " + e.what());
    }
    const auto it = staged_.find(join(target, target.size()));
    if (it == staged_.end() || !it->second.is_file) {
      fail_member(name, "a hard link to '" + printable(hardlink) +
                            "', which is not a file extracted earlier by this copy");
    }
    const int tfd = parent_fd(target, target.size() - 1, name, false);
    source = Fd(open_beneath(tfd, temp_name(it->second), O_RDONLY | O_NOFOLLOW));
    if (!source) fail_member_errno(name, "cannot open its link target");
  }
  const int pfd = parent_fd(comps, comps.size() - 1, name, true);
  prepare_slot(pfd, rel, comps.back(), name);
  const Staged staged{parent_index(join(comps, comps.size() - 1)), tmp_counter_++,
                      hardlink || type != AE_IFLNK};
  const std::string tmp = temp_name(staged);
  if (!hardlink && type == AE_IFLNK) {
    const char* target = archive_entry_symlink(entry);
    if (!target || !*target) fail_member(name, "a symlink without a target");
    if (::symlinkat(target, pfd, tmp.c_str()) != 0) {
      fail_member_errno(name, "cannot create the symlink");
    }
    staged_.emplace(rel, staged);
    ++stats.symlinks;
    return;
  }
  Fd out(::openat(pfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) fail_member_errno(name, "cannot create the file");
  staged_.emplace(rel, staged);
  if (source) {
    copy_file(source.get(), out.get(), name);
  } else {
    write_file(ar, out.get(), name, archive_entry_size(entry));
  }
  if (::fchmod(out.get(), perm) != 0) fail_member_errno(name, "cannot set its mode");
  ++stats.files;
}

ExtractStats Extractor::unpack(const Source& source) {
  ExtractStats stats;
  ReadContext ctx{&source, &budget_, nullptr};
  source_error_ = &ctx.error;
  struct Forget {
    std::exception_ptr*& p;
    ~Forget() { p = nullptr; }
  } forget{source_error_};
  struct archive* ar = archive_read_new();
  if (!ar) throw std::bad_alloc();
  struct Closer {
    struct archive* a;
    ~Closer() { archive_read_free(a); }
  } closer{ar};
  archive_read_support_format_tar(ar);
  auto check_source = [&] {
    if (ctx.error) std::rethrow_exception(ctx.error);
  };
  if (archive_read_open(ar, &ctx, nullptr, read_callback, nullptr) != ARCHIVE_OK) {
    check_source();
    fail(SMOLVM_EPROTO, "the guest's folder archive is not a tar stream: " + archive_message(ar));
  }
  for (;;) {
    struct archive_entry* entry = nullptr;
    const int rc = archive_read_next_header(ar, &entry);
    check_source();
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      fail(SMOLVM_EPROTO, "the guest's folder archive is broken: " + archive_message(ar));
    }
    member(ar, entry, stats);
    check_source();
    budget_.check_time();
  }
  // Drain what follows the archive (tar's padding) to the command's end,
  // still within the bounds.
  for (std::string_view rest = source(); !rest.empty(); rest = source()) {
    budget_.add_received(rest.size());
    budget_.check_time();
  }
  return stats;
}

void Extractor::commit() {
  for (const auto& [rel, s] : staged_) {
    const Fd parent = staged_parent(s);
    if (!parent || ::renameat(parent.get(), temp_name(s).c_str(), parent.get(),
                              final_name(rel).c_str()) != 0) {
      fail_member_errno(rel, "cannot move it into place");
    }
  }
  staged_.clear();
  // Deepest first, so a folder that closes itself (0555) is filled before.
  for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it) {
    Fd dir(open_beneath(dest_fd_.get(), it->rel, O_RDONLY | O_DIRECTORY));
    if (!dir || ::fchmod(dir.get(), it->mode) != 0) {
      fail_member_errno(it->rel, "cannot set the folder's mode");
    }
  }
  committed_ = true;
}

void Extractor::rollback() noexcept {
  cached_fd_ = Fd();
  cached_parent_.reset();
  if (dest_fd_) {
    for (const auto& [rel, s] : staged_) {
      const Fd parent = staged_parent(s);
      if (parent) ::unlinkat(parent.get(), temp_name(s).c_str(), 0);
    }
    for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it) {
      const auto slash = it->rel.find_last_of('/');
      Fd parent(slash == std::string::npos
                    ? ::dup(dest_fd_.get())
                    : open_beneath(dest_fd_.get(), it->rel.substr(0, slash), O_PATH | O_DIRECTORY));
      const std::string name = slash == std::string::npos ? it->rel : it->rel.substr(slash + 1);
      if (parent) ::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR);
    }
  }
  staged_.clear();
  created_dirs_.clear();
  dest_fd_ = Fd();
  // DEST and the parents this copy made, deepest first; each is empty now.
  for (const auto& p : created_path_) ::rmdir(p.c_str());
  created_path_.clear();
}

}  // namespace smolvm::transfer
