#include "smolvm/sdk/json.h"

#include <gtest/gtest.h>

namespace {

TEST(JsonQuote, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(smolvm::sdk::json_quote(""), "\"\"");
  EXPECT_EQ(smolvm::sdk::json_quote("plain/path 1.0"), "\"plain/path 1.0\"");
  EXPECT_EQ(smolvm::sdk::json_quote("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\u000ad\\u0001\"");
  EXPECT_EQ(smolvm::sdk::json_quote("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
}

}  // namespace
