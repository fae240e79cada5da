// Just enough QMP for SmolVM: one command at a time (quit, stop, cont) and
// a session for the migrations that save and load a VM's state.
#pragma once

#include <string>

namespace smolvm_qemu {

// Connects to the QMP socket, negotiates capabilities, runs `command` (no
// arguments) and waits for its "return". False (with error) if QMP could
// not be reached, refused the command or did not answer in time.
bool qmp_execute(const std::string& socket_path, const std::string& command, int timeout_ms,
                 std::string& error);

// qmp_execute "quit"; QEMU closing the socket as it exits counts as the
// answer.
bool qmp_quit(const std::string& socket_path, int timeout_ms, std::string& error);

// One QMP connection for several commands, each with its own deadline.
class QmpSession {
 public:
  QmpSession() = default;
  QmpSession(const QmpSession&) = delete;
  QmpSession& operator=(const QmpSession&) = delete;
  ~QmpSession();

  // Connects and negotiates capabilities.
  bool open(const std::string& socket_path, int timeout_ms, std::string& error);
  // Sends one command (a whole JSON object) and waits for its answer:
  // the line holding "return" (into answer), skipping events. False with
  // error for an "error" answer, a closed socket (unless eof_answers: QEMU
  // quitting) or the deadline.
  bool execute(const std::string& command_json, int timeout_ms, std::string& answer,
               std::string& error, bool eof_answers = false);
  // getfd: hands fd to QEMU under `name` (SCM_RIGHTS), for URIs "fd:name".
  bool send_fd(int fd, const std::string& name, int timeout_ms, std::string& error);
  // Polls query-migrate every few ms until its status is "completed"
  // (true) or "failed"/"cancelled" (false, with QEMU's error-desc), or
  // until timeout_ms.
  bool wait_migration(int timeout_ms, std::string& error);

 private:
  // The next line holding want, skipping others; an "error" line fails.
  bool read_line(const char* want, int timeout_ms, std::string& answer, std::string& error,
                 bool eof_answers);
  int fd_ = -1;
  std::string buf_;  // bytes read past the last answer
};

}  // namespace smolvm_qemu
