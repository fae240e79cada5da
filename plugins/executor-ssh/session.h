// One SSH connection to a guest's sshd, in libssh2's non-blocking mode so
// that many channels (concurrent commands, kills, file moves) share it from
// one thread: every call that would block returns EAGAIN, and wait() sleeps
// on the socket in the direction libssh2 needs.
#pragma once

#include <libssh2.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace smolvm_ssh {

struct Target {
  std::string vm_id;
  std::string ip;
  uint16_t port = 22;
  std::string key_path;  // private key; the public one is key_path + ".pub"
  std::string host_key;  // pinned "ssh-ed25519 <base64>"
};

class Session {
 public:
  Session() = default;
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Connects (retrying every <= 20 ms while sshd is not yet listening),
  // verifies the pinned host key, authenticates as root. Returns 0 or a
  // smolvm status with error set.
  int open(const Target& t, uint32_t timeout_ms, std::string& error);

  LIBSSH2_SESSION* raw() const { return session_; }
  // Sleeps until the socket can move what libssh2 waits for, or wait_ms
  // passes (-1: no limit). False on timeout.
  bool wait(int32_t wait_ms);

  // A libssh2 result: true if it means the connection is gone (then the
  // session is marked broken with the reason).
  bool check_fatal(int rc);
  bool broken() const { return !broken_.empty(); }
  const std::string& broken_reason() const { return broken_; }
  std::string last_error();

  // Opens a channel running cmd; nullptr with error set on failure.
  LIBSSH2_CHANNEL* open_exec(const std::string& cmd, std::string& error);
  // Closes and frees a channel, waiting at most a moment for sshd.
  void free_channel(LIBSSH2_CHANNEL* ch);

  // Runs a short helper command to completion: input on its stdin, stdout
  // to out. Returns its exit code (>= 0) or a negative smolvm status, with
  // error set to the reason or the command's stderr. A non-zero return of
  // out stops the command (its channel closed) and is returned; total_ms
  // (0: none) bounds the whole run with SMOLVM_ETIMEOUT.
  int run(const std::string& cmd, std::string_view input,
          const std::function<int(const char*, size_t)>& out, std::string& error,
          uint32_t total_ms = 0);

 private:
  int fd_ = -1;
  LIBSSH2_SESSION* session_ = nullptr;
  std::string broken_;
  std::string vm_id_;
};

}  // namespace smolvm_ssh
