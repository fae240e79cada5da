// Args::number and parse_number: whole numbers within the field's real
// range, negative numbers refused as such, the flag named in every message.
#include "cli/args.h"

#include <gtest/gtest.h>

#include "smolvm/smolvm.h"

namespace smolvm_cli {
namespace {

std::string number_error(const std::string& value, unsigned long lo, unsigned long hi,
                         bool zero_ok = false) {
  const Args a = parse_args({"--mem", value}, {"--mem"}, {});
  try {
    a.number("--mem", 512, lo, hi, zero_ok);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(CliNumbers, ReportTheFieldsRealRange) {
  const unsigned long lo = SMOLVM_MEM_MIB_MIN, hi = SMOLVM_MEM_MIB_MAX;
  EXPECT_EQ(number_error("-1", lo, hi), "--mem=-1: must not be negative; allowed: 128..16384");
  EXPECT_EQ(number_error("-4096", lo, hi),
            "--mem=-4096: must not be negative; allowed: 128..16384");
  EXPECT_EQ(number_error("64", lo, hi), "--mem=64: must be 128..16384");
  EXPECT_EQ(number_error("16385", lo, hi), "--mem=16385: must be 128..16384");
  EXPECT_EQ(number_error("99999999999999999999999", lo, hi),
            "--mem=99999999999999999999999: must be a whole number 128..16384");
  EXPECT_EQ(number_error("1.5", lo, hi), "--mem=1.5: must be a whole number 128..16384");
  EXPECT_EQ(number_error("", lo, hi), "--mem=: must be a whole number 128..16384");
  EXPECT_EQ(number_error(" 512", lo, hi), "--mem= 512: must be a whole number 128..16384");
  EXPECT_EQ(number_error("+512", lo, hi), "--mem=+512: must be a whole number 128..16384");
  EXPECT_EQ(number_error("0", lo, hi), "--mem=0: must be 128..16384");
  EXPECT_EQ(number_error("0", 64, 100, true), "");
  EXPECT_EQ(number_error("10", 64, 100, true), "--mem=10: must be 0 or 64..100");
  EXPECT_EQ(number_error("128", lo, hi), "");
  EXPECT_EQ(number_error("16384", lo, hi), "");
}

TEST(CliNumbers, AbsentFlagTakesTheFallbackAndValuesParse) {
  const Args none = parse_args({}, {"--mem"}, {});
  EXPECT_EQ(none.number("--mem", 512, 128, 16384), 512u);
  const Args set = parse_args({"--mem=2048"}, {"--mem"}, {});
  EXPECT_EQ(set.number("--mem", 512, 128, 16384), 2048u);
  EXPECT_EQ(parse_number("guest port", "8080", 1, 65535), 8080u);
  EXPECT_THROW(parse_number("guest port", "-80", 1, 65535), UsageError);
  EXPECT_THROW(parse_number("guest port", "65536", 1, 65535), UsageError);
}

TEST(CliSpans, TakeSecondsOrAUnitWithinTheLimit) {
  auto span = [](const std::string& value) {
    return parse_args({"--ttl", value}, {"--ttl"}, {}).seconds("--ttl", SMOLVM_LIFETIME_S_MAX);
  };
  EXPECT_EQ(parse_args({}, {"--ttl"}, {}).seconds("--ttl", 10), 0u);
  EXPECT_EQ(span("90"), 90u);
  EXPECT_EQ(span("90s"), 90u);
  EXPECT_EQ(span("15m"), 900u);
  EXPECT_EQ(span("2h"), 7200u);
  EXPECT_EQ(span("30d"), 2592000u);
  EXPECT_EQ(span("0"), 0u);
  for (const char* bad : {"31d", "1w", "m", "", "-5", "1.5h", " 5", "99999999999999999999"}) {
    try {
      span(bad);
      ADD_FAILURE() << bad << " was taken";
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(std::string("--ttl=") + bad +
                                                ": must be a whole "
                                                "number of seconds, or with a unit s, m, h or d",
                                            0),
                0u)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace smolvm_cli
