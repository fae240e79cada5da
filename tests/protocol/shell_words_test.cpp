// Shell text shared by the agent and executor-ssh, run by a real sh.
#include "protocol/shell_words.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace smolvm::proto {
namespace {

std::string sh_output(const std::string& line) {
  std::string out;
  FILE* p = ::popen(("sh -c " + shell_quote(line)).c_str(), "r");
  char buf[256];
  size_t n;
  while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (p) ::pclose(p);
  return out;
}

TEST(ShellWords, QuotesAnyText) {
  for (const std::string s : {"", "a b", "it's", "$HOME `x` \"q\"", "\\n*?"}) {
    EXPECT_EQ(sh_output("printf %s " + shell_quote(s)), s);
  }
}

TEST(ShellWords, ShellNames) {
  EXPECT_TRUE(is_shell_name("PATH"));
  EXPECT_TRUE(is_shell_name("_a1"));
  EXPECT_FALSE(is_shell_name(""));
  EXPECT_FALSE(is_shell_name("1A"));
  EXPECT_FALSE(is_shell_name("odd.key"));
}

TEST(ShellWords, LoginCommandRestoresTheRequestAfterAProfile) {
  const std::vector<std::string> env = {"PATH=/opt/x:/bin:/usr/bin", "odd.key=1", "V=a 'b' $c"};
  const auto saved = saved_env(env);
  EXPECT_EQ(saved, (std::vector<std::string>{"SMOLVM_SAVED_PATH=/opt/x:/bin:/usr/bin",
                                             "SMOLVM_SAVED_V=a 'b' $c"}));
  std::string exports;
  for (const auto& kv : saved) {
    exports += "export " + kv.substr(0, kv.find('=')) + "=" +
               shell_quote(kv.substr(kv.find('=') + 1)) + "; ";
  }
  // A "profile" that resets PATH and V, then the login command.
  const std::string line = exports + "PATH=/bin:/usr/bin; V=profile; " +
                           login_command(env, "echo \"$PATH|$V\"; env | grep -c ^SMOLVM_SAVED_");
  EXPECT_EQ(sh_output(line), "/opt/x:/bin:/usr/bin|a 'b' $c\n0\n");
  // The values are not in the command text.
  EXPECT_EQ(login_command(env, "x").find("/opt/x"), std::string::npos);
  EXPECT_EQ(login_command({}, "echo hi"), "echo hi");
}

}  // namespace
}  // namespace smolvm::proto
