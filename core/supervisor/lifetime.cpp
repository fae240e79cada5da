#include "core/supervisor/lifetime.h"

#include <algorithm>

namespace smolvm {

void LifetimeClock::run(int64_t now) {
  if (running_) return;
  running_ = true;
  if (ttl_ms_ > 0) ttl_deadline_ = now + ttl_left_;
  idle_deadline_ = idle_ms_ > 0 && !busy_ ? now + idle_ms_ : 0;
}

void LifetimeClock::pause(int64_t now) {
  if (!running_) return;
  ttl_left_ = ttl_left(now);
  if (ttl_left_ < 0) ttl_left_ = 0;
  running_ = false;
  ttl_deadline_ = 0;
  idle_deadline_ = 0;
}

void LifetimeClock::set_busy(bool busy, int64_t now) {
  if (busy == busy_) return;
  busy_ = busy;
  idle_deadline_ = running_ && !busy && idle_ms_ > 0 ? now + idle_ms_ : 0;
}

LifetimeClock::Due LifetimeClock::due(int64_t now) const {
  if (!running_) return Due::kNothing;
  if (ttl_deadline_ > 0 && now >= ttl_deadline_) return Due::kTtl;
  if (idle_deadline_ > 0 && now >= idle_deadline_) return Due::kIdle;
  return Due::kNothing;
}

int64_t LifetimeClock::next_deadline() const {
  if (!running_) return 0;
  if (ttl_deadline_ > 0 && idle_deadline_ > 0) return std::min(ttl_deadline_, idle_deadline_);
  return ttl_deadline_ > 0 ? ttl_deadline_ : idle_deadline_;
}

int64_t LifetimeClock::ttl_left(int64_t now) const {
  if (ttl_ms_ <= 0) return -1;
  if (!running_) return ttl_left_;
  return std::max<int64_t>(0, ttl_deadline_ - now);
}

}  // namespace smolvm
