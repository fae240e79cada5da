// The bounds of one file transfer out of a guest: how many bytes it may
// bring (received from the guest, and written to host files) and how long
// it may take. A guest decides what it sends, so every transfer has both.
#pragma once

#include <chrono>
#include <cstdint>

namespace smolvm::transfer {

struct Limits {
  uint64_t max_bytes = 0;   // 0: SMOLVM_TRANSFER_MAX_BYTES_DEFAULT
  uint32_t timeout_ms = 0;  // 0: SMOLVM_TRANSFER_TIMEOUT_MS_DEFAULT
};

// Limits with the defaults filled in.
Limits resolve(const Limits& limits);

class Budget {
 public:
  explicit Budget(const Limits& limits);

  const Limits& limits() const { return limits_; }
  // Both throw (naming max_bytes, its value and how to raise it) once the
  // total passes max_bytes.
  void add_received(uint64_t n);
  // A file's logical size (holes count: a sparse file is as large as it says).
  void add_written(uint64_t n);
  // Throws the timeout error once the deadline has passed.
  void check_time() const;
  // Milliseconds until the deadline (0 when passed), for a bounded wait.
  int32_t ms_left() const;
  [[noreturn]] void fail_timeout() const;
  [[noreturn]] void fail_too_large(const char* what) const;

  uint64_t received() const { return received_; }
  uint64_t written() const { return written_; }

 private:
  Limits limits_;
  std::chrono::steady_clock::time_point deadline_;
  uint64_t received_ = 0;
  uint64_t written_ = 0;
};

}  // namespace smolvm::transfer
