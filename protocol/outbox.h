// A write queue of frames for one non-blocking connection: everything sent
// is appended here and written as the peer accepts it, so a slow peer never
// blocks an event loop. Used by the guest agent for its channel and by the
// supervisor for its channel to the agent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "protocol/frame.h"

namespace smolvm::proto {

class Outbox {
 public:
  // Output frames are split at 64 KiB: well under the 1 MiB protocol limit,
  // and small enough that one busy stream does not delay the others' frames.
  static constexpr size_t kMaxChunk = 64 * 1024;

  void send(Type type, uint32_t stream, std::string_view payload, uint8_t flags = 0);
  // Raw bytes, split into frames of at most kMaxChunk.
  void send_data(Type type, uint32_t stream, std::string_view data);
  void send_error(uint32_t stream, std::string_view code, std::string_view message);

  // Queues a frame whose payload is the next bytes waiting in pipe_fd (a
  // pipe's read end), at most max of them: they stay in the kernel until
  // flush moves them to the connection with splice(2), never copied through
  // this process (under emulation every copy of a command's output costs as
  // much as the transport itself). Bytes an earlier frame already claimed
  // are not counted again. Returns the payload's size; 0 when the pipe
  // holds nothing unclaimed or splicing is off (the caller then reads the
  // pipe itself).
  size_t send_from_pipe(Type type, uint32_t stream, int pipe_fd, size_t max);
  // Whether a queued frame still claims bytes in this pipe: its reader must
  // not poll it meanwhile (it stays readable until they are moved).
  bool splicing_from(int pipe_fd) const;

  // Bytes waiting to be written, those still in pipes included.
  size_t pending() const { return buf_.size() - off_ + spliced_left_; }
  // Writes what fd takes now; false on a write error (errno set).
  bool flush(int fd);
  // Blocks up to timeout_ms to write everything (used before closing).
  void flush_for(int fd, int timeout_ms);
  void clear();

 private:
  // Owns a duplicate of a pipe's read end (so the stream may close its own).
  class PipeEnd {
   public:
    explicit PipeEnd(int fd) : fd_(fd) {}
    PipeEnd(PipeEnd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    PipeEnd& operator=(PipeEnd&& o) noexcept;
    PipeEnd(const PipeEnd&) = delete;
    PipeEnd& operator=(const PipeEnd&) = delete;
    ~PipeEnd();
    int get() const { return fd_; }

   private:
    int fd_;
  };
  struct Splice {
    size_t at;        // offset in buf_ where the payload belongs
    size_t left;      // payload bytes not yet written to the connection
    size_t to_relay;  // of those, still in the command's pipe
    uint64_t pipe;    // the pipe's inode: which pipe the bytes are in
    PipeEnd fd;
  };
  bool open_relay();
  // Moves the front splice's bytes on; false with errno set on a failure
  // of the pipes or the connection, true when done or fd is full.
  bool flush_splice(int fd, bool& progressed);
  // Reads the relay's bytes into buf_ at the front splice's place (the
  // connection refused splice(2)); false with errno set if a pipe fails.
  bool inline_splice();
  void shift_splices(size_t from_at, long by);

  std::string buf_;
  size_t off_ = 0;
  std::deque<Splice> splices_;
  size_t spliced_left_ = 0;
  // Bytes go command pipe -> relay -> connection, the relay holding only
  // the front splice's bytes: splicing the relay whole into a virtio port
  // avoids a guest kernel fault (Linux 6.1's port_fops_splice_write walks
  // the scatterlist of every buffer in the pipe, also those it did not
  // fill, when asked for less than the pipe holds).
  PipeEnd relay_r_{-1}, relay_w_{-1};
  size_t relay_bytes_ = 0;
  bool splice_refused_ = false;
};

}  // namespace smolvm::proto
