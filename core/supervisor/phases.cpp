#include "core/supervisor/phases.h"

namespace smolvm {

int Deadlines::poll_timeout_ms(Phase phase, int64_t now) const {
  int64_t next = -1;
  auto consider = [&](int64_t deadline) {
    if (deadline > 0 && (next < 0 || deadline < next)) next = deadline;
  };
  if (phase == Phase::kBooting) {
    consider(boot);
    consider(hello_again);
  }
  consider(stop);
  consider(kill);
  consider(agent_lost);
  if (phase == Phase::kRunning) consider(lifetime);
  if (next < 0) return -1;
  const int64_t left = next - now;
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace smolvm
