// The client connection to a VM's supervisor (protocol/client.h) against a
// peer speaking the supervisor's side over a real Unix socket
// (supervisor_peer.h): HELLO, refusals, file reads whole, missing, stopped
// and timed out, and writes bounded in time.
#include "protocol/client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "protocol/messages.h"
#include "smolvm/smolvm.h"
#include "supervisor_peer.h"

namespace smolvm::proto {
namespace {

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

TEST(Client, HelloNamesTheClientAndARefusalKeepsItsStatus) {
  test::SupervisorPeer peer;
  peer.serve_one();
  Client ok;
  std::string error;
  ASSERT_EQ(ok.open(peer.path(), "secret", "a-client", 2000, error), 0) << error;
  peer.serve_one();
  Client refused;
  EXPECT_EQ(refused.open(peer.path(), "wrong", "a-client", 2000, error), SMOLVM_EPERM);
  EXPECT_NE(error.find("the supervisor refused the connection: bad token"), std::string::npos)
      << error;
  EXPECT_EQ(peer.hello_client(), "a-client");
}

TEST(Client, ASocketThatIsNotThereIsAStateErrorNamingIt) {
  Client c;
  std::string error;
  EXPECT_EQ(c.open("/nonexistent/supervisor.sock", "t", "x", 100, error), SMOLVM_ESTATE);
  EXPECT_NE(error.find("/nonexistent/supervisor.sock"), std::string::npos) << error;
  EXPECT_NE(error.find("is the VM running?"), std::string::npos) << error;
}

TEST(Client, ReadsAFileInChunksToItsEnd) {
  test::SupervisorPeer peer;
  std::string big(10000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  peer.files["/etc/big"] = big;
  peer.files["/etc/empty"] = "";
  peer.serve_one();
  Client c;
  std::string error;
  ASSERT_EQ(c.open(peer.path(), "secret", "t", 2000, error), 0) << error;
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
  test::SupervisorPeer peer;
  peer.serve_one();
  Client c;
  std::string error;
  ASSERT_EQ(c.open(peer.path(), "secret", "t", 2000, error), 0) << error;
  EXPECT_EQ(c.read_file(
                "/etc/none", [](const uint8_t*, size_t) { return 0; }, 2000, error),
            SMOLVM_ENOTFOUND);
  EXPECT_EQ(error, "cannot read /etc/none: /etc/none: no such file");
  // The connection stays usable.
  EXPECT_FALSE(c.broken());
}

TEST(Client, ASinkThatStopsCancelsTheReadInTheGuest) {
  test::SupervisorPeer peer;
  peer.files["/f"] = std::string(5000, 'x');
  peer.serve_one();
  Client c;
  std::string error;
  ASSERT_EQ(c.open(peer.path(), "secret", "t", 2000, error), 0) << error;
  EXPECT_EQ(c.read_file(
                "/f", [](const uint8_t*, size_t) { return SMOLVM_EINVAL; }, 2000, error),
            SMOLVM_EINVAL);
  EXPECT_EQ(error, "reading /f was stopped");
  // The ERROR that cancels it reaches the supervisor on the read's stream.
  const auto reads = peer.received(Type::kFileRead);
  ASSERT_EQ(reads.size(), 1u);
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (peer.received(Type::kError).empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto errors = peer.received(Type::kError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].first, reads[0].first);
}

TEST(Client, AReadWithNoAnswerEndsAtItsTimeout) {
  test::SupervisorPeer peer;
  peer.silent = true;
  peer.serve_one();
  Client c;
  std::string error;
  ASSERT_EQ(c.open(peer.path(), "secret", "t", 2000, error), 0) << error;
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
  test::SupervisorPeer peer;
  peer.never_reads = true;
  peer.serve_one();
  Client c;
  std::string error;
  ASSERT_EQ(c.open(peer.path(), "secret", "t", 2000, error), 0) << error;
  const std::string payload(512 * 1024, 'p');
  const uint32_t stream = c.open_stream();
  int rc = 0;
  const auto t0 = Clock::now();
  for (int i = 0; i < 64 && rc == 0; ++i) {
    rc = c.send_within(Type::kData, 0, stream, payload, 100);
  }
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
