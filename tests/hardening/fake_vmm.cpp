// A stand-in for qemu-system-x86_64 (run through SMOLVM_QEMU) whose "guest
// agent" misbehaves on purpose. A real guest cannot do these things: its
// agent is PID 1 and holds the only handle on the virtio-serial port, so no
// other guest process can write raw frames to the host. Everything else in
// the test is real: the supervisor, the router, the executor plugin and the
// C ABI. SMOLVM_FAKE_AGENT picks the misbehaviour:
//   garbage  answer HELLO, then answer an EXEC with bytes that are no frame
//   close    answer HELLO, then close the channel in the middle of an EXEC
//   silent   accept the connection and never say anything
//   drop     close the first connection with its HELLO unread (the
//            supervisor reads ECONNRESET, as when QEMU drops its chardev
//            client during boot), then answer HELLO on the next one
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "protocol/fd_io.h"
#include "protocol/frame.h"
#include "protocol/messages.h"

namespace proto = smolvm::proto;

namespace {

// "socket,id=agent,server=on,wait=off,fd=7" -> 7: the plugin hands the
// VMM its agent socket already listening.
int agent_socket(int argc, char** argv) {
  for (int i = 0; i + 1 < argc; ++i) {
    const std::string a = argv[i + 1];
    if (std::string(argv[i]) == "-chardev" && a.find("id=agent") != std::string::npos &&
        a.find("fd=") != std::string::npos) {
      return std::atoi(a.c_str() + a.find("fd=") + 3);
    }
  }
  return -1;
}

// Reads until one whole frame is decoded; false on EOF.
bool next_frame(int fd, proto::Decoder& dec, proto::Frame& f) {
  for (;;) {
    if (dec.next(f) == proto::Decoder::Result::kFrame) return true;
    char buf[4096];
    const long n = proto::read_some(fd, buf, sizeof buf);
    if (n <= 0) return false;
    dec.feed(buf, static_cast<size_t>(n));
  }
}

void sleep_forever() {
  for (;;) pause();
}

}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("SMOLVM_FAKE_AGENT");
  const std::string mode = env ? env : "silent";
  const int lfd = agent_socket(argc, argv);
  if (lfd < 0) return 1;
  int fd = accept(lfd, nullptr, nullptr);
  if (fd < 0 || mode == "silent") sleep_forever();
  if (mode == "drop") {
    usleep(100 * 1000);  // the HELLO is in our receive queue now
    close(fd);           // unread data: the peer gets a reset
    fd = accept(lfd, nullptr, nullptr);
    if (fd < 0) return 1;
  }
  proto::Decoder dec;
  proto::Frame f;
  if (!next_frame(fd, dec, f) || f.type != proto::Type::kHello) return 1;
  proto::Hello hello;
  std::string err;
  if (!proto::parse(f.payload, hello, err)) return 1;
  std::string out;
  proto::append_frame(
      out, proto::Type::kHelloOk, 0, 0,
      proto::to_json(proto::HelloOk{proto::kVersion, "fake-" + mode, 1 << 20, hello.epoch}));
  proto::write_all(fd, out);
  while (next_frame(fd, dec, f)) {
    if (f.type != proto::Type::kExec) continue;
    out.clear();
    proto::append_frame(out, proto::Type::kStdout, 0, f.stream, "partial output\n");
    proto::write_all(fd, out);
    if (mode == "close") {
      close(fd);
    } else {
      proto::write_all(fd, std::string(64, '\xff') + "not a frame");
    }
    sleep_forever();  // the VMM stays up: the supervisor must end it
  }
  return 0;
}
