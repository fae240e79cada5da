#include "guest/agent/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "protocol/fd_io.h"

namespace smolvm::agent {
namespace {

constexpr uint64_t kMaxWindow = uint64_t{1} << 40;

std::string dirname_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string describe(const std::string& what, int err) { return what + ": " + std::strerror(err); }

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);  // makes the rename durable; best effort on odd file systems
  ::close(fd);
}

}  // namespace

const char* status_for_errno(int err) {
  switch (err) {
    case ENOENT:
      return "ENOTFOUND";
    case EACCES:
    case EPERM:
    case EROFS:
      return "EPERM";
    case EISDIR:
    case ENOTDIR:
    case ENAMETOOLONG:
    case EINVAL:
    case ELOOP:
      return "EINVAL";
    default:
      return "EIO";
  }
}

bool make_parents(const std::string& path) {
  const std::string dir = dirname_of(path);
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return true;
    errno = ENOTDIR;
    return false;
  }
  if (errno != ENOENT) return false;
  if (!make_parents(dir)) return false;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return false;
  return true;
}

// ---- FILE_WRITE -----------------------------------------------------------

std::unique_ptr<FileWriteStream> FileWriteStream::start(uint32_t id, const proto::FileWrite& req,
                                                        bool end, proto::Outbox& out) {
  std::unique_ptr<FileWriteStream> s(new FileWriteStream(id, out));
  s->req_ = req;
  struct stat st;
  if (::stat(req.path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    out.send_error(id, "EINVAL", "path '" + req.path + "' is a directory");
    return nullptr;
  }
  if (!make_parents(req.path)) {
    const int err = errno;
    out.send_error(id, status_for_errno(err),
                   describe("creating the folders of '" + req.path + "'", err));
    return nullptr;
  }
  // A hidden sibling: same file system, so the final rename is atomic.
  const std::string dir = dirname_of(req.path);
  const std::string base = req.path.substr(req.path.rfind('/') + 1);
  std::string tmp = dir + (dir == "/" ? "" : "/") + "." + base + ".smolvm-XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    out.send_error(id, status_for_errno(err), describe("creating a file in '" + dir + "'", err));
    return nullptr;
  }
  s->fd_ = fd;
  s->tmp_path_ = tmp;
  if (end) s->finish();
  return s;
}

FileWriteStream::~FileWriteStream() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

void FileWriteStream::abort() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
  tmp_path_.clear();
  done_ = true;
}

void FileWriteStream::fail(int err, const std::string& what) {
  out_.send_error(id_, status_for_errno(err), describe(what, err));
  abort();
}

void FileWriteStream::on_frame(const proto::Frame& f) {
  if (done_) return;
  if (f.type == proto::Type::kError) return abort();
  if (f.type != proto::Type::kData) {
    out_.send_error(id_, "EPROTO",
                    std::string(proto::type_name(f.type)) + " is not valid on a file write");
    return abort();
  }
  // The file is regular and blocking: a write is bounded by the frame.
  if (!proto::write_all(fd_, f.payload)) return fail(errno, "writing '" + req_.path + "'");
  if (f.end()) finish();
}

void FileWriteStream::finish() {
  if (::fchmod(fd_, req_.mode) != 0) return fail(errno, "chmod of '" + req_.path + "'");
  if (::fsync(fd_) != 0) return fail(errno, "fsync of '" + req_.path + "'");
  if (::close(fd_) != 0) {
    fd_ = -1;
    return fail(errno, "closing '" + req_.path + "'");
  }
  fd_ = -1;
  if (::rename(tmp_path_.c_str(), req_.path.c_str()) != 0) {
    return fail(errno, "renaming into '" + req_.path + "'");
  }
  tmp_path_.clear();
  fsync_dir(dirname_of(req_.path));
  out_.send(proto::Type::kDone, id_, "{}", proto::kFlagEnd);
  done_ = true;
}

// ---- FILE_READ ------------------------------------------------------------

std::unique_ptr<FileReadStream> FileReadStream::start(uint32_t id, const proto::FileRead& req,
                                                      proto::Outbox& out) {
  std::unique_ptr<FileReadStream> s(new FileReadStream(id, out));
  s->path_ = req.path;
  if (req.window) s->window_ = req.window;
  // O_NONBLOCK: opening a FIFO must not hang the agent (it is refused below).
  const int fd = ::open(req.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    out.send_error(id, status_for_errno(err), describe("opening '" + req.path + "'", err));
    return nullptr;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    out.send_error(id, "EINVAL",
                   "path '" + req.path + "' is not a regular file (folders are copied with tar)");
    return nullptr;
  }
  proto::set_nonblocking(fd, false);
  s->fd_ = fd;
  return s;
}

FileReadStream::~FileReadStream() {
  if (fd_ >= 0) ::close(fd_);
}

void FileReadStream::abort() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  done_ = true;
}

void FileReadStream::on_frame(const proto::Frame& f) {
  if (done_) return;
  if (f.type == proto::Type::kError) return abort();
  if (f.type == proto::Type::kCredit) {
    uint32_t n = 0;
    if (proto::read_u32_le(f.payload, n)) {
      window_ = std::min(kMaxWindow, window_ + n);
      return;
    }
    out_.send_error(id_, "EINVAL",
                    "CREDIT payload must be 4 bytes, got " + std::to_string(f.payload.size()));
    return abort();
  }
  out_.send_error(id_, "EPROTO",
                  std::string(proto::type_name(f.type)) + " is not valid on a file read");
  abort();
}

bool FileReadStream::runnable(bool congested) const {
  return !done_ && fd_ >= 0 && window_ > 0 && !congested;
}

void FileReadStream::run() {
  char buf[proto::Outbox::kMaxChunk];
  const size_t cap = std::min<uint64_t>(sizeof buf, window_);
  const long n = proto::read_some(fd_, buf, cap);
  if (n < 0) {
    const int err = errno;
    out_.send_error(id_, status_for_errno(err), describe("reading '" + path_ + "'", err));
    return abort();
  }
  if (n == 0) {
    out_.send(proto::Type::kData, id_, {}, proto::kFlagEnd);
    return abort();  // closes the file; the stream has ended
  }
  out_.send(proto::Type::kData, id_, std::string_view(buf, static_cast<size_t>(n)));
  window_ -= static_cast<uint64_t>(n);
  offset_ += n;
  if (window_ == 0) {
    // Out of credit: if the file ends exactly here, say so now rather than
    // make the client grant credit only to receive an empty END frame.
    char probe;
    if (::pread(fd_, &probe, 1, offset_) == 0) {
      out_.send(proto::Type::kData, id_, {}, proto::kFlagEnd);
      abort();
    }
  }
}

}  // namespace smolvm::agent
