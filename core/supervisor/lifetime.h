// A VM's lifetime policy as its supervisor keeps the clocks: a ttl that
// counts running time only (paused time does not count), and an idle
// timeout that counts the time with no stream (command or file transfer)
// under way. Pure: the supervisor passes monotonic times in and acts on
// what due() says, so the clocks are tested without a VM.
#pragma once

#include <cstdint>

namespace smolvm {

class LifetimeClock {
 public:
  enum class Due { kNothing, kTtl, kIdle };

  LifetimeClock() = default;
  // 0: no limit.
  LifetimeClock(int64_t ttl_ms, int64_t idle_ms) : ttl_ms_(ttl_ms), idle_ms_(idle_ms) {
    ttl_left_ = ttl_ms;
  }

  // The VM runs from `now` (booted or resumed): the ttl's clock goes on
  // from where it stood, the idle clock starts again.
  void run(int64_t now);
  // The VM is paused at `now`: both clocks stand still.
  void pause(int64_t now);
  // Whether streams are under way: while busy the idle clock does not run;
  // it starts again when the last one ends.
  void set_busy(bool busy, int64_t now);
  // No idle timeout from now on (the VM could not act on it).
  void stop_idle() {
    idle_ms_ = 0;
    idle_deadline_ = 0;
  }

  bool running() const { return running_; }
  // What has passed at `now` (the ttl first); kNothing while not running.
  Due due(int64_t now) const;
  // The next time due() may change, for poll(); 0: none.
  int64_t next_deadline() const;
  // Running time left of the ttl at `now`; -1 without a ttl.
  int64_t ttl_left(int64_t now) const;

 private:
  int64_t ttl_ms_ = 0, idle_ms_ = 0;
  int64_t ttl_left_ = 0;       // while not running
  int64_t ttl_deadline_ = 0;   // while running, with a ttl
  int64_t idle_deadline_ = 0;  // while running and not busy, with an idle timeout
  bool running_ = false, busy_ = false;
};

}  // namespace smolvm
