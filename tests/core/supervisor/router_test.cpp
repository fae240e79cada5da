#include "core/supervisor/router.h"

#include <gtest/gtest.h>

namespace smolvm {
namespace {

using proto::Frame;
using proto::Type;

TEST(Router, MapsClientStreamsToDistinctChannelIds) {
  StreamRouter r;
  const auto a = r.open(1, 1, Type::kExec);
  const auto b = r.open(2, 1, Type::kExec);  // same local id, other client
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(r.to_global(1, 1), a);
  EXPECT_EQ(r.from_global(*b)->client, 2u);
  EXPECT_EQ(r.from_global(*b)->local, 1u);
}

TEST(Router, RefusesZeroAndDuplicateLocalIds) {
  StreamRouter r;
  EXPECT_FALSE(r.open(1, 0, Type::kExec));
  EXPECT_TRUE(r.open(1, 5, Type::kExec));
  EXPECT_FALSE(r.open(1, 5, Type::kExec));
}

TEST(Router, KnowsWhichFramesEndAStream) {
  StreamRouter::Route exec{1, 1, Type::kExec}, read{1, 2, Type::kFileRead};
  Frame f;
  f.type = Type::kStdout;
  EXPECT_FALSE(StreamRouter::ends_stream(exec, f));
  f.type = Type::kExit;
  EXPECT_TRUE(StreamRouter::ends_stream(exec, f));
  f.type = Type::kData;
  f.flags = 0;
  EXPECT_FALSE(StreamRouter::ends_stream(read, f));
  f.flags = proto::kFlagEnd;
  EXPECT_TRUE(StreamRouter::ends_stream(read, f));
  f.type = Type::kError;
  EXPECT_TRUE(StreamRouter::ends_stream(read, f));
}

TEST(Router, OrphaningAClientDetachesOnlyItsStreams) {
  StreamRouter r;
  const auto a = *r.open(1, 1, Type::kExec);
  const auto b = *r.open(2, 1, Type::kFileRead);
  const auto orphans = r.orphan_client(1);
  ASSERT_EQ(orphans.size(), 1u);
  EXPECT_EQ(orphans[0].first, a);
  EXPECT_EQ(r.from_global(a)->client, 0u);  // still routed until it ends
  EXPECT_FALSE(r.to_global(1, 1));
  EXPECT_EQ(r.from_global(b)->client, 2u);
  r.close(a);
  EXPECT_EQ(r.from_global(a), nullptr);
  EXPECT_EQ(r.size(), 1u);
}

}  // namespace
}  // namespace smolvm
