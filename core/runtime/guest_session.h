// A connection to a running VM's guest through its executor plugin:
// commands (collected or streamed) and files. One per VM handle; a session
// is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/runtime/runtime.h"
#include "core/transfer/budget.h"
#include "smolvm/plugin.h"

namespace smolvm {

// A command's terminal (smolvm_exec_options pty_rows, pty_cols, term).
struct ExecTerminal {
  uint32_t rows = 0, cols = 0;
  std::string term;  // "": the protocol's default
};

struct ExecRequest {
  std::vector<std::string> argv;  // or command
  std::string command;
  std::string shell;  // for command: "" or "login" (the user's login shell), "raw" (/bin/sh)
  std::vector<std::string> env;  // KEY=VALUE
  std::string cwd;
  uint32_t timeout_ms = 0;
  std::string user;                 // "": the guest's default; a name or uid[:gid]
  std::optional<ExecTerminal> pty;  // run on a terminal
  // An empty user or cwd takes the image's default (VmRuntime::image_user,
  // image_workdir). false: the runtime's own commands (sync, the clock),
  // which run as root in / whatever the image asks.
  bool image_defaults = true;
};

struct ExecResult {
  int exit_code = 0;
  int signal = 0;
  bool timed_out = false;
  std::string out, err;
  uint64_t duration_us = 0;
};

// A started command. With a timeout it ends within timeout_ms +
// SMOLVM_EXEC_GRACE_MS whatever the guest does: at timeout_ms the host kills
// the command (its whole cgroup in the guest) itself, without waiting for
// the guest's own timer; the guest's exit event is then awaited for the
// grace period, and failing that the stream ends with a timed-out exit
// (exit_code 137, signal 9) that unconfirmed() marks.
class ExecStream {
 public:
  ExecStream(const smolvm_executor_vtable& vt, void* exec, uint32_t timeout_ms, bool pty = false);
  ~ExecStream();
  ExecStream(const ExecStream&) = delete;
  ExecStream& operator=(const ExecStream&) = delete;

  // 0 with an event, SMOLVM_ETIMEOUT, SMOLVM_EDONE; throws on failure.
  int next(smolvm_executor_event& out, int32_t wait_ms);
  void write_stdin(const uint8_t* data, size_t len);
  void close_stdin();
  void kill(int signal);
  // A new window size for a command on a terminal; throws EINVAL for one
  // without or a size out of range.
  void resize(uint32_t rows, uint32_t cols);
  // True when the exit event was made up by the host: the guest did not
  // confirm the end of a timed-out command within the grace period.
  bool unconfirmed() const { return unconfirmed_; }

 private:
  using Clock = std::chrono::steady_clock;
  // The next moment next() must act at (kill, or give up), if any.
  std::optional<Clock::time_point> next_deadline() const;

  const smolvm_executor_vtable& vt_;
  void* exec_;
  Clock::time_point started_;
  std::optional<Clock::time_point> timeout_at_;
  bool killed_at_timeout_ = false;
  bool finished_ = false;
  bool unconfirmed_ = false;
  bool pty_ = false;
};

class GuestSession {
 public:
  // Connects through the VM's own executor.
  GuestSession(Runtime& rt, const std::string& vm_id);
  ~GuestSession();
  GuestSession(const GuestSession&) = delete;
  GuestSession& operator=(const GuestSession&) = delete;

  // Whether the VM still runs under the supervisor this session reached
  // (running or paused): a VM that hibernated, or stopped and started
  // again, needs a new session (which wakes a hibernated one).
  bool current() const;

  std::unique_ptr<ExecStream> start(const ExecRequest& req);
  ExecResult run(const ExecRequest& req, const std::string& stdin_data);
  void write_file(const std::string& guest_path, const std::string& data, uint32_t mode);
  // Bounded by limits.max_bytes and limits.timeout_ms (0: the defaults).
  std::string read_file(const std::string& guest_path, const transfer::Limits& limits = {});
  // Files or whole folders, in either direction, within limits. get treats
  // the guest's stream as hostile (core/transfer/extractor.h); a file
  // copied onto an existing host folder goes into it.
  void put(const std::string& host_path, const std::string& guest_path,
           const transfer::Limits& limits = {});
  void get(const std::string& guest_path, const std::string& host_path,
           const transfer::Limits& limits = {});

 private:
  Runtime& rt_;
  const smolvm_executor_vtable* vt_ = nullptr;
  void* conn_ = nullptr;
  std::string vm_id_;
  int64_t supervisor_pid_ = 0;  // of the VM when connected
  // Streams a guest file into sink, stopping at the budget's bounds.
  void read_bounded(const std::string& guest_path, transfer::Budget& budget,
                    const std::function<void(const uint8_t*, size_t)>& sink);
  // Streams a regular host file into the guest within the budget.
  void put_file(const std::string& host_path, const std::string& guest_path,
                const transfer::Budget& budget);
  void get_file(const std::string& guest_path, const std::string& host_path,
                transfer::Budget& budget);
  void get_folder(const std::string& guest_path, const std::string& host_path,
                  transfer::Budget& budget);

  std::vector<std::string> default_env_;  // the VM's env, as of the last command
};

void check_exec_request(const ExecRequest& req);

}  // namespace smolvm
