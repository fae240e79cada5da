// check_request_size / check_path_text: what an executor could not send
// whole (or would cut at a NUL) is refused first, naming the field.
#include "core/runtime/request_limits.h"

#include <gtest/gtest.h>

#include "core/common/error.h"
#include "core/runtime/guest_session.h"

namespace smolvm {
namespace {

std::string refusal(const ExecRequest& req, const std::vector<std::string>& defaults = {}) {
  try {
    check_request_size(req, defaults);
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_EINVAL);
    return e.what();
  }
  return "";
}

const std::string kRule =
    " bytes; a command's argv, command, env and cwd must fit in 131072 bytes together (pass "
    "large data as stdin or a file)";

TEST(RequestLimits, TheLargestFieldIsNamedWithItsSize) {
  ExecRequest r;
  r.command = std::string(2 << 20, 'x');
  EXPECT_EQ(refusal(r), "command: 2097152" + kRule);
  r.command = "true";
  r.env = {"SMALL=1", "BIG=" + std::string(4 << 20, 'v')};
  EXPECT_EQ(refusal(r), "env BIG: 4194308" + kRule);
  r.env.clear();
  r.cwd = std::string(200000, '/');
  EXPECT_EQ(refusal(r), "cwd: 200000" + kRule);
  r.cwd.clear();
  r.command.clear();
  r.argv.assign(70000, "a");  // 2 bytes each with its NUL: 140000 in all
  EXPECT_EQ(refusal(r), "argv: 70000" + kRule);
}

TEST(RequestLimits, TheVmsOwnEnvCountsAndTheLimitIsInclusive) {
  ExecRequest r;
  r.command = std::string(SMOLVM_EXEC_REQUEST_MAX_BYTES - 1, 'x');  // + its NUL: the limit
  EXPECT_EQ(refusal(r), "");
  EXPECT_EQ(refusal(r, {"A=1"}), "command: 131071" + kRule);
}

TEST(RequestLimits, NulIsRefusedInEveryTextField) {
  ExecRequest r;
  r.command = std::string("echo a\0; touch /tmp/x", 22);
  EXPECT_EQ(refusal(r), "command: must not contain NUL bytes (text ends at the first one)");
  r.command.clear();
  r.argv = {"echo", std::string("a\0b", 3)};
  EXPECT_EQ(refusal(r), "argv[1]: must not contain NUL bytes (text ends at the first one)");
  r.argv = {"true"};
  r.env = {std::string("A=x\0y", 5)};
  EXPECT_EQ(refusal(r), "env A: must not contain NUL bytes (text ends at the first one)");
  r.env.clear();
  r.cwd = std::string("/tmp\0x", 6);
  EXPECT_EQ(refusal(r), "cwd: must not contain NUL bytes (text ends at the first one)");
}

TEST(RequestLimits, GuestPaths) {
  EXPECT_NO_THROW(check_path_text("guest_path", "/" + std::string(4094, 'a')));
  try {
    check_path_text("guest_path", std::string(4096, '/'));
    ADD_FAILURE() << "a 4096-byte path was accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "guest_path: 4096 bytes; a path must be shorter than 4096 bytes (PATH_MAX)");
  }
  EXPECT_THROW(check_path_text("guest_path", std::string("/a\0b", 4)), Error);
}

}  // namespace
}  // namespace smolvm
