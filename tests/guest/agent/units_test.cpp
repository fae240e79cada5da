// The agent's pure helpers, linked directly: kernel command line, addresses,
// channel specs, environment merging, errno mapping.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>

#include "guest/agent/cmdline.h"
#include "guest/agent/files.h"
#include "guest/agent/net.h"
#include "guest/agent/serve.h"
#include "guest/agent/spawn.h"
#include "tests/guest/agent/agent_client.h"

namespace smolvm::agent {
namespace {

TEST(AgentCmdline, FindsParameters) {
  const std::string cmdline =
      "console=ttyS0 root=/dev/vda rw smolvm.ip=172.16.0.2/24 smolvm.gw=172.16.0.1 "
      "smolvm.channel=vsock:1024 quiet smolvm.dns=1.1.1.1,8.8.8.8\n";
  EXPECT_EQ(cmdline_param(cmdline, "smolvm.ip"), "172.16.0.2/24");
  EXPECT_EQ(cmdline_param(cmdline, "smolvm.gw"), "172.16.0.1");
  EXPECT_EQ(cmdline_param(cmdline, "smolvm.channel"), "vsock:1024");
  EXPECT_EQ(cmdline_param(cmdline, "smolvm.dns"), "1.1.1.1,8.8.8.8");
  EXPECT_EQ(cmdline_param(cmdline, "quiet"), "");
  EXPECT_EQ(cmdline_param(cmdline, "smolvm"), std::nullopt);
  EXPECT_EQ(cmdline_param(cmdline, "smolvm.i"), std::nullopt);
  EXPECT_EQ(cmdline_param("", "x"), std::nullopt);
  EXPECT_EQ(cmdline_param("a=1 a=2", "a"), "2") << "later wins, as in the kernel";
}

TEST(AgentNet, ParsesCidr) {
  Ipv4Cidr c;
  ASSERT_TRUE(parse_ipv4_cidr("172.16.0.2/24", c));
  EXPECT_EQ(c.prefix, 24);
  EXPECT_EQ(ntohl(c.addr), 0xac100002u);
  ASSERT_TRUE(parse_ipv4_cidr("10.0.0.1", c));
  EXPECT_EQ(c.prefix, 32);
  ASSERT_TRUE(parse_ipv4_cidr("0.0.0.0/0", c));
  EXPECT_EQ(c.prefix, 0);
  for (const char* bad : {"", "1.2.3", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/a", "1.2.3.4/024",
                          "300.1.1.1/8", "host/24"}) {
    EXPECT_FALSE(parse_ipv4_cidr(bad, c)) << bad;
  }
}

TEST(AgentServe, ParsesChannelSpecs) {
  ChannelSpec s;
  std::string err;
  ASSERT_TRUE(parse_channel_spec("virtio-serial", s, err));
  EXPECT_EQ(s.kind, ChannelSpec::Kind::kVirtioSerial);
  ASSERT_TRUE(parse_channel_spec("vsock:1024", s, err));
  EXPECT_EQ(s.kind, ChannelSpec::Kind::kVsock);
  EXPECT_EQ(s.port, 1024u);
  for (const char* bad :
       {"", "vsock", "vsock:", "vsock:0", "vsock:x", "vsock:99999999999", "tcp"}) {
    EXPECT_FALSE(parse_channel_spec(bad, s, err)) << bad;
    EXPECT_NE(err.find("virtio-serial or vsock:PORT"), std::string::npos);
  }
}

TEST(AgentSpawn, MergesEnvironment) {
  const char* base[] = {"PATH=/bin", "HOME=/root", "A=1", nullptr};
  auto env = merge_env(base, {"HOME=/home/x", "B=2", "A=", "PATHX=y"});
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/bin", "HOME=/home/x", "A=", "B=2", "PATHX=y"}));
  EXPECT_EQ(merge_env(nullptr, {"X=1"}), std::vector<std::string>{"X=1"});
}

TEST(AgentSpawn, ShellExitCodesForExecErrors) {
  EXPECT_EQ(exit_code_for_errno(ENOENT), 127);
  EXPECT_EQ(exit_code_for_errno(ENOTDIR), 127);
  EXPECT_EQ(exit_code_for_errno(EACCES), 126);
  EXPECT_EQ(exit_code_for_errno(ENOEXEC), 126);
}

TEST(AgentSpawn, LoginShellFromPasswd) {
  const std::string passwd =
      "root:x:0:0:root:/root:/bin/bash\n"
      "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
      "odd:x:2:2::/:relative/shell\n"
      "short:x:3:3\n"
      "none:x:4:4::/:\n";
  EXPECT_EQ(login_shell_of(passwd, 0), "/bin/bash");
  // A user who may not log in, a relative, missing or empty shell: POSIX sh.
  EXPECT_EQ(login_shell_of(passwd, 1), kRawShell);
  EXPECT_EQ(login_shell_of(passwd, 2), kRawShell);
  EXPECT_EQ(login_shell_of(passwd, 3), kRawShell);
  EXPECT_EQ(login_shell_of(passwd, 4), kRawShell);
  EXPECT_EQ(login_shell_of(passwd, 99), kRawShell);
  EXPECT_EQ(login_shell_of("", 0), kRawShell);
}

TEST(AgentSpawn, ShellCommandsRunAsAsked) {
  proto::ExecRequest argv_req;
  argv_req.argv = {"echo", "hi"};
  argv_req.shell_mode = proto::kShellRaw;  // ignored with argv
  EXPECT_EQ(command_argv(argv_req), (std::vector<std::string>{"echo", "hi"}));
  proto::ExecRequest raw;
  raw.shell = "echo $((2**40))";
  raw.shell_mode = proto::kShellRaw;
  EXPECT_EQ(command_argv(raw), (std::vector<std::string>{"/bin/sh", "-c", raw.shell}));
  proto::ExecRequest login;
  login.shell = "echo hi";
  const auto argv = command_argv(login);
  ASSERT_EQ(argv.size(), 4u);
  EXPECT_EQ(argv[1], "-l");
  EXPECT_EQ(argv[2], "-c");
  EXPECT_EQ(argv[3], "echo hi");
}

TEST(AgentFilesUnit, StatusNamesForErrno) {
  EXPECT_STREQ(status_for_errno(ENOENT), "ENOTFOUND");
  EXPECT_STREQ(status_for_errno(EACCES), "EPERM");
  EXPECT_STREQ(status_for_errno(EROFS), "EPERM");
  EXPECT_STREQ(status_for_errno(EISDIR), "EINVAL");
  EXPECT_STREQ(status_for_errno(ENOSPC), "EIO");
}

TEST(AgentFilesUnit, MakeParents) {
  test::TempDir dir;
  EXPECT_TRUE(make_parents(dir.path() + "/x/y/z/file"));
  struct stat st;
  ASSERT_EQ(::stat((dir.path() + "/x/y/z").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_TRUE(make_parents(dir.path() + "/x/y/z/file")) << "existing parents are fine";
  EXPECT_TRUE(make_parents("/file-in-root"));
}

}  // namespace
}  // namespace smolvm::agent
