// A pseudo-terminal for a PTY command: the agent keeps the master, the
// command gets the slave as its controlling terminal.
#pragma once

#include <string>

#include "protocol/messages.h"

namespace smolvm::agent {

struct Pty {
  int master = -1;         // close-on-exec, non-blocking
  std::string slave_path;  // /dev/pts/N, opened by the child
};

// Opens a master of this size; false with err set (nothing left open).
bool open_pty(const proto::TerminalSize& size, Pty& out, std::string& err);

// Sets the window size; the kernel sends SIGWINCH to the terminal's
// foreground process group. False with errno set.
bool set_pty_size(int master, const proto::TerminalSize& size);

}  // namespace smolvm::agent
