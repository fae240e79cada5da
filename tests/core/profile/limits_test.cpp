// The guards against hostile input: size, nesting, alias expansion. Each is
// refused quickly with a message saying which limit was hit.
#include <gtest/gtest.h>

#include <chrono>

#include "core/profile/profile.h"
#include "test_util.h"

namespace smolvm {
namespace {

using testing::failure_of;
using testing::kHeader;

std::string error_of(const std::string& text) {
  const testing::Failure f = failure_of([&] { load_profile_from_string(text, "p.yaml"); });
  EXPECT_EQ(f.status, SMOLVM_EINVAL) << f.message;
  return f.message;
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(ProfileLimits, FilesLargerThanOneMibAreRefusedBeforeParsing) {
  const std::string big = kHeader + ("setup: [\"" + std::string(kProfileMaxBytes, 'x') + "\"]\n");
  EXPECT_EQ(error_of(big), "p.yaml: too large: a profile may be at most 1048576 bytes (1 MiB)");
  testing::TempDir dir;
  const std::string path = dir.write("big.yaml", big);
  EXPECT_EQ(failure_of([&] { load_profile(path); }).message,
            path + ": too large: a profile may be at most 1048576 bytes (1 MiB)");
}

TEST(ProfileLimits, NestingDeeperThanTheLimitIsRefusedWhereItHappens) {
  // 64 levels parse (and fail the schema); the 65th is refused by the parser.
  EXPECT_EQ(error_of(kHeader + ("env: " + repeat("[", 63) + repeat("]", 63) + "\n")),
            "p.yaml:4:6: env: must be a mapping, not a list");
  EXPECT_EQ(error_of(kHeader + ("env: " + repeat("[", 64) + repeat("]", 64) + "\n")),
            "p.yaml:4:69: lists and mappings nested deeper than 64 levels");
  // The comment says the file is a profile, so its errors may point into it.
  std::string block = "# smolvm/v1\na:\n";
  for (int i = 1; i < 70; ++i) block += std::string(i, ' ') + "a:\n";
  EXPECT_EQ(error_of(block), "p.yaml:66:65: lists and mappings nested deeper than 64 levels");
}

TEST(ProfileLimits, AHundredThousandOpenBracketsFailFast) {
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(error_of("# smolvm/v1\na: " + repeat("{a: ", 100000)),
            "p.yaml:2:256: lists and mappings nested deeper than 64 levels");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // Unclosed, yaml-cpp takes the brackets for flow keys ([...]: v), and the
  // second one is refused as a key before any depth is reached.
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(error_of("# smolvm/v1\n" + repeat("[", 100000)),
            "p.yaml:2:1: mapping keys must be strings, not a list");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(ProfileLimits, AliasExpansionIsCounted) {
  // "Billion laughs": ten levels of ten aliases each would be 10^10 nodes;
  // x4 (line 8) takes the count past 100000 at its eighth alias.
  std::string text = std::string(kHeader) + "x0: &a0 [s, s, s, s, s, s, s, s, s, s]\n";
  for (int i = 1; i < 10; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    text += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + repeat(prev + ", ", 9) +
            prev + "]\n";
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(error_of(text),
            "p.yaml:8:45: more than 100000 YAML nodes (aliases counted in full); a profile is "
            "small");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(ProfileLimits, ManyKeysAreCheckedForDuplicatesInLinearTime) {
  std::string env = "env:\n";
  for (int i = 0; i < 40000; ++i) env += "  K" + std::to_string(i) + ": v\n";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(error_of(kHeader + env), "p.yaml:5:3: env: at most 256 variables (found 40000)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ProfileLimits, ListsAreCapped) {
  EXPECT_EQ(error_of(kHeader + ("setup: [" + repeat("a, ", 64) + "a]\n")),
            "p.yaml:4:8: setup: at most 64 commands (found 65)");
  EXPECT_EQ(error_of(kHeader + ("network: {ports: [" + repeat("{guest: 1}, ", 65) + "]}\n")),
            "p.yaml:4:18: network.ports: at most 64 ports (found 65)");
}

}  // namespace
}  // namespace smolvm
