// Binds an ephemeral VM (spec delete_with_owner) to the process that
// started it. That process keeps one end of a socket pair whose other end its
// supervisor inherits; the owner's end is close-on-exec and kept in a
// process-wide table keyed by state folder and VM id, so freeing a handle
// does not drop it. The kernel closes it however the process ends (any
// signal, SIGKILL included): the supervisor then reads EOF and deletes the
// VM. Detaching writes kOwnerDetachByte first, so the EOF that follows
// means nothing. A fork()ed child inherits the owner's end and keeps the
// owner alive until it exits or execs.
#pragma once

#include <string>

namespace smolvm {

inline constexpr char kOwnerDetachByte = 'D';

// A fresh link for the VM, replacing (and closing) an earlier one of this
// process. Returns the supervisor's end: the caller closes
// it once the supervisor has been forked.
int owner_link_open(const std::string& state_dir, const std::string& vm_id);
// Closes the owner's end without the detach byte (the VM was deleted, or its
// start failed and no supervisor reads it). No-op without a link.
void owner_link_close(const std::string& state_dir, const std::string& vm_id);
// Writes the detach byte and closes. Returns false if this process holds no
// link for the VM.
bool owner_link_detach(const std::string& state_dir, const std::string& vm_id);

}  // namespace smolvm
