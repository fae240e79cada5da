// executor-ssh's wrapper and parsers without a VM: the wrapper is run by a
// local bash in a new session, exactly as sshd runs it in the guest.
#include "plugins/executor-ssh/remote.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace smolvm_ssh {
namespace {

struct Ran {
  std::string out, err;
};

// `setsid bash -c WRAPPER`, as sshd does for a session without a pty.
Ran run_local(const RemoteRequest& req) {
  char tmpl[] = "/tmp/ssh-remote-XXXXXX";
  const int fd = mkstemp(tmpl);
  close(fd);
  const std::string cmd =
      "setsid -w bash -c " + shell_quote(build_remote_command(req)) + " 2>" + tmpl;
  Ran r;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  if (p) pclose(p);
  std::ifstream in(tmpl);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  unlink(tmpl);
  return r;
}

TEST(SshRemote, WrapperReportsItsOwnProcessGroupThenRunsTheCommand) {
  RemoteRequest req;
  req.command = "echo $$; ps -o pgid= -p $$ | tr -d ' '; echo to-stderr >&2";
  const Ran r = run_local(req);
  PgidFilter f;
  const std::string err = f.feed(r.err);
  ASSERT_TRUE(f.settled());
  EXPECT_EQ(err, "to-stderr\n");
  // The command is the wrapper's process (exec) and leads its group.
  EXPECT_EQ(r.out, std::to_string(f.pgid()) + "\n" + std::to_string(f.pgid()) + "\n");
}

TEST(SshRemote, ArgvEnvAndCwdSurviveQuoting) {
  RemoteRequest req;
  req.argv = {"sh",   "-c", "printf '%s|' \"$@\" \"$A\" \"$(pwd)\"", "x", "a b", "$HOME",
              "it's", "*"};
  req.env = {"A=v w'x", "B=2"};
  req.cwd = "/tmp";
  EXPECT_EQ(run_local(req).out, "a b|$HOME|it's|*|v w'x|/tmp|");
  // A key no shell can assign still reaches the command (through env(1)).
  RemoteRequest odd;
  odd.argv = {"env"};
  odd.env = {"odd.key=1", "LANG=C"};
  const std::string env = "\n" + run_local(odd).out;
  EXPECT_NE(env.find("\nodd.key=1\n"), std::string::npos) << env;
  EXPECT_NE(env.find("\nLANG=C\n"), std::string::npos) << "a request's LANG wins";
  RemoteRequest bad;
  bad.argv = {"true"};
  bad.cwd = "/no/such/dir";
  EXPECT_NE(run_local(bad).err.find("/no/such/dir"), std::string::npos);
}

TEST(SshRemote, StringCommandsRunInTheLoginShellOrRaw) {
  // sshd sets SHELL to the user's login shell; bash here, as in the image.
  ::setenv("SHELL", "/bin/bash", 1);
  RemoteRequest login;
  login.command = "shopt -q login_shell && echo login; echo $((2**40)) $PATH";
  // The request's PATH wins over the one /etc/profile sets.
  login.env = {"PATH=/opt/y:/usr/bin:/bin"};
  EXPECT_EQ(run_local(login).out, "login\n1099511627776 /opt/y:/usr/bin:/bin\n");
  RemoteRequest raw;
  raw.command = "if [ -n \"$BASH_VERSION\" ]; then echo bash; else echo posix; fi";
  raw.login_shell = false;
  EXPECT_EQ(run_local(raw).out, "posix\n");
}

TEST(SshRemote, CgroupNamesAreOneSafeFolderEach) {
  const std::string a = new_cgroup_name(), b = new_cgroup_name();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 20u) << a;
  EXPECT_EQ(a.substr(0, 4), "ssh-");
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef", 4), std::string::npos) << a;
}

TEST(SshRemote, WithoutTheGuestAgentTheCommandRunsAndKillFallsBackToItsGroup) {
  // This host has no /sbin/smolvm-agent, as a custom image might not: the
  // command runs as it would without a cgroup, with its argv intact.
  ASSERT_NE(access(kGuestAgent, X_OK), 0) << "this test needs a host without " << kGuestAgent;
  RemoteRequest req;
  req.argv = {"printf", "%s|", "a b", "it's"};
  req.cgroup = new_cgroup_name();
  EXPECT_EQ(run_local(req).out, "a b|it's|");
  // The kill line says "no group" (3) and still kills the process group,
  // also in a POSIX sh (dash here).
  FILE* p = popen("setsid sh -c 'echo $$; exec sleep 30' </dev/null", "r");
  ASSERT_NE(p, nullptr);
  long pgid = 0;
  ASSERT_EQ(std::fscanf(p, "%ld", &pgid), 1);
  const std::string kill_cmd = "sh -c " + shell_quote(build_group_kill_command(req.cgroup, pgid));
  EXPECT_EQ(WEXITSTATUS(std::system(kill_cmd.c_str())), 3);
  pclose(p);  // returns once the killed sleep has closed the pipe
  EXPECT_NE(::kill(static_cast<pid_t>(pgid), 0), 0) << "the process group survived";
}

TEST(SshRemote, FilterPassesEverythingElseThrough) {
  PgidFilter f;
  EXPECT_EQ(f.feed("motd line\n\x1esmolvm-p"), "");
  EXPECT_FALSE(f.settled());
  EXPECT_EQ(f.feed("gid 4242\nreal stderr"), "motd line\nreal stderr");
  EXPECT_EQ(f.pgid(), 4242);
  EXPECT_EQ(f.feed("\x1esmolvm-pgid 1\n"), "\x1esmolvm-pgid 1\n") << "only the first marker counts";
  PgidFilter never;
  EXPECT_EQ(never.feed("partial"), "");
  EXPECT_EQ(never.flush(), "partial");
  EXPECT_EQ(never.pgid(), 0);
}

TEST(SshRemote, SignalNames) {
  EXPECT_EQ(signal_from_name("KILL"), SIGKILL);
  EXPECT_EQ(signal_from_name("TERM"), SIGTERM);
  EXPECT_EQ(signal_from_name("SIGSEGV"), SIGSEGV);
  EXPECT_EQ(signal_from_name("BUS@openssh.com"), SIGBUS);
  EXPECT_EQ(signal_from_name("NOPE"), 0);
}

TEST(SshRemote, KeyBlobsAndFingerprints) {
  // A key and its fingerprint as `ssh-keygen -lf` prints them.
  const std::string line =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test";
  const std::string blob = key_blob(line);
  EXPECT_EQ(blob.size(), 51u);
  EXPECT_EQ(fingerprint(blob), "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU");
  EXPECT_EQ(key_blob("ssh-rsa AAAAB3NzaC1yc2E x"), "");
  EXPECT_EQ(key_blob("garbage"), "");
}

}  // namespace
}  // namespace smolvm_ssh
