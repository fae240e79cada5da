// The runtime's control connection to a VM's supervisor
// (core/runtime/supervisor_client.h) against the supervisor's side of the
// protocol over a real Unix socket (tests/protocol/supervisor_peer.h):
// VM_STOP and bounded guest file reads.
#include "core/runtime/supervisor_client.h"

#include <gtest/gtest.h>

#include "core/common/error.h"
#include "supervisor_peer.h"

namespace smolvm {
namespace {

struct Failure {
  int status = 0;
  std::string message;
};

Failure read_error(test::SupervisorPeer& peer, const std::string& path, size_t max) {
  peer.serve_one();
  try {
    read_guest_file(peer.path(), "secret", path, max, 2000);
  } catch (const Error& e) {
    return {e.status(), e.what()};
  }
  ADD_FAILURE() << "reading " << path << " should have failed";
  return {};
}

TEST(SupervisorClient, ReadsAGuestFileUpToItsBound) {
  test::SupervisorPeer peer;
  peer.files["/etc/key.pub"] = "ssh-ed25519 AAAA x\n";
  peer.files["/etc/big"] = std::string(3000, 'b');
  peer.serve_one();
  EXPECT_EQ(read_guest_file(peer.path(), "secret", "/etc/key.pub", 4096, 2000),
            "ssh-ed25519 AAAA x\n");
  EXPECT_EQ(peer.hello_client(), "runtime");
  // Exactly the bound is allowed; one byte more is refused with both named.
  peer.serve_one();
  EXPECT_EQ(read_guest_file(peer.path(), "secret", "/etc/big", 3000, 2000).size(), 3000u);
  const Failure e = read_error(peer, "/etc/big", 2999);
  EXPECT_EQ(e.status, SMOLVM_EINVAL);
  EXPECT_EQ(e.message, "guest file /etc/big is larger than max_bytes=2999");
}

TEST(SupervisorClient, AMissingFileOrABadTokenKeepsItsStatus) {
  test::SupervisorPeer peer;
  EXPECT_EQ(read_error(peer, "/etc/none", 100).status, SMOLVM_ENOTFOUND);
  peer.token = "other";
  const Failure e = read_error(peer, "/etc/none", 100);
  EXPECT_EQ(e.status, SMOLVM_EPERM);
  EXPECT_NE(e.message.find("bad token"), std::string::npos) << e.message;
}

TEST(SupervisorClient, AReadThatGetsNoAnswerEndsAtItsTimeout) {
  test::SupervisorPeer peer;
  peer.silent = true;
  peer.serve_one();
  try {
    read_guest_file(peer.path(), "secret", "/etc/slow", 100, 150);
    ADD_FAILURE() << "the read should have timed out";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_ETIMEOUT);
    EXPECT_STREQ(e.what(), "reading /etc/slow took longer than 150 ms");
  }
}

TEST(SupervisorClient, StopIsAcknowledgedOrSaysWhyNot) {
  test::SupervisorPeer peer;
  peer.serve_one();
  std::string error;
  EXPECT_TRUE(request_stop(peer.path(), "secret", 1000, false, error)) << error;
  EXPECT_EQ(peer.received(proto::Type::kVmStop).size(), 1u);
  peer.token = "other";
  peer.serve_one();
  EXPECT_FALSE(request_stop(peer.path(), "secret", 1000, false, error));
  EXPECT_NE(error.find("bad token"), std::string::npos) << error;
  EXPECT_FALSE(request_stop(peer.path() + ".gone", "secret", 1000, false, error));
  EXPECT_NE(error.find("cannot reach the VM's supervisor"), std::string::npos) << error;
}

}  // namespace
}  // namespace smolvm
