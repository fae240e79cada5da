// base64 as the SSH key hand-over and fingerprints use it (RFC 4648 vectors).
#include "protocol/base64.h"

#include <gtest/gtest.h>

namespace {

using smolvm::proto::base64_decode;
using smolvm::proto::base64_encode;

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> kVectors[] = {{"", ""},
                                                          {"f", "Zg=="},
                                                          {"fo", "Zm8="},
                                                          {"foo", "Zm9v"},
                                                          {"foob", "Zm9vYg=="},
                                                          {"fooba", "Zm9vYmE="},
                                                          {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : kVectors) {
    EXPECT_EQ(base64_encode(plain), coded);
    EXPECT_EQ(base64_decode(coded).value_or("?"), plain);
  }
}

TEST(Base64, UnpaddedAndBinary) {
  EXPECT_EQ(base64_encode("fo", false), "Zm8");
  EXPECT_EQ(base64_decode("Zm8").value_or("?"), "fo");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(base64_decode(base64_encode(all)).value_or("?"), all);
}

TEST(Base64, RejectsGarbage) {
  EXPECT_FALSE(base64_decode("Zm9v YmFy"));
  EXPECT_FALSE(base64_decode("Z"));
  EXPECT_FALSE(base64_decode("Zm9v!"));
}

}  // namespace
