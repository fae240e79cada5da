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
// The supervisor answers a control frame at once; a pause or resume once
// the VMM answered (QMP, Firecracker's API): well under a second unless the
// host is overloaded.
constexpr uint32_t kControlAnswerMs = 5000;

// Takes the connection's own frames until `want` arrives (0), or an ERROR
// (its status), the end of the connection or the deadline (EIO); error says
// which.
int await(proto::Client& client, proto::Type want, int64_t deadline, std::string& error,
          proto::Frame* out = nullptr) {
  proto::Frame f;
  for (;;) {
    const int64_t left = deadline - monotonic_ms();
    if (left <= 0) {
      error = "no answer from the supervisor";
      return SMOLVM_EIO;
    }
    const int rc = client.next_frame(0, f, static_cast<int32_t>(left), error);
    if (rc == SMOLVM_ETIMEOUT) continue;  // the deadline is checked above
    if (rc != 0) {
      if (client.closed_by_peer()) error = "the supervisor closed the connection";
      return SMOLVM_EIO;
    }
    if (f.type == want) {
      if (out) *out = std::move(f);
      return 0;
    }
    if (f.type == proto::Type::kError) return proto::error_of(f, error);
  }
}

// HELLO and one control frame, sent together, and the supervisor's answer
// (HELLO_OK, then `answer` or ERROR for either). 0, or the status of the
// supervisor's ERROR (EIO when it could not be reached or did not answer).
int control(const std::string& socket_path, const std::string& token, proto::Type request,
            const std::string& payload, proto::Type answer, std::string& error,
            proto::Frame* answer_frame = nullptr, uint32_t answer_ms = kControlAnswerMs) {
  proto::Client client;
  if (client.connect(socket_path, error) != 0) return SMOLVM_EIO;
  if (!client.send(proto::Type::kHello, 0, 0,
                   proto::to_json(proto::Hello{proto::kVersion, token, kClientName})) ||
      !client.send(request, 0, 0, payload)) {
    error = client.error();
    return SMOLVM_EIO;
  }
  const int64_t deadline = monotonic_ms() + answer_ms;
  if (const int rc = await(client, proto::Type::kHelloOk, deadline, error); rc != 0) return rc;
  return await(client, answer, deadline, error, answer_frame);
}

}  // namespace

bool request_stop(const std::string& socket_path, const std::string& token, uint32_t timeout_ms,
                  bool force, std::string& error) {
  return control(socket_path, token, proto::Type::kVmStop,
                 proto::to_json(proto::VmStop{timeout_ms, force}), proto::Type::kVmStopping,
                 error) == 0;
}

int request_pause(const std::string& socket_path, const std::string& token, bool pause,
                  std::string& error) {
  return pause ? control(socket_path, token, proto::Type::kVmPause, "{}", proto::Type::kVmPaused,
                         error)
               : control(socket_path, token, proto::Type::kVmResume, "{}", proto::Type::kVmResumed,
                         error);
}

int request_snapshot(const std::string& socket_path, const std::string& token,
                     const std::string& dir, bool stop, proto::VmSnapshotted& done,
                     std::string& error) {
  proto::Frame answer;
  const int rc = control(socket_path, token, proto::Type::kVmSnapshot,
                         proto::to_json(proto::VmSnapshot{dir, stop}), proto::Type::kVmSnapshotted,
                         error, &answer, kSnapshotAnswerMs);
  if (rc != 0) return rc;
  if (!proto::parse(answer.payload, done, error)) {
    error = "the supervisor's VM_SNAPSHOTTED: " + error;
    return SMOLVM_EIO;
  }
  return 0;
}

std::string read_guest_file(const std::string& socket_path, const std::string& token,
                            const std::string& path, size_t max_bytes, uint32_t timeout_ms) {
  proto::Client client;
  std::string error;
  const uint32_t hello_ms =
      timeout_ms > 0 ? std::min(timeout_ms, kControlAnswerMs) : kControlAnswerMs;
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
