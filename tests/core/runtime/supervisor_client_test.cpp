// The runtime's stop request and guest file reads (core/runtime/
// supervisor_client) against a real Unix socket whose far end the test plays
// with the real frame code: what it sends, and each way a supervisor can
// answer, refuse or fail to.
#include "core/runtime/supervisor_client.h"

#include <gtest/gtest.h>

#include <chrono>

#include "protocol/messages.h"
#include "tests/support/failure.h"
#include "tests/support/frame_peer.h"
#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

using proto::Type;
using test::FramePeer;
using test::OneConnectionServer;
using Clock = std::chrono::steady_clock;

// What the supervisor's side received.
struct Seen {
  proto::Hello hello;
  proto::VmStop stop;
  bool got_stop = false;
};

// Reads HELLO and VM_STOP as a supervisor would.
void read_request(FramePeer& peer, Seen& seen) {
  std::string err;
  auto hello = peer.recv();
  ASSERT_TRUE(hello && hello->type == Type::kHello);
  ASSERT_TRUE(proto::parse(hello->payload, seen.hello, err)) << err;
  auto stop = peer.recv();
  ASSERT_TRUE(stop && stop->type == Type::kVmStop);
  ASSERT_TRUE(proto::parse(stop->payload, seen.stop, err)) << err;
  seen.got_stop = true;
}

std::string hello_ok() { return proto::to_json(proto::HelloOk{proto::kVersion, "supervisor", 0}); }

TEST(SupervisorClient, SendsHelloWithTokenThenStopAndSucceedsOnStopping) {
  test::TempDir dir;
  Seen seen;
  {
    OneConnectionServer server(dir / "s.sock", [&](FramePeer& peer) {
      read_request(peer, seen);
      peer.send(Type::kHelloOk, 0, hello_ok());
      peer.send(Type::kVmStopping, 0, "{}");
    });
    std::string error;
    EXPECT_TRUE(request_stop(dir / "s.sock", "secret-token", 7000, true, error)) << error;
    EXPECT_EQ(error, "");
  }
  ASSERT_TRUE(seen.got_stop);
  EXPECT_EQ(seen.hello.version, proto::kVersion);
  EXPECT_EQ(seen.hello.token, "secret-token");
  EXPECT_EQ(seen.hello.client, "runtime");
  EXPECT_EQ(seen.stop.timeout_ms, 7000u);
  EXPECT_TRUE(seen.stop.force);
}

TEST(SupervisorClient, FramesBeforeTheAnswerAreSkipped) {
  test::TempDir dir;
  OneConnectionServer server(dir / "s.sock", [&](FramePeer& peer) {
    Seen seen;
    read_request(peer, seen);
    peer.send(Type::kPong, 0, "");
    peer.send(Type::kHelloOk, 0, hello_ok());
    peer.send(Type::kStdout, 3, "someone else's stream");
    peer.send(Type::kVmStopping, 0, "{}");
  });
  std::string error;
  EXPECT_TRUE(request_stop(dir / "s.sock", "t", 1000, false, error)) << error;
}

TEST(SupervisorClient, RefusalCarriesTheSupervisorsMessage) {
  test::TempDir dir;
  OneConnectionServer server(dir / "s.sock", [&](FramePeer& peer) {
    Seen seen;
    read_request(peer, seen);
    peer.send(Type::kError, 0, proto::to_json(proto::ErrorMsg{"EPERM", "bad token"}));
  });
  std::string error;
  EXPECT_FALSE(request_stop(dir / "s.sock", "wrong", 1000, false, error));
  EXPECT_EQ(error, "bad token");
}

TEST(SupervisorClient, RefusalAfterHelloOkIsAlsoAFailure) {
  test::TempDir dir;
  OneConnectionServer server(dir / "s.sock", [&](FramePeer& peer) {
    Seen seen;
    read_request(peer, seen);
    peer.send(Type::kHelloOk, 0, hello_ok());
    peer.send(Type::kError, 0,
              proto::to_json(proto::ErrorMsg{"ESTATE", "the VM is already stopping"}));
  });
  std::string error;
  EXPECT_FALSE(request_stop(dir / "s.sock", "t", 1000, false, error));
  EXPECT_EQ(error, "the VM is already stopping");
}

TEST(SupervisorClient, ClosedConnectionIsReported) {
  test::TempDir dir;
  OneConnectionServer server(dir / "s.sock", [&](FramePeer& peer) {
    Seen seen;
    read_request(peer, seen);
    peer.close();
  });
  std::string error;
  EXPECT_FALSE(request_stop(dir / "s.sock", "t", 1000, false, error));
  EXPECT_EQ(error, "the supervisor closed the connection");
}

