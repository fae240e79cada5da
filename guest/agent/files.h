// FILE_WRITE and FILE_READ streams. Writes go to a temporary file in the
// target's folder and are renamed into place only when complete and fsync'd,
// so a reader never sees half a file. Reads stream a regular file as DATA
// within the client's window. Directories are the host's job (tar via exec).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "guest/agent/stream.h"
#include "protocol/messages.h"
#include "protocol/outbox.h"

namespace smolvm::agent {

// smolvm_status name for a failed file system call.
const char* status_for_errno(int err);

// mkdir -p of path's parent folders (mode 0755). False with errno set.
bool make_parents(const std::string& path);

class FileWriteStream final : public Stream {
 public:
  // On failure sends ERROR on the stream and returns null. A FILE_WRITE
  // frame with END writes an empty file at once.
  static std::unique_ptr<FileWriteStream> start(uint32_t id, const proto::FileWrite& req, bool end,
                                                proto::Outbox& out);
  ~FileWriteStream() override;

  void on_frame(const proto::Frame& frame) override;
  void poll_requests(std::vector<PollRequest>&, bool) const override {}
  void on_ready(int, short) override {}
  bool done() const override { return done_; }
  void abort() override;

 private:
  FileWriteStream(uint32_t id, proto::Outbox& out) : id_(id), out_(out) {}
  void finish();
  void fail(int err, const std::string& what);

  uint32_t id_;
  proto::Outbox& out_;
  proto::FileWrite req_;
  std::string tmp_path_;
  int fd_ = -1;
  bool done_ = false;
};

class FileReadStream final : public Stream {
 public:
  static std::unique_ptr<FileReadStream> start(uint32_t id, const proto::FileRead& req,
                                               proto::Outbox& out);
  ~FileReadStream() override;

  void on_frame(const proto::Frame& frame) override;
  void poll_requests(std::vector<PollRequest>&, bool) const override {}
  void on_ready(int, short) override {}
  bool runnable(bool congested) const override;
  void run() override;
  bool done() const override { return done_; }
  void abort() override;

 private:
  FileReadStream(uint32_t id, proto::Outbox& out) : id_(id), out_(out) {}

  uint32_t id_;
  proto::Outbox& out_;
  std::string path_;
  int fd_ = -1;
  off_t offset_ = 0;
  uint64_t window_ = proto::kDefaultWindow;
  bool done_ = false;
};

}  // namespace smolvm::agent
