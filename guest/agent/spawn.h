// Starting a command: fork (into its cgroup when it has one), new session,
// pipes for stdin/stdout/stderr (or a terminal), the user switch, then execvp (argv), the user's
// login shell with -l -c (shell, the default) or /bin/sh -c (shell, raw). A failed chdir or exec is
// reported back through a close-on-exec pipe so the caller can explain it.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "guest/agent/user.h"
#include "protocol/messages.h"

namespace smolvm::agent {

struct Spawned {
  pid_t pid = -1;
  // Parent ends, non-blocking and close-on-exec.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // errno of a chdir/exec that failed in the child (which then exited with
  // 126 or 127), and what was attempted, e.g. "exec 'foo'".
  int child_errno = 0;
  std::string child_what;
  // Whether the child started inside the cgroup it was given.
  bool in_cgroup = false;
  // A terminal: stdout_fd is its master (all output), stdin_fd a copy of
  // it, stderr_fd -1.
  bool pty = false;
};

// What a command's stdout and stderr pipes hold (the kernel default is 64
// KiB): a command writing fast runs this far ahead of the agent, which then
// moves the bytes out in a few large frames rather than a frame per write.
// Pipe pages are taken only as they fill.
inline constexpr int kOutputPipeBytes = 1 << 20;

// The POSIX shell of raw shell commands, and of a user with no usable
// login shell.
inline constexpr const char* kRawShell = "/bin/sh";

// Returns false with err set when the agent could not create the process at
// all (out of pipes or processes); then nothing is left open. cgroup_fd: the
// command's cgroup folder, or -1.
// as: the user to run as (resolved, user.h), or null for the agent's own.
bool spawn(const proto::ExecRequest& req, const RunAs* as, int cgroup_fd, Spawned& out,
           std::string& err);

// The login shell of uid in an /etc/passwd text; kRawShell when the user is
// missing or has none that runs commands (nologin, false).
std::string login_shell_of(std::string_view passwd, uid_t uid);

// What a request executes: its argv, or its shell command under the user's
// login shell (-l -c) or, raw, under /bin/sh -c.
std::vector<std::string> command_argv(const proto::ExecRequest& req, const RunAs* as = nullptr);

// A command's environment: base, then HOME, USER and LOGNAME of `as` and
// the terminal's TERM, then the request's own KEY=VALUEs.
std::vector<std::string> command_env(const char* const* base, const proto::ExecRequest& req,
                                     const RunAs* as);

// The environment of a command: base (the agent's own) with each KEY=VALUE of
// overrides replacing an entry of the same KEY or appended.
std::vector<std::string> merge_env(const char* const* base,
                                   const std::vector<std::string>& overrides);

// Shell convention for a command that could not be started: 127 when it was
// not found, 126 when it was found but could not run.
int exit_code_for_errno(int err);

}  // namespace smolvm::agent
