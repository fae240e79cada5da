// The local terminal attached to a command on a terminal in the guest
// (smolvm shell, smolvm exec -it): raw mode while it runs, restored on exit
// and on signals; typed bytes go to the command, its output to ours, and a
// window size change follows the local one.
#pragma once

#include <string>

#include "smolvm/smolvm.h"

namespace smolvm_cli {

// Starts the command in `opts` on a guest terminal the size of ours (24x80
// when stdin is not a terminal) and attaches it; returns its exit code.
// opts' pty_rows, pty_cols and term are filled here (term: our $TERM).
int attach_terminal(smolvm_vm* vm, smolvm_exec_options& opts);

}  // namespace smolvm_cli
