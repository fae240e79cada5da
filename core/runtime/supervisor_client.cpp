#include "core/runtime/supervisor_client.h"

#include <poll.h>
#include <unistd.h>

#include "core/common/error.h"
#include "core/common/names.h"
#include "core/common/process.h"
#include "core/common/unix_socket.h"
#include "protocol/fd_io.h"
#include "protocol/frame.h"
#include "protocol/messages.h"

namespace smolvm {
namespace {

// The supervisor answers a control frame at once; a pause or resume once
// the VMM answered (QMP, Firecracker's API): well under a second unless the
// host is overloaded.
constexpr int64_t kControlAnswerMs = 5000;

// Reads frames until one of `want` (or ERROR) arrives or the deadline. An
// ERROR's code goes to *code when given.
bool await(int fd, proto::Decoder& dec, proto::Type want, int64_t deadline, std::string& error,
           std::string* code = nullptr) {
  proto::Frame f;
  char buf[4096];
  for (;;) {
    const auto r = dec.next(f);
    if (r == proto::Decoder::Result::kFrame) {
      if (f.type == want) return true;
      if (f.type == proto::Type::kError) {
        proto::ErrorMsg e;
        std::string perr;
        proto::parse(f.payload, e, perr);
        error = e.message;
        if (code) *code = e.code;
        return false;
      }
      continue;
    }
    if (r == proto::Decoder::Result::kError) {
      error = dec.error();
      return false;
    }
    const int64_t left = deadline - monotonic_ms();
    if (left <= 0) {
      error = "no answer from the supervisor";
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const long n = proto::read_some(fd, buf, sizeof buf);
    if (n <= 0) {
      error = "the supervisor closed the connection";
      return false;
    }
    dec.feed(buf, static_cast<size_t>(n));
  }
}

// HELLO, one control frame, and the supervisor's answer to it. 0, or the
// status of the supervisor's ERROR (EIO when it could not be reached).
int control(const std::string& socket_path, const std::string& token, proto::Type request,
            const std::string& payload, proto::Type answer, std::string& error) {
  int fd = -1;
  try {
    fd = connect_unix(socket_path, 200);
  } catch (const Error& e) {
    error = e.what();
    return SMOLVM_EIO;
  }
  const int64_t deadline = monotonic_ms() + kControlAnswerMs;
  std::string out;
  proto::append_frame(out, proto::Type::kHello, 0, 0,
                      proto::to_json(proto::Hello{proto::kVersion, token, "runtime"}));
  proto::append_frame(out, request, 0, 0, payload);
  proto::Decoder dec;
  std::string code;
  const bool ok = proto::write_all(fd, out) &&
                  await(fd, dec, proto::Type::kHelloOk, deadline, error, &code) &&
                  await(fd, dec, answer, deadline, error, &code);
  ::close(fd);
  if (ok) return 0;
  return code.empty() ? SMOLVM_EIO : status_by_name(code);
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

}  // namespace smolvm
