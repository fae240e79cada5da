#include "core/state/vm_state.h"

#include "core/common/error.h"
#include "core/common/names.h"

namespace smolvm {
namespace {

constexpr VmState kAll[] = {VmState::kCreated, VmState::kStarting, VmState::kRunning,
                            VmState::kPaused,  VmState::kStopping, VmState::kStopped,
                            VmState::kFailed};

}  // namespace

const char* state_name(VmState s) { return vm_state_name(static_cast<int>(s)); }

VmState parse_state(const std::string& name) {
  for (VmState s : kAll) {
    if (name == state_name(s)) return s;
  }
  fail(SMOLVM_EINVAL, "unknown VM state '" + name + "' in the store");
}

bool can_transition(VmState from, VmState to) {
  switch (to) {
    case VmState::kStarting:
      return from == VmState::kCreated || from == VmState::kStopped || from == VmState::kFailed;
    case VmState::kRunning:
      return from == VmState::kStarting || from == VmState::kPaused;
    case VmState::kPaused:
      return from == VmState::kRunning;
    case VmState::kStopping:
      return from == VmState::kRunning || from == VmState::kStarting || from == VmState::kPaused;
    case VmState::kStopped:
      return from == VmState::kStopping || from == VmState::kRunning ||
             from == VmState::kStarting || from == VmState::kPaused;
    case VmState::kFailed:
      return from == VmState::kStarting || from == VmState::kRunning || from == VmState::kPaused ||
             from == VmState::kStopping || from == VmState::kStopped;
    case VmState::kCreated:
      return false;
  }
  return false;
}

bool is_live(VmState s) {
  return s == VmState::kStarting || s == VmState::kRunning || s == VmState::kPaused ||
         s == VmState::kStopping;
}

std::string states_leading_to(VmState to) {
  std::string out;
  for (VmState s : kAll) {
    if (!can_transition(s, to)) continue;
    if (!out.empty()) out += '|';
    out += state_name(s);
  }
  return out;
}

void check_transition(const std::string& vm_id, VmState from, VmState to) {
  if (can_transition(from, to)) return;
  const std::string allowed = states_leading_to(to);
  fail(SMOLVM_ESTATE, "vm '" + vm_id + "' is " + state_name(from) + ": cannot go to " +
                          state_name(to) + " (allowed from " +
                          (allowed.empty() ? "no state" : allowed) + ")");
}

}  // namespace smolvm
