// The VM state machine. Every state change goes through check_transition(),
// and the store applies it as a compare-and-set (core/state/vm_writer.h),
// so two processes cannot both start (or both stop) the same VM.
//
//   created -> starting -> running -> stopping -> stopped -> starting ...
//   running -> paused -> running (its vCPUs stopped; the supervisor and VMM stay)
//   starting|running|paused|stopping -> failed;  failed -> starting
//   running|paused -> stopping|stopped (a stop of a paused VM needs no resume first)
//   running -> stopped (the guest shut itself down)
//   starting -> stopped (a stop ended the boot)
//   stopped -> failed (start stopped the VM again: its profile's setup failed)
#pragma once

#include <string>

#include "smolvm/smolvm.h"

namespace smolvm {

enum class VmState {
  kCreated = SMOLVM_STATE_CREATED,
  kStarting = SMOLVM_STATE_STARTING,
  kRunning = SMOLVM_STATE_RUNNING,
  kStopping = SMOLVM_STATE_STOPPING,
  kStopped = SMOLVM_STATE_STOPPED,
  kFailed = SMOLVM_STATE_FAILED,
  kPaused = SMOLVM_STATE_PAUSED,
};

const char* state_name(VmState s);
// Throws EINVAL for an unknown name (a corrupt store row).
VmState parse_state(const std::string& name);

bool can_transition(VmState from, VmState to);
// starting, running, paused or stopping: a supervisor owns the VM (or
// should).
bool is_live(VmState s);
// The '|'-joined names of every state that may go to `to`, for the store's
// compare-and-set.
std::string states_leading_to(VmState to);
// Throws ESTATE: "vm 'x' is running: cannot go to starting (allowed from
// created|stopped|failed)".
void check_transition(const std::string& vm_id, VmState from, VmState to);

}  // namespace smolvm
