// smolvm.ssh_key= on the kernel command line: how the guest learns the
// VM's SSH public key without rebuilding the image.
#include <gtest/gtest.h>

#include "guest/agent/ssh.h"
#include "protocol/base64.h"

namespace smolvm::agent {
namespace {

const std::string kKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx4 smolvm-vm1";

TEST(AgentSshKey, DecodesTheAuthorizedKeysLine) {
  std::string err;
  const std::string cmdline =
      "console=ttyS0 smolvm.ssh_key=" + proto::base64_encode(kKey + "\n") + " quiet\n";
  EXPECT_EQ(ssh_key_from_cmdline(cmdline, err), kKey + "\n");
  EXPECT_EQ(err, "");
  // Without a trailing newline it gets one.
  EXPECT_EQ(ssh_key_from_cmdline("smolvm.ssh_key=" + proto::base64_encode(kKey), err), kKey + "\n");
}

TEST(AgentSshKey, AbsentIsNotAnError) {
  std::string err = "stale";
  EXPECT_EQ(ssh_key_from_cmdline("console=ttyS0 smolvm.ip=1.2.3.4/24", err), std::nullopt);
  EXPECT_EQ(err, "");
}

TEST(AgentSshKey, RefusesWhatIsNotOneKeyLine) {
  std::string err;
  for (const std::string& bad :
       {std::string("smolvm.ssh_key=not*base64"), std::string("smolvm.ssh_key="),
        "smolvm.ssh_key=" + proto::base64_encode(kKey + "\nssh-rsa AAAA other"),
        "smolvm.ssh_key=" + proto::base64_encode("nospace"),
        "smolvm.ssh_key=" + proto::base64_encode(std::string("ssh-ed25519 A\0B", 15))}) {
    EXPECT_EQ(ssh_key_from_cmdline(bad, err), std::nullopt) << bad;
    EXPECT_NE(err.find("smolvm.ssh_key"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace smolvm::agent
