#include "core/transfer/budget.h"

#include <algorithm>
#include <string>

#include "core/common/error.h"
#include "smolvm/smolvm.h"

namespace smolvm::transfer {

Limits resolve(const Limits& limits) {
  Limits out = limits;
  if (out.max_bytes == 0) out.max_bytes = SMOLVM_TRANSFER_MAX_BYTES_DEFAULT;
  if (out.timeout_ms == 0) out.timeout_ms = SMOLVM_TRANSFER_TIMEOUT_MS_DEFAULT;
  return out;
}

Budget::Budget(const Limits& limits)
    : limits_(resolve(limits)),
      deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(limits_.timeout_ms)) {}

void Budget::add_received(uint64_t n) {
  received_ += n;
  if (received_ > limits_.max_bytes) fail_too_large("the guest sent");
}

void Budget::add_written(uint64_t n) {
  written_ += n;
  if (written_ > limits_.max_bytes) fail_too_large("the files unpacked on the host hold");
}

void Budget::check_time() const {
  if (std::chrono::steady_clock::now() >= deadline_) fail_timeout();
}

int32_t Budget::ms_left() const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline_ - std::chrono::steady_clock::now())
                        .count();
  return static_cast<int32_t>(std::clamp<int64_t>(left, 0, INT32_MAX));
}

void Budget::fail_timeout() const {
  fail(SMOLVM_ETIMEOUT, "timeout_ms=" + std::to_string(limits_.timeout_ms) +
                            ": the file transfer took longer and was stopped (the guest "
                            "command killed, nothing half-written kept); raise timeout_ms "
                            "(smolvm cp --timeout SECONDS) for a larger transfer");
}

void Budget::fail_too_large(const char* what) const {
  fail(SMOLVM_EIO, "max_bytes=" + std::to_string(limits_.max_bytes) + ": " + what +
                       " more than this and the transfer was stopped (the guest command "
                       "killed, nothing half-written kept); raise max_bytes (smolvm cp "
                       "--max-bytes N) for a larger transfer");
}

}  // namespace smolvm::transfer
