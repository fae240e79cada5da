#include "core/runtime/supervisor_client.h"

#include <poll.h>
#include <unistd.h>

#include "core/common/error.h"
#include "core/common/process.h"
#include "core/common/unix_socket.h"
#include "protocol/fd_io.h"
#include "protocol/frame.h"
#include "protocol/messages.h"

namespace smolvm {
namespace {

// Reads frames until one of `want` (or ERROR) arrives or the deadline.
bool await(int fd, proto::Decoder& dec, proto::Type want, int64_t deadline, std::string& error) {
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

}  // namespace

bool request_stop(const std::string& socket_path, const std::string& token, uint32_t timeout_ms,
                  bool force, std::string& error) {
  int fd = -1;
  try {
    fd = connect_unix(socket_path, 200);
  } catch (const Error& e) {
    error = e.what();
    return false;
  }
  const int64_t deadline = monotonic_ms() + 5000;
  std::string out;
  proto::append_frame(out, proto::Type::kHello, 0, 0,
                      proto::to_json(proto::Hello{proto::kVersion, token, "runtime"}));
  proto::append_frame(out, proto::Type::kVmStop, 0, 0,
                      proto::to_json(proto::VmStop{timeout_ms, force}));
  proto::Decoder dec;
  const bool ok = proto::write_all(fd, out) &&
                  await(fd, dec, proto::Type::kHelloOk, deadline, error) &&
                  await(fd, dec, proto::Type::kVmStopping, deadline, error);
  ::close(fd);
  return ok;
}

}  // namespace smolvm
