// The SDK's error writer: status passed through, long messages cut at the
// buffer's end with a NUL and never inside a UTF-8 character.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "smolvm/plugin_sdk.h"

namespace {

TEST(ErrorWriter, WritesTheFormattedMessageAndReturnsTheStatus) {
  smolvm_plugin_error err{};
  EXPECT_EQ(smolvm_plugin_set_error(&err, SMOLVM_EIO, "open %s: %d", "/x", 5), SMOLVM_EIO);
  EXPECT_STREQ(err.message, "open /x: 5");
  EXPECT_EQ(smolvm::sdk::set_error(&err, SMOLVM_EINVAL, std::string("as is: %s")), SMOLVM_EINVAL);
  EXPECT_STREQ(err.message, "as is: %s");  // the string form is never a format
}

TEST(ErrorWriter, ANullErrorIsAllowed) {
  EXPECT_EQ(smolvm_plugin_set_error(nullptr, SMOLVM_EBUSY, "x"), SMOLVM_EBUSY);
  EXPECT_EQ(smolvm::sdk::set_error(nullptr, SMOLVM_EBUSY, "x"), SMOLVM_EBUSY);
}

TEST(ErrorWriter, CutsALongMessageAt1023BytesWithANul) {
  smolvm_plugin_error err;
  std::memset(err.message, 'Z', sizeof err.message);
  const std::string long_text(5000, 'x');
  smolvm::sdk::set_error(&err, SMOLVM_ERROR, long_text);
  EXPECT_EQ(std::strlen(err.message), 1023u);
  EXPECT_EQ(err.message[1023], '\0');
  EXPECT_EQ(std::string(err.message), long_text.substr(0, 1023));

  std::memset(err.message, 'Z', sizeof err.message);
  smolvm_plugin_set_error(&err, SMOLVM_ERROR, "%s", long_text.c_str());
  EXPECT_EQ(std::strlen(err.message), 1023u);
}

TEST(ErrorWriter, NeverLeavesHalfAUtf8CharacterAtTheCut) {
  smolvm_plugin_error err{};
  // 1022 bytes, then a 2-byte character whose second byte would be the
  // 1024th: it is dropped whole.
  smolvm::sdk::set_error(&err, SMOLVM_ERROR, std::string(1022, 'a') + "\xC3\xA9" + "tail");
  EXPECT_EQ(std::strlen(err.message), 1022u);
  // A character that fits stays.
  smolvm::sdk::set_error(&err, SMOLVM_ERROR, std::string(1021, 'a') + "\xC3\xA9" + "tail");
  EXPECT_EQ(std::strlen(err.message), 1023u);
  EXPECT_EQ(std::string(err.message + 1021), "\xC3\xA9");
  // A 4-byte character cut after its second byte.
  smolvm::sdk::set_error(&err, SMOLVM_ERROR, std::string(1021, 'a') + "\xF0\x9F\x98\x80");
  EXPECT_EQ(std::strlen(err.message), 1021u);
}

}  // namespace