TEST(SupervisorClient, MalformedFrameIsReportedNotTrusted) {
  test::TempDir dir;
  OneConnectionServer server(dir / "s.sock", [&](FramePeer& peer) {
    Seen seen;
    read_request(peer, seen);
    peer.send_raw(std::string(64, '\xff'));  // no frame has this header
  });
  std::string error;
  EXPECT_FALSE(request_stop(dir / "s.sock", "t", 1000, false, error));
  EXPECT_NE(error, "");
  EXPECT_NE(error, "no answer from the supervisor");
  EXPECT_NE(error, "the supervisor closed the connection");
}

TEST(SupervisorClient, NoSocketFailsAndSaysWhy) {
  test::TempDir dir;
  std::string error;
  EXPECT_FALSE(request_stop(dir / "none.sock", "t", 1000, false, error));
  EXPECT_NE(error.find(dir / "none.sock"), std::string::npos) << error;
}

// A supervisor that takes the request and never answers: the client gives
// up after its own 5 s deadline, not the stop's timeout.
TEST(SupervisorClient, SilentSupervisorTimesOut) {
  test::TempDir dir;
  OneConnectionServer server(dir / "s.sock", [&](FramePeer& peer) {
    Seen seen;
    read_request(peer, seen);
    peer.hold_open(8000);
  });
  std::string error;
  const auto t0 = Clock::now();
  EXPECT_FALSE(request_stop(dir / "s.sock", "t", 60000, false, error));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  EXPECT_EQ(error, "no answer from the supervisor");
  EXPECT_GE(took.count(), 4900);
  EXPECT_LT(took.count(), 7000);
}

// Plays a supervisor that accepts HELLO and answers one FILE_READ with
// contents (nullptr: ENOTFOUND), in DATA frames of 1000 bytes.
void serve_read(FramePeer& peer, const std::string* contents, std::string* path = nullptr) {
  auto hello = peer.recv();
  ASSERT_TRUE(hello && hello->type == Type::kHello);
  peer.send(Type::kHelloOk, 0, hello_ok());
  auto req = peer.recv_type(Type::kFileRead);
  ASSERT_TRUE(req);
  proto::FileRead m;
  std::string err;
  ASSERT_TRUE(proto::parse(req->payload, m, err)) << err;
  if (path) *path = m.path;
  if (!contents) {
    peer.send(Type::kError, req->stream,
              proto::to_json(proto::ErrorMsg{"ENOTFOUND", m.path + ": no such file"}));
    return;
  }
  peer.send_file(req->stream, *contents, 1000);
  peer.hold_open(1000);
}

TEST(SupervisorClient, ReadsAGuestFileUpToItsBound) {
  test::TempDir dir;
  const std::string key = "ssh-ed25519 AAAA x\n", big(3000, 'b');
  std::string path;
  {
    OneConnectionServer server(dir / "a.sock", [&](FramePeer& p) { serve_read(p, &key, &path); });
    EXPECT_EQ(read_guest_file(dir / "a.sock", "t", "/etc/key.pub", 4096, 2000), key);
  }
  EXPECT_EQ(path, "/etc/key.pub");
  {
    // Exactly the bound is allowed.
    OneConnectionServer server(dir / "b.sock", [&](FramePeer& p) { serve_read(p, &big); });
    EXPECT_EQ(read_guest_file(dir / "b.sock", "t", "/big", 3000, 2000).size(), 3000u);
  }
  // One byte more is refused, naming the bound.
  OneConnectionServer server(dir / "c.sock", [&](FramePeer& p) { serve_read(p, &big); });
  const test::Failure f =
      test::failure_of([&] { read_guest_file(dir / "c.sock", "t", "/big", 2999, 2000); });
  EXPECT_EQ(f.status, SMOLVM_EINVAL);
  EXPECT_EQ(f.message, "guest file /big is larger than max_bytes=2999");
}

TEST(SupervisorClient, AMissingGuestFileIsNotFound) {
  test::TempDir dir;
  OneConnectionServer server(dir / "s.sock", [&](FramePeer& p) { serve_read(p, nullptr); });
  const test::Failure f =
      test::failure_of([&] { read_guest_file(dir / "s.sock", "t", "/etc/none", 100, 2000); });
  EXPECT_EQ(f.status, SMOLVM_ENOTFOUND);
  EXPECT_EQ(f.message, "cannot read /etc/none: /etc/none: no such file");
}

TEST(SupervisorClient, AGuestFileReadWithNoAnswerEndsAtItsTimeout) {
  test::TempDir dir;
  OneConnectionServer server(dir / "s.sock", [&](FramePeer& peer) {
    peer.recv();
    peer.send(Type::kHelloOk, 0, hello_ok());
    peer.hold_open(3000);
  });
  const auto t0 = Clock::now();
  const test::Failure f =
      test::failure_of([&] { read_guest_file(dir / "s.sock", "t", "/etc/slow", 100, 150); });
  EXPECT_EQ(f.status, SMOLVM_ETIMEOUT);
  EXPECT_EQ(f.message, "reading /etc/slow took longer than 150 ms");
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count(), 2000);
}

}  // namespace
}  // namespace smolvm
