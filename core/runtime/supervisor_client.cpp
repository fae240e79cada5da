#include "core/runtime/supervisor_client.h"

#include <algorithm>

#include "core/common/error.h"
#include "core/common/process.h"
#include "protocol/client.h"
#include "protocol/messages.h"

namespace smolvm {
namespace {

// How the runtime names itself in HELLO (the supervisor logs it).
constexpr const char* kClientName = "runtime";
constexpr uint32_t kHelloTimeoutMs = 5000;

}  // namespace

bool request_stop(const std::string& socket_path, const std::string& token, uint32_t timeout_ms,
                  bool force, std::string& error) {
  proto::Client client;
  if (client.open(socket_path, token, kClientName, kHelloTimeoutMs, error) != 0) return false;
  if (!client.send(proto::Type::kVmStop, 0, 0, proto::to_json(proto::VmStop{timeout_ms, force}))) {
    error = client.error();
    return false;
  }
  const int64_t deadline = monotonic_ms() + kHelloTimeoutMs;
  proto::Frame f;
  for (;;) {
    const int64_t left = deadline - monotonic_ms();
    if (left <= 0) {
      error = "no answer from the supervisor";
      return false;
    }
    if (client.next_frame(0, f, static_cast<int32_t>(left), error) != 0) return false;
    if (f.type == proto::Type::kVmStopping) return true;
    if (f.type == proto::Type::kError) {
      proto::error_of(f, error);
      return false;
    }
  }
}

std::string read_guest_file(const std::string& socket_path, const std::string& token,
                            const std::string& path, size_t max_bytes, uint32_t timeout_ms) {
  proto::Client client;
  std::string error;
  const uint32_t hello_ms =
      timeout_ms > 0 ? std::min(timeout_ms, kHelloTimeoutMs) : kHelloTimeoutMs;
  int rc = client.open(socket_path, token, kClientName, hello_ms, error);
  if (rc != 0) fail(rc, error);
  std::string data;
  bool too_big = false;
  rc = client.read_file(
      path,
      [&](const uint8_t* d, size_t n) -> int {
        if (n > max_bytes - data.size()) {
          too_big = true;
          return SMOLVM_EINVAL;
        }
        data.append(reinterpret_cast<const char*>(d), n);
        return 0;
      },
      timeout_ms, error);
  if (too_big) {
    fail(SMOLVM_EINVAL,
         "guest file " + path + " is larger than max_bytes=" + std::to_string(max_bytes));
  }
  if (rc != 0) fail(rc, error);
  return data;
}

}  // namespace smolvm
