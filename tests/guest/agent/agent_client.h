// Test-side client for smolvm-agent: starts the real agent binary in a host
// test mode and speaks frames to it. Used by the agent tests only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/frame.h"
#include "protocol/messages.h"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"

namespace smolvm::test {

// Path of the agent binary under test (a compile definition).
const char* agent_path();

class AgentProcess {
 public:
  // Runs `smolvm-agent --stdio` with fds 0 and 1 on one end of a socketpair.
  // extra_env entries (KEY=VALUE) are added to the agent's environment.
  explicit AgentProcess(const std::vector<std::string>& extra_env = {});
  ~AgentProcess();
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Queues and writes a frame (or raw bytes), reading whatever the agent
  // sends meanwhile so that neither side can block the other.
  void send(proto::Type type, uint32_t stream, std::string_view payload, uint8_t flags = 0);
  void send_raw(std::string_view bytes);
  void send_credit(uint32_t stream, uint32_t bytes);

  // The next frame, or nullopt after timeout_ms or at EOF.
  std::optional<proto::Frame> recv(int timeout_ms = 10000);
  bool eof() const { return eof_; }

  // HELLO with the given version; returns the reply.
  std::optional<proto::Frame> hello(uint32_t version = proto::kVersion);

  // Closes our end of the channel (the agent sees EOF).
  void close_channel();
  // Waits for the agent to exit; its wait status, or nullopt on timeout.
  std::optional<int> wait_exit(int timeout_ms);

 private:
  void pump(int timeout_ms);  // one round of poll: write queued, read ready

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string outq_;
  proto::Decoder decoder_;
  bool eof_ = false;
  std::optional<int> status_;
};

// What a stream produced, gathered by Collector.
struct StreamResult {
  std::string out;  // STDOUT, or DATA on a file read
  std::string err;  // STDERR
  std::optional<proto::ExitStatus> exit;
  std::optional<proto::ErrorMsg> error;
  bool done = false;      // DONE (file write)
  bool data_end = false;  // DATA with END (file read)
  bool ended() const { return exit || error || done || data_end; }

  // Flow control bookkeeping.
  uint64_t granted = 0;   // window + credit sent
  uint64_t received = 0;  // STDOUT+STDERR or DATA bytes
  uint64_t uncredited = 0;
  uint64_t credit_every = 0;
  uint64_t stdin_credit = proto::kStdinWindow;  // STDIN the agent takes now
};

// Reads frames for several streams at once and grants credit as a real
// client would, checking that the agent never exceeds the window.
class Collector {
 public:
  explicit Collector(AgentProcess& agent) : agent_(agent) {}
  // window: what the stream was opened with; auto_credit grants credit back
  // each time a quarter of it has been consumed.
  void track(uint32_t stream, uint32_t window = proto::kDefaultWindow, bool auto_credit = true);
  // True when every tracked stream has ended before timeout_ms.
  bool wait_all(int timeout_ms = 20000);
  // Handles one frame; false on timeout/EOF.
  bool step(int timeout_ms);
  StreamResult& operator[](uint32_t stream) { return streams_[stream]; }
  std::vector<proto::Frame> stray;  // frames on stream 0 or untracked streams

 private:
  AgentProcess& agent_;
  std::map<uint32_t, StreamResult> streams_;
  std::map<uint32_t, bool> auto_credit_;
};

// Sends EXEC and collects the result of one command (stdin closed at once
// unless input is given, which is sent with END).
StreamResult run(AgentProcess& agent, const proto::ExecRequest& req, uint32_t stream = 1,
                 std::optional<std::string> input = std::string(), int timeout_ms = 20000);
// Sends input on a tracked stream within its stdin credit, handling frames
// while it waits for more; END with the last bytes if `end`. False on a
// timeout or when the stream ended first.
bool send_stdin(AgentProcess& agent, Collector& c, uint32_t stream, std::string_view input,
                bool end, int timeout_ms = 20000);
StreamResult run_shell(AgentProcess& agent, const std::string& cmd, uint32_t stream = 1);

// 64-bit FNV-1a, to compare large outputs without keeping two copies.
uint64_t fnv1a(std::string_view data, uint64_t h = 14695981039346656037ull);

// Deterministic pseudo-random bytes.
std::string random_bytes(size_t n, uint64_t seed);

}  // namespace smolvm::test
