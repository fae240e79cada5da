#include "core/state/vm_writer.h"

#include "core/common/error.h"
#include "core/common/process.h"

namespace smolvm {
namespace {

// A record whose state keeps moving under a writer: give up after this many
// reads rather than spin.
constexpr int kMaxAttempts = 16;

[[noreturn]] void refuse(const std::string& id, const std::string& now, VmState from, VmState to) {
  fail(SMOLVM_ESTATE, "vm '" + id + "' is " + now + ", not " + state_name(from) +
                          ": cannot go to " + state_name(to) + " (another process changed it)");
}

bool is_state_conflict(const Error& e) { return e.status() == SMOLVM_ESTATE; }

// update_record and update_record_in: patch a fresh read, write it as a
// compare-and-set on the state read, and read again if that state moved.
VmRecord update_in(Store& store, const std::string& id, std::optional<VmState> only_in,
                   const RecordPatch& patch) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    VmRecord rec = store.get(id);
    if (only_in && rec.state != state_name(*only_in)) {
      fail(SMOLVM_ESTATE, "vm '" + id + "' is " + rec.state + ", not " + state_name(*only_in) +
                              ": its record is not changed (another process changed it)");
    }
    patch(rec);
    try {
      store.update(id, "", &rec.spec, &rec.runtime, rec.state);
      return rec;
    } catch (const Error& e) {
      if (!is_state_conflict(e)) throw;  // the state moved: read again
    }
  }
  fail(SMOLVM_ESTATE, "vm '" + id + "': its state kept changing while its record was updated (" +
                          std::to_string(kMaxAttempts) + " attempts)");
}

}  // namespace

VmRecord transition(Store& store, const std::string& id, VmState from, VmState to,
                    const RecordPatch& patch) {
  check_transition(id, from, to);
  VmRecord rec = store.get(id);
  if (rec.state != state_name(from)) refuse(id, rec.state, from, to);
  if (patch) patch(rec);
  try {
    store.update(id, state_name(to), &rec.spec, &rec.runtime, state_name(from));
  } catch (const Error& e) {
    if (!is_state_conflict(e)) throw;
    const auto now = store.find(id);
    refuse(id, now ? now->state : "deleted", from, to);
  }
  rec.state = state_name(to);
  return rec;
}

VmRecord update_record(Store& store, const std::string& id, const RecordPatch& patch) {
  return update_in(store, id, std::nullopt, patch);
}

VmRecord update_record_in(Store& store, const std::string& id, VmState state,
                          const RecordPatch& patch) {
  return update_in(store, id, state, patch);
}

bool record_end(Store& store, const std::string& id, const VmEnd& end) {
  if (end.state != VmState::kStopped && end.state != VmState::kFailed) {
    fail(SMOLVM_EINVAL, std::string("a VM ends stopped or failed, not ") + state_name(end.state));
  }
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    auto rec = store.find(id);
    if (!rec) return false;  // deleted meanwhile
    const VmState from = parse_state(rec->state);
    if (!is_live(from)) return false;  // its end is recorded already
    rec->runtime.supervisor_pid = 0;
    rec->runtime.vmm_pid = 0;
    rec->runtime.last_error = end.error;
    rec->runtime.last_exit = end.exit;
    rec->runtime.stopped_at_ms = now_ms();
    try {
      store.update(id, state_name(end.state), nullptr, &rec->runtime, rec->state);
    } catch (const Error& e) {
      if (e.status() == SMOLVM_ENOTFOUND) return false;
      if (!is_state_conflict(e)) throw;
      continue;  // it moved on (running -> stopping): look again
    }
    store.clear_processes(id, "");
    return true;
  }
  fail(SMOLVM_ESTATE, "vm '" + id + "': its state kept changing while its end was recorded (" +
                          std::to_string(kMaxAttempts) + " attempts)");
}

}  // namespace smolvm
