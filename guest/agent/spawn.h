// Starting a command: fork, new session, pipes for stdin/stdout/stderr, then
// execvp (argv) or /bin/sh -c (shell). A failed chdir or exec is reported
// back through a close-on-exec pipe so the caller can explain it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

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
};

// Returns false with err set when the agent could not create the process at
// all (out of pipes or processes); then nothing is left open.
bool spawn(const proto::ExecRequest& req, Spawned& out, std::string& err);

// The environment of a command: base (the agent's own) with each KEY=VALUE of
// overrides replacing an entry of the same KEY or appended.
std::vector<std::string> merge_env(const char* const* base,
                                   const std::vector<std::string>& overrides);

// Shell convention for a command that could not be started: 127 when it was
// not found, 126 when it was found but could not run.
int exit_code_for_errno(int err);

}  // namespace smolvm::agent
