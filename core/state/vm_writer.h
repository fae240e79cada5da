// The one writer of a VM's stored record. Every write is a compare-and-set
// on the state its writer read, so a decision made on a stale read fails
// instead of undoing what another process (a client, the VM's supervisor,
// gc) wrote meanwhile. Store::update is called nowhere else.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/state/vm_state.h"
#include "core/store/store.h"

namespace smolvm {

// Changes a record read fresh from the store just before the write.
using RecordPatch = std::function<void(VmRecord&)>;

// Moves the VM from `from` to `to` (check_transition's rules), applying
// patch to the record as stored now. Throws ESTATE naming both states when
// the VM is no longer in `from`: "vm 'x' is stopped, not running: cannot go
// to stopping (another process changed it)". Returns the record written.
VmRecord transition(Store& store, const std::string& id, VmState from, VmState to,
                    const RecordPatch& patch = {});

// Changes the record but not its state. When the state moves between the
// read and the write, reads again and re-applies patch (so patch must only
// set what it owns). Returns the record written.
VmRecord update_record(Store& store, const std::string& id, const RecordPatch& patch);
// The same, only while the VM is in `state`: ESTATE naming the state it is
// in otherwise (a supervisor writing about a boot that was called off).
VmRecord update_record_in(Store& store, const std::string& id, VmState state,
                          const RecordPatch& patch);

// How a VM ended: state stopped or failed, why (last_error, "" for a clean
// stop) and, for an end that is no error, how (last_exit).
struct VmEnd {
  VmState state = VmState::kStopped;
  std::string error;
  std::string exit;
};

// Records that the VM's processes are gone: the state, no pids, when, why,
// and no process rows. The supervisor calls it when its VM ends; a client
// calls it for a supervisor that died or hung. Only a live VM (starting,
// running, stopping) ends: when it is not live any more someone recorded
// its end first, and this writes nothing and returns false.
bool record_end(Store& store, const std::string& id, const VmEnd& end);

}  // namespace smolvm
