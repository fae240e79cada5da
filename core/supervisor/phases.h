// The phases of a VM's life as its supervisor sequences them, and the
// deadlines that end a phase when the VM does not.
#pragma once

#include <cstdint>

namespace smolvm {

// booting -> running -> stopping -> done; a failure or a stop while booting
// goes straight to done.
enum class Phase { kBooting, kRunning, kStopping, kDone };

// Monotonic times in ms (monotonic_ms()); 0: not set.
struct Deadlines {
  int64_t boot = 0;         // the guest agent must have answered (booting only)
  int64_t stop = 0;         // a graceful stop becomes a forced one
  int64_t kill = 0;         // a VMM asked to die gets SIGKILL
  int64_t agent_lost = 0;   // a running VM without its agent channel is ended
  int64_t lifetime = 0;     // a running VM's ttl or idle timeout (lifetime.h)
  int64_t hello_again = 0;  // booting: HELLO unanswered, say it again

  // How long poll() may wait at `now` before the next deadline of `phase`
  // is due: -1 for none, 0 when one has passed.
  int poll_timeout_ms(Phase phase, int64_t now) const;
};

}  // namespace smolvm
