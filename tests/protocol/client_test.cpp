// The client connection to a VM's supervisor (protocol/client.h) against a
// real Unix socket whose far end the test plays with the real frame code
// (tests/support/frame_peer.h): HELLO, refusals, file reads whole, missing,
// stopped and timed out, and sends bounded in time.
#include "protocol/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>

#include "protocol/messages.h"
#include "smolvm/smolvm.h"
#include "tests/support/frame_peer.h"
#include "tests/support/temp_dir.h"

namespace smolvm::proto {
namespace {

using test::FramePeer;
using test::OneConnectionServer;
using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Takes HELLO and accepts it; the client's name goes to `client`.
void accept_hello(FramePeer& peer, std::string* client = nullptr) {
  auto hello = peer.recv();
  ASSERT_TRUE(hello && hello->type == Type::kHello);
  Hello h;
  std::string err;
  ASSERT_TRUE(parse(hello->payload, h, err)) << err;
  if (client) *client = h.client;
  peer.send(Type::kHelloOk, 0, to_json(HelloOk{kVersion, "supervisor", 0}));
}

// Answers one FILE_READ with contents in DATA frames of `chunk` bytes.
void serve_file(FramePeer& peer, const std::string& contents, size_t chunk) {
  auto req = peer.recv_type(Type::kFileRead);
  ASSERT_TRUE(req);
  peer.send_file(req->stream, contents, chunk);
}

TEST(Client, HelloNamesTheClientAndARefusalKeepsItsStatus) {
  test::TempDir dir;
  std::string client;
  {
    OneConnectionServer server(dir / "ok.sock", [&](FramePeer& peer) {
      accept_hello(peer, &client);
      peer.hold_open(1000);
    });
    Client ok;
    std::string error;
    ASSERT_EQ(ok.open(dir / "ok.sock", "secret", "a-client", 2000, error), 0) << error;
  }
  EXPECT_EQ(client, "a-client");
  OneConnectionServer server(dir / "no.sock", [&](FramePeer& peer) {
    peer.recv();
    peer.send(Type::kError, 0, to_json(ErrorMsg{"EPERM", "bad token"}));
  });
  Client refused;
  std::string error;
  EXPECT_EQ(refused.open(dir / "no.sock", "wrong", "a-client", 2000, error), SMOLVM_EPERM);
  EXPECT_EQ(error, "the supervisor refused the connection: bad token");
}

TEST(Client, ReadsAFileInChunksToItsEnd) {
  test::TempDir dir;
  std::string big(10000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  OneConnectionServer server(dir / "s.sock", [&](FramePeer& peer) {
    accept_hello(peer);
    serve_file(peer, big, 1000);
    serve_file(peer, "", 1000);
    peer.hold_open(1000);
  });
  Client c;
  std::string error;
  ASSERT_EQ(c.open(dir / "s.sock", "t", "t", 2000, error), 0) << error;
  std::string got;
  int chunks = 0;
  auto sink = [&](const uint8_t* d, size_t n) {
    got.append(reinterpret_cast<const char*>(d), n);
    ++chunks;
    return 0;
  };
  ASSERT_EQ(c.read_file("/etc/big", sink, 2000, error), 0) << error;
  EXPECT_EQ(got, big);
  EXPECT_EQ(chunks, 10);
  got.clear();
  ASSERT_EQ(c.read_file("/etc/empty", sink, 2000, error), 0) << error;
  EXPECT_EQ(got, "");
}

TEST(Client, AMissingFileIsNotFoundWithTheGuestsMessage) {
  test::TempDir dir;
  OneConnectionServer server(dir / "s.sock", [&](FramePeer& peer) {
    accept_hello(peer);
    auto req = peer.recv_type(Type::kFileRead);
    ASSERT_TRUE(req);
    peer.send(Type::kError, req->stream, to_json(ErrorMsg{"ENOTFOUND", "/etc/none: no such file"}));
    peer.hold_open(1000);
  });
  Client c;
  std::string error;
  ASSERT_EQ(c.open(dir / "s.sock", "t", "t", 2000, error), 0) << error;
  EXPECT_EQ(c.read_file(
                "/etc/none", [](const uint8_t*, size_t) { return 0; }, 2000, error),
            SMOLVM_ENOTFOUND);
  EXPECT_EQ(error, "cannot read /etc/none: /etc/none: no such file");
  EXPECT_FALSE(c.broken());  // the connection stays usable
}

TEST(Client, ASinkThatStopsCancelsTheReadInTheGuest) {
  test::TempDir dir;
  std::atomic<uint32_t> read_stream{0}, cancel_stream{0};
  {
    OneConnectionServer server(dir / "s.sock", [&](FramePeer& peer) {
      accept_hello(peer);
      auto req = peer.recv_type(Type::kFileRead);
      ASSERT_TRUE(req);
      read_stream = req->stream;
      peer.send(Type::kData, req->stream, std::string(1000, 'x'));
      auto cancel = peer.recv_type(Type::kError);
      ASSERT_TRUE(cancel);
      cancel_stream = cancel->stream;
    });
    Client c;
    std::string error;
    ASSERT_EQ(c.open(dir / "s.sock", "t", "t", 2000, error), 0) << error;
    EXPECT_EQ(c.read_file(
                  "/f", [](const uint8_t*, size_t) -> int { return SMOLVM_EINVAL; }, 2000, error),
              SMOLVM_EINVAL);
    EXPECT_EQ(error, "reading /f was stopped");
  }
  EXPECT_NE(read_stream, 0u);
  EXPECT_EQ(cancel_stream, read_stream);  // the ERROR that cancels it, on its stream
}

TEST(Client, AReadWithNoAnswerEndsAtItsTimeout) {
  test::TempDir dir;
  OneConnectionServer server(dir / "s.sock", [&](FramePeer& peer) {
    accept_hello(peer);
    peer.hold_open(3000);
  });
  Client c;
  std::string error;
  ASSERT_EQ(c.open(dir / "s.sock", "t", "t", 2000, error), 0) << error;
  const auto t0 = Clock::now();
  EXPECT_EQ(c.read_file(
                "/f", [](const uint8_t*, size_t) { return 0; }, 200, error),
            SMOLVM_ETIMEOUT);
  EXPECT_GE(ms_since(t0), 190);
  EXPECT_LT(ms_since(t0), 2000);
  EXPECT_EQ(error, "reading /f took longer than 200 ms");
}

// A supervisor that stops reading (its guest is frozen) cannot hold a
// bounded send: it ends at its deadline, and a frame cut off half-way
// shuts the connection rather than leave the stream garbled.
TEST(Client, ASendToAPeerThatStopsReadingEndsAtItsDeadline) {
  test::TempDir dir;
  std::atomic<bool> done{false};
  OneConnectionServer server(dir / "s.sock", [&](FramePeer& peer) {
    accept_hello(peer);
    while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  });
  Client c;
  std::string error;
  ASSERT_EQ(c.open(dir / "s.sock", "t", "t", 2000, error), 0) << error;
  const std::string payload(512 * 1024, 'p');
  const uint32_t stream = c.open_stream();
  int rc = 0;
  const auto t0 = Clock::now();
  for (int i = 0; i < 64 && rc == 0; ++i) rc = c.send_within(Type::kData, 0, stream, payload, 100);
  done = true;
  EXPECT_EQ(rc, SMOLVM_ETIMEOUT);
  EXPECT_LT(ms_since(t0), 5000);
  if (c.broken()) {
    EXPECT_EQ(c.error(), "a frame to the supervisor was cut off by a timeout");
    EXPECT_EQ(c.send_within(Type::kData, 0, stream, "x", 100), SMOLVM_EIO);
  }
}

TEST(Client, StatusCodesMapByNameAndUnknownOnesAreGenericErrors) {
  EXPECT_EQ(status_from_code("ENOTFOUND"), SMOLVM_ENOTFOUND);
  EXPECT_EQ(status_from_code("ETIMEOUT"), SMOLVM_ETIMEOUT);
  EXPECT_EQ(status_from_code("EWHATEVER"), SMOLVM_ERROR);
}

}  // namespace
}  // namespace smolvm::proto
