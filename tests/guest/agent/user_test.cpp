// EXEC "user": resolving names and uid[:gid] against passwd/group texts,
// and commands really running as the user (the agent runs as root here).
#include "guest/agent/user.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "guest/agent/spawn.h"
#include "tests/guest/agent/agent_client.h"

namespace smolvm::test {
namespace {

using agent::resolve_user;
using agent::RunAs;

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/bash\n"
    "user:x:1000:1000:,,,:/home/user:/bin/bash\n"
    "svc:x:998:997::/var/svc:/usr/sbin/nologin\n"
    "broken:x:notanumber:1::/:/bin/sh\n";
constexpr const char* kGroup =
    "root:x:0:\n"
    "tty:x:5:\n"
    "user:x:1000:\n"
    "docker:x:999:user,svc\n"
    "audio:x:29:svc,user\n";

TEST(AgentUser, ANameGetsItsIdsHomeShellAndGroups) {
  RunAs as;
  std::string err;
  ASSERT_TRUE(resolve_user("user", kPasswd, kGroup, as, err)) << err;
  EXPECT_EQ(as.uid, 1000u);
  EXPECT_EQ(as.gid, 1000u);
  EXPECT_EQ(as.name, "user");
  EXPECT_EQ(as.home, "/home/user");
  EXPECT_EQ(as.shell, "/bin/bash");
  EXPECT_EQ(as.groups, (std::vector<gid_t>{1000, 999, 29}));
}

TEST(AgentUser, AUidWithOrWithoutAnEntryAndAGroup) {
  RunAs as;
  std::string err;
  ASSERT_TRUE(resolve_user("1000", kPasswd, kGroup, as, err)) << err;
  EXPECT_EQ(as.name, "user");
  ASSERT_TRUE(resolve_user("1000:5", kPasswd, kGroup, as, err)) << err;
  EXPECT_EQ(as.gid, 5u);
  EXPECT_EQ(as.groups.front(), 5u);
  ASSERT_TRUE(resolve_user("4242", kPasswd, kGroup, as, err)) << err;
  EXPECT_EQ(as.uid, 4242u);
  EXPECT_EQ(as.gid, 4242u);
  EXPECT_EQ(as.name, "");
  EXPECT_EQ(as.home, "/");
  ASSERT_TRUE(resolve_user("4242:100", kPasswd, kGroup, as, err)) << err;
  EXPECT_EQ(as.gid, 100u);
}

TEST(AgentUser, BadUsersAreNamedWithWhatIsAllowed) {
  RunAs as;
  std::string err;
  EXPECT_FALSE(resolve_user("bob", kPasswd, kGroup, as, err));
  EXPECT_NE(err.find("user 'bob' is not in the guest's /etc/passwd"), std::string::npos) << err;
  for (const char* bad : {"user:5", "1000:", ":5", "1000:x", "99999999999", ""}) {
    EXPECT_FALSE(resolve_user(bad, kPasswd, kGroup, as, err)) << bad;
    EXPECT_NE(err.find(std::string("user '") + bad + "'"), std::string::npos) << err;
  }
}

class AgentUserExec : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root (the guest agent has it)";
    ASSERT_TRUE(agent.hello());
  }
  AgentProcess agent;
};

proto::ExecRequest as_user(const std::string& user, const std::string& cmd) {
  proto::ExecRequest r;
  r.shell = cmd;
  r.shell_mode = proto::kShellRaw;
  r.user = user;
  return r;
}

TEST_F(AgentUserExec, CommandsRunAsTheUserWithItsEnvironment) {
  auto r = run(agent, as_user("nobody", "id -u; id -g; echo $USER $HOME; pwd"));
  ASSERT_TRUE(r.exit) << (r.error ? r.error->message : "");
  EXPECT_EQ(r.exit->exit_code, 0) << r.err;
  // nobody's home (/nonexistent) does not exist: the command starts in /.
  EXPECT_EQ(r.out, "65534\n65534\nnobody /nonexistent\n/\n");
  r = run(agent, as_user("65534:4321", "id -u; id -g; id -G"), 2);
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.out, "65534\n4321\n4321\n");
}

TEST_F(AgentUserExec, AnUnprivilegedUserIsRefusedWhatRootMayDo) {
  auto r = run(agent, as_user("nobody", "touch /root/x 2>&1; echo rc=$?"));
  ASSERT_TRUE(r.exit);
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out;
  proto::ExecRequest cwd = as_user("nobody", "pwd");
  cwd.cwd = "/root";
  r = run(agent, cwd, 2);
  ASSERT_TRUE(r.exit);
  // chdir happens as the user: root's folder (0700) is refused to it.
  EXPECT_EQ(r.exit->exit_code, 126) << r.out;
  EXPECT_NE(r.err.find("chdir '/root'"), std::string::npos) << r.err;
}

TEST_F(AgentUserExec, AnUnknownUserIsAnErrorNamingIt) {
  auto r = run(agent, as_user("no-such-user", "true"));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "EINVAL");
  EXPECT_NE(r.error->message.find("'no-such-user'"), std::string::npos) << r.error->message;
  EXPECT_EQ(run_shell(agent, "echo still here", 2).out, "still here\n");
}

}  // namespace
}  // namespace smolvm::test
