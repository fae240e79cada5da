// JSON payloads of the SmolVM agent protocol's control frames, with strict
// parsing: a payload of the wrong shape is refused with a message naming the
// field, never a crash (the parsers are fuzzed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smolvm::proto {

// epoch: chosen by the supervisor for each connection to the agent, echoed
// in HELLO_OK. Frames the agent queued before it saw this HELLO (a restored
// VM's, from a connection before the snapshot) come before the HELLO_OK
// that carries it, so the supervisor drops everything before that answer.
struct Hello {
  uint32_t version = 0;
  std::string token;
  std::string client;
  uint32_t epoch = 0;
};

struct HelloOk {
  uint32_t version = 0;
  std::string agent;
  uint32_t max_payload = 0;
  uint32_t epoch = 0;
};

struct ErrorMsg {
  std::string code;  // smolvm_status_str() name, e.g. "EINVAL"
  std::string message;
};

// How a shell command runs: the user's login shell with -l -c (bash in the
// default image), or POSIX /bin/sh -c.
inline constexpr const char* kShellLogin = "login";
inline constexpr const char* kShellRaw = "raw";

// A terminal's window size, rows and cols each in 1..kMaxTerminalSize.
inline constexpr uint32_t kMaxTerminalSize = 1000;
inline constexpr const char* kDefaultTerm = "xterm-256color";

struct TerminalSize {
  uint32_t rows = 24;
  uint32_t cols = 80;
};

// EXEC "pty": the command runs on a pseudo-terminal of this size, with TERM
// set to term, as its controlling terminal; its output is one stream
// (STDOUT).
struct PtyRequest {
  TerminalSize size;
  std::string term = kDefaultTerm;
};

// RESIZE: a PTY command's terminal gets a new size (SIGWINCH follows).
using Resize = TerminalSize;

// A TERM value: the name of a terminfo entry, 1..64 letters, digits, -_.+
bool valid_term(std::string_view term);

struct ExecRequest {
  std::vector<std::string> argv;  // empty when shell is set
  std::string shell;
  std::string shell_mode = kShellLogin;  // kShellLogin or kShellRaw; with shell only
  std::vector<std::string> env;          // "KEY=VALUE"
  std::string cwd;
  uint32_t timeout_ms = 0;
  uint32_t window = 0;
  std::string user;               // "" (the agent's), a name, or uid[:gid]
  std::optional<PtyRequest> pty;  // run on a terminal
};

struct ExitStatus {
  int exit_code = 0;
  int signal = 0;
  bool timed_out = false;
  uint64_t duration_us = 0;
};

struct FileWrite {
  std::string path;
  uint32_t mode = 0644;
};

struct FileRead {
  std::string path;
  uint32_t window = 0;
};

struct SignalMsg {
  int signal = 0;
};

struct VmStop {
  uint32_t timeout_ms = 0;
  // Skip the guest's shutdown and quit the VMM at once (delete: the disk is
  // thrown away, so a clean guest shutdown buys nothing).
  bool force = false;
};

// VM_SNAPSHOT: the supervisor pauses the VM (if it runs), saves its state
// and copies its disk into `dir` (an empty folder the client made), then
// lets it run on, or stops it (stop). VM_SNAPSHOTTED says how much it wrote.
struct VmSnapshot {
  std::string dir;
  bool stop = false;
};
struct VmSnapshotted {
  uint64_t state_bytes = 0, disk_bytes = 0;
  uint32_t duration_ms = 0;  // from pausing the VM to letting it run again
};

// Each parse_* returns false and sets err on a malformed payload.
bool parse(std::string_view json, Hello& out, std::string& err);
bool parse(std::string_view json, HelloOk& out, std::string& err);
bool parse(std::string_view json, ErrorMsg& out, std::string& err);
bool parse(std::string_view json, ExecRequest& out, std::string& err);
bool parse(std::string_view json, ExitStatus& out, std::string& err);
bool parse(std::string_view json, FileWrite& out, std::string& err);
bool parse(std::string_view json, FileRead& out, std::string& err);
bool parse(std::string_view json, SignalMsg& out, std::string& err);
bool parse(std::string_view json, Resize& out, std::string& err);
bool parse(std::string_view json, VmStop& out, std::string& err);
bool parse(std::string_view json, VmSnapshot& out, std::string& err);
bool parse(std::string_view json, VmSnapshotted& out, std::string& err);

std::string to_json(const Hello& m);
std::string to_json(const HelloOk& m);
std::string to_json(const ErrorMsg& m);
std::string to_json(const ExecRequest& m);
std::string to_json(const ExitStatus& m);
std::string to_json(const FileWrite& m);
std::string to_json(const FileRead& m);
std::string to_json(const SignalMsg& m);
std::string to_json(const Resize& m);
std::string to_json(const VmStop& m);
std::string to_json(const VmSnapshot& m);
std::string to_json(const VmSnapshotted& m);

}  // namespace smolvm::proto
