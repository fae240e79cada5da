// run_tool and first_line_of on real processes.
#include "smolvm/sdk/process.h"

#include <gtest/gtest.h>

namespace {

TEST(RunTool, FeedsStdinAndCollectsBothStreamsAndTheExitStatus) {
  const auto r = smolvm::sdk::run_tool({"sh", "-c", "cat; echo oops >&2; exit 3"}, "fed\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.output, "fed\noops");
}

TEST(RunTool, AMissingProgramIs127WithTheReason) {
  const auto r = smolvm::sdk::run_tool({"smolvm-no-such-tool"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(r.output, "smolvm-no-such-tool not found on PATH");
}

TEST(RunTool, AKilledToolIs128PlusTheSignal) {
  EXPECT_EQ(smolvm::sdk::run_tool({"sh", "-c", "kill -9 $$"}).exit_code, 128 + 9);
}

TEST(FirstLineOf, ReturnsTheFirstLineAndTheStatus) {
  int code = -1;
  EXPECT_EQ(smolvm::sdk::first_line_of({"printf", "one\\ntwo\\n"}, &code), "one");
  EXPECT_EQ(code, 0);
}

}  // namespace
