// One protocol session over one channel: HELLO, then streams multiplexed on
// a single-threaded poll loop until the peer goes away, breaks the protocol
// or asks for SHUTDOWN. Destroying a session kills every command it started.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>

#include "guest/agent/leftover_output.h"
#include "guest/agent/stream.h"
#include "protocol/frame.h"
#include "protocol/outbox.h"

namespace smolvm::agent {

enum class SessionEnd {
  kPeerClosed,     // EOF on the channel
  kProtocolError,  // ERROR sent; the connection state must be dropped
  kIoError,        // the channel failed
  kShutdown,       // SHUTDOWN received
  kReplaced,       // a new connection is waiting on the listener
};

const char* session_end_name(SessionEnd end);

struct SessionFds {
  int in = -1;      // channel read side
  int out = -1;     // channel write side (may equal in)
  int signal = -1;  // signalfd for SIGCHLD
  int listen = -1;  // optional: a pending connection replaces this session
};

class Session {
 public:
  // At most this many streams at once; more get ERROR EBUSY.
  static constexpr size_t kMaxStreams = 256;

  explicit Session(SessionFds fds);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  SessionEnd run();

 private:
  void read_channel();
  void dispatch(proto::Frame& f);
  void on_hello(const proto::Frame& f);
  void open_stream(proto::Frame& f);
  void protocol_error(uint32_t stream, const char* code, const std::string& message);
  void reap();
  void abort_all();
  bool congested() const;
  bool may_read_channel() const;

  SessionFds fds_;
  proto::Decoder decoder_;
  proto::Outbox out_;
  bool hello_ = false;
  std::optional<SessionEnd> end_;
  std::map<uint32_t, std::unique_ptr<Stream>> streams_;
  LeftoverOutput leftovers_;  // of finished commands, for what they left running
  uint64_t epoch_ = 0;        // bumped when streams are dropped mid-iteration
};

// Reaps every exited child without blocking; on_exit sees each (pid, status).
template <typename F>
void reap_children(F&& on_exit);

// Drains a signalfd (its readiness only says "at least one signal"). Any
// signal but SIGCHLD there (SIGTERM, SIGINT, SIGHUP in the host modes) asks
// the agent to stop: terminate_requested() then stays true.
void drain_signalfd(int fd);
bool terminate_requested();

}  // namespace smolvm::agent

#include <sys/wait.h>

template <typename F>
void smolvm::agent::reap_children(F&& on_exit) {
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    on_exit(pid, status);
  }
}
