// A client connection to a VM's supervisor speaking the agent protocol
// (docs/protocol.md): many streams on one socket, demultiplexed into
// per-stream queues as frames arrive. Used by the executor-agent plugin for
// commands and files, and by the runtime (core/runtime/supervisor_client.h)
// for VM_STOP and for the guest files executor hooks read.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "protocol/frame.h"
#include "protocol/outbox.h"

namespace smolvm::proto {

struct StreamQueue {
  std::deque<Frame> frames;
  // STDIN bytes the agent takes now (its CREDIT frames add to it; they are
  // not queued), and whether the stream's last frame has arrived.
  uint64_t stdin_credit = kStdinWindow;
  bool ended = false;
};

class Client {
 public:
  Client() = default;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Connects without saying HELLO, for a client that sends its HELLO with
  // its first request; on failure returns a negative smolvm_status and sets
  // error (naming the socket).
  int connect(const std::string& socket_path, std::string& error);
  // Connects and completes HELLO as `client_name` within timeout_ms; on
  // failure returns a negative smolvm_status and sets error.
  int open(const std::string& socket_path, const std::string& token, const std::string& client_name,
           uint32_t timeout_ms, std::string& error);

  uint32_t open_stream();  // a fresh stream id, with its queue
  void close_stream(uint32_t id);
  StreamQueue* queue(uint32_t id);

  // Sends one frame; false (with error set) if the connection broke.
  bool send(Type type, uint8_t flags, uint32_t stream, std::string_view payload);
  // As send, but gives up when the frame is not all taken within wait_ms
  // (-1: never; a frozen guest stops the supervisor reading): returns 0,
  // SMOLVM_ETIMEOUT or SMOLVM_EIO. A frame cut off half-way cannot be
  // resumed, so the connection is then shut down (the supervisor drops its
  // streams).
  int send_within(Type type, uint8_t flags, uint32_t stream, std::string_view payload,
                  int32_t wait_ms);

  // Reads what arrives within wait_ms (-1: until something does) and files
  // frames into their queues. Returns 0, SMOLVM_ETIMEOUT, or an error.
  int pump(int32_t wait_ms);

  // Takes the next frame of a stream, pumping until one arrives or wait_ms
  // (-1: no limit) passes: 0, SMOLVM_ETIMEOUT (error says so) or the
  // connection's error.
  int next_frame(uint32_t stream, Frame& out, int32_t wait_ms, std::string& error);

  // Waits until the agent takes stdin on the stream (within wait_ms, -1:
  // no limit), then claims up to `want` bytes of its credit: `got` is what
  // may be sent now, 0 when the stream has ended (its command cannot read
  // any more). 0, SMOLVM_ETIMEOUT, or the connection's error.
  int claim_stdin_credit(uint32_t stream, size_t want, size_t& got, int32_t wait_ms,
                         std::string& error);

  // Reads a guest file into sink until its end, the sink stops it (its
  // non-zero return is returned) or timeout_ms (0: none) passes. A read
  // ended early is cancelled in the guest with an ERROR frame, so the agent
  // closes the file at once. A guest ERROR keeps its status (ENOTFOUND for a
  // missing file); error says what failed.
  int read_file(const std::string& guest_path,
                const std::function<int(const uint8_t*, size_t)>& sink, uint32_t timeout_ms,
                std::string& error);

  bool broken() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  // The supervisor ended the connection (EOF), rather than an error here.
  bool closed_by_peer() const { return closed_by_peer_; }

 private:
  int fd_ = -1;
  Decoder decoder_;
  Outbox out_;
  uint32_t next_stream_ = 1;
  std::map<uint32_t, StreamQueue> streams_;
  std::string error_;
  bool closed_by_peer_ = false;
};

// Output the agent may send on a stream before the client grants more:
// large enough to keep the channel busy, small enough to bound memory.
constexpr uint32_t kClientWindow = 4u << 20;
constexpr uint32_t kClientCreditStep = 1u << 20;

// Milliseconds until deadline, at least 0: a bounded wait for poll.
int32_t ms_until(std::chrono::steady_clock::time_point deadline);

// "ENOTFOUND" -> SMOLVM_ENOTFOUND ...; unknown names map to SMOLVM_ERROR.
int status_from_code(const std::string& code);

// The status and message of an ERROR frame's payload.
int error_of(const Frame& f, std::string& message);

}  // namespace smolvm::proto
