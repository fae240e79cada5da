// The runtime's stop request (core/runtime/supervisor_client) against a real
// Unix socket whose far end the test plays with the real frame code: what
// it sends, and each way a supervisor can answer, refuse or fail to.
#include "core/runtime/supervisor_client.h"

#include <gtest/gtest.h>

#include <chrono>

#include "protocol/messages.h"
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

}  // namespace
}  // namespace smolvm
