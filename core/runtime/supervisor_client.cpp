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
// How long the runtime waits for the supervisor to answer HELLO and VM_STOP.
constexpr uint32_t kAnswerTimeoutMs = 5000;

// Takes the connection's own frames until `want` arrives (true), or an
// ERROR, the end of the connection or the deadline (false, error says which).
bool await(proto::Client& client, proto::Type want, int64_t deadline, std::string& error) {
  proto::Frame f;
  for (;;) {
    const int64_t left = deadline - monotonic_ms();
    if (left <= 0) {
      error = "no answer from the supervisor";
      return false;
    }
    const int rc = client.next_frame(0, f, static_cast<int32_t>(left), error);
    if (rc == SMOLVM_ETIMEOUT) continue;  // the deadline is checked above
    if (rc != 0) {
      if (client.closed_by_peer()) error = "the supervisor closed the connection";
      return false;
    }
    if (f.type == want) return true;
    if (f.type == proto::Type::kError) {
      proto::error_of(f, error);
      return false;
    }
  }
}

}  // namespace

bool request_stop(const std::string& socket_path, const std::string& token, uint32_t timeout_ms,
                  bool force, std::string& error) {
  proto::Client client;
  if (client.connect(socket_path, error) != 0) return false;
  // HELLO and VM_STOP go together: the supervisor answers HELLO_OK, then
  // VM_STOPPING (or ERROR for either).
  if (!client.send(proto::Type::kHello, 0, 0,
                   proto::to_json(proto::Hello{proto::kVersion, token, kClientName})) ||
      !client.send(proto::Type::kVmStop, 0, 0, proto::to_json(proto::VmStop{timeout_ms, force}))) {
    error = client.error();
    return false;
  }
  const int64_t deadline = monotonic_ms() + kAnswerTimeoutMs;
  return await(client, proto::Type::kHelloOk, deadline, error) &&
         await(client, proto::Type::kVmStopping, deadline, error);
}

std::string read_guest_file(const std::string& socket_path, const std::string& token,
                            const std::string& path, size_t max_bytes, uint32_t timeout_ms) {
  proto::Client client;
  std::string error;
  const uint32_t hello_ms =
      timeout_ms > 0 ? std::min(timeout_ms, kAnswerTimeoutMs) : kAnswerTimeoutMs;
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
