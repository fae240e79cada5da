// The frame codec: encoding, incremental decoding, and every refusal.
#include "protocol/frame.h"

#include <gtest/gtest.h>

#include <random>

namespace smolvm::proto {
namespace {

std::string header(uint32_t length, uint8_t type, uint8_t flags, uint8_t r0, uint8_t r1,
                   uint32_t stream) {
  std::string h = u32_le(length);
  h.push_back(static_cast<char>(type));
  h.push_back(static_cast<char>(flags));
  h.push_back(static_cast<char>(r0));
  h.push_back(static_cast<char>(r1));
  h += u32_le(stream);
  return h;
}

TEST(Frame, EncodesTheDocumentedLayout) {
  const std::string bytes = encode(Frame{Type::kStdout, kFlagEnd, 0x01020304, "hi"});
  ASSERT_EQ(bytes.size(), kHeaderSize + 2);
  EXPECT_EQ(bytes, header(10, 0x12, 0x01, 0, 0, 0x01020304) + "hi");
  // Little-endian length and stream.
  EXPECT_EQ(bytes.substr(0, 4), std::string("\x0a\x00\x00\x00", 4));
  EXPECT_EQ(bytes.substr(8, 4), std::string("\x04\x03\x02\x01", 4));
}

TEST(Frame, U32LittleEndian) {
  EXPECT_EQ(u32_le(0x11223344), std::string("\x44\x33\x22\x11", 4));
  uint32_t v = 0;
  ASSERT_TRUE(read_u32_le(u32_le(0xdeadbeef), v));
  EXPECT_EQ(v, 0xdeadbeefu);
  EXPECT_FALSE(read_u32_le("abc", v));
  EXPECT_FALSE(read_u32_le("abcde", v));
}

TEST(Frame, TypeNames) {
  EXPECT_STREQ(type_name(Type::kHello), "HELLO");
  EXPECT_STREQ(type_name(Type::kVmStopping), "VM_STOPPING");
  EXPECT_STREQ(type_name(Type::kVmSnapshot), "VM_SNAPSHOT");
  EXPECT_STREQ(type_name(Type::kVmSnapshotted), "VM_SNAPSHOTTED");
  EXPECT_STREQ(type_name(Type::kResize), "RESIZE");
  EXPECT_STREQ(type_name(static_cast<Type>(0x99)), "UNKNOWN");
  int known = 0;
  for (int t = 0; t < 256; ++t) known += is_known_type(static_cast<uint8_t>(t));
  EXPECT_EQ(known, 26);
}

TEST(Decoder, ResyncSkipsToTheNextFrameOfAType) {
  std::string wire;
  append_frame(wire, Type::kStdout, 0, 3, std::string(50, 'x'));
  wire.erase(0, 20);  // the middle of a frame
  append_frame(wire, Type::kPong, 0, 0, "stale");
  append_frame(wire, Type::kHelloOk, 0, 0, "{}");
  append_frame(wire, Type::kPing, 0, 0, "after");
  Decoder d;
  std::vector<Frame> got;
  bool looking = true;
  auto take = [&] {
    Frame f;
    for (;;) {
      const auto r = d.next(f);
      if (r == Decoder::Result::kNeedMore) return;
      if (r == Decoder::Result::kError) {
        ASSERT_TRUE(looking) << d.error();
        d.resync_to(Type::kHelloOk);
        continue;
      }
      if (looking && f.type != Type::kHelloOk) continue;  // what a caller drops
      looking = false;
      got.push_back(f);
    }
  };
  // Fed in two parts: the header looked for is cut between them.
  const size_t part = wire.size() - 30;
  d.feed(wire.data(), part);
  take();
  d.feed(wire.data() + part, wire.size() - part);
  take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, Type::kHelloOk);
  EXPECT_EQ(got[1].payload, "after");
}

TEST(Decoder, RoundTripsEveryTypeAndPayloadSize) {
  const Type types[] = {Type::kHello,         Type::kHelloOk,  Type::kError,      Type::kExec,
                        Type::kStdin,         Type::kStdout,   Type::kStderr,     Type::kExit,
                        Type::kSignal,        Type::kCredit,   Type::kFileWrite,  Type::kFileRead,
                        Type::kData,          Type::kDone,     Type::kShutdown,   Type::kPing,
                        Type::kPong,          Type::kVmStop,   Type::kVmStopping, Type::kVmPause,
                        Type::kVmPaused,      Type::kVmResume, Type::kVmResumed,  Type::kVmSnapshot,
                        Type::kVmSnapshotted, Type::kResize};
  std::string wire;
  std::vector<Frame> sent;
  uint32_t stream = 0;
  for (Type t : types) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{4096}}) {
      Frame f{t, static_cast<uint8_t>(stream & 1), stream++, std::string(size, 'x')};
      wire += encode(f);
      sent.push_back(f);
    }
  }
  Frame big{Type::kData, 0, 7, std::string(kMaxPayload, '\xab')};
  wire += encode(big);
  sent.push_back(big);
  Decoder d;
  d.feed(wire.data(), wire.size());
  Frame f;
  for (const Frame& want : sent) {
    ASSERT_EQ(d.next(f), Decoder::Result::kFrame);
    EXPECT_EQ(f.type, want.type);
    EXPECT_EQ(f.flags, want.flags);
    EXPECT_EQ(f.stream, want.stream);
    EXPECT_EQ(f.payload, want.payload);
    EXPECT_EQ(f.end(), (want.flags & kFlagEnd) != 0);
  }
  EXPECT_EQ(d.next(f), Decoder::Result::kNeedMore);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(Decoder, ByteByByteFeeding) {
  std::string wire;
  append_frame(wire, Type::kPing, 0, 0, "first");
  append_frame(wire, Type::kStdin, kFlagEnd, 9, std::string("\0\1\2", 3));
  append_frame(wire, Type::kPong, 0, 0, "");
  Decoder d;
  std::vector<Frame> got;
  Frame f;
  for (char c : wire) {
    d.feed(&c, 1);
    Decoder::Result r;
    while ((r = d.next(f)) == Decoder::Result::kFrame) got.push_back(f);
    ASSERT_EQ(r, Decoder::Result::kNeedMore);
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].payload, "first");
  EXPECT_EQ(got[1].payload, std::string("\0\1\2", 3));
  EXPECT_TRUE(got[1].end());
  EXPECT_EQ(got[1].stream, 9u);
  EXPECT_EQ(got[2].type, Type::kPong);
}

TEST(Decoder, RandomSplitsGiveTheSameFrames) {
  std::mt19937 rng(1234);
  std::string wire;
  std::vector<std::string> payloads;
  for (int i = 0; i < 200; ++i) {
    std::string p(rng() % 3000, '\0');
    for (auto& c : p) c = static_cast<char>(rng());
    append_frame(wire, Type::kData, 0, static_cast<uint32_t>(i), p);
    payloads.push_back(std::move(p));
  }
  Decoder d;
  Frame f;
  size_t pos = 0, n = 0;
  while (pos < wire.size()) {
    const size_t chunk = std::min<size_t>(wire.size() - pos, 1 + rng() % 5000);
    d.feed(wire.data() + pos, chunk);
    pos += chunk;
    while (d.next(f) == Decoder::Result::kFrame) {
      ASSERT_LT(n, payloads.size());
      EXPECT_EQ(f.stream, n);
      EXPECT_EQ(f.payload, payloads[n]);
      ++n;
    }
  }
  EXPECT_EQ(n, payloads.size());
}

struct Refusal {
  const char* name;
  std::string bytes;
  const char* message;  // part of Decoder::error()
};

class DecoderRefuses : public ::testing::TestWithParam<Refusal> {};

TEST_P(DecoderRefuses, WithAMessageAndStaysFailed) {
  const Refusal& r = GetParam();
  Decoder d;
  d.feed(r.bytes.data(), r.bytes.size());
  Frame f;
  ASSERT_EQ(d.next(f), Decoder::Result::kError);
  EXPECT_NE(d.error().find(r.message), std::string::npos) << d.error();
  // Broken streams cannot be resynchronised: even a good frame is refused.
  const std::string good = encode(Frame{Type::kPing, 0, 0, "x"});
  d.feed(good.data(), good.size());
  EXPECT_EQ(d.next(f), Decoder::Result::kError);
}

INSTANTIATE_TEST_SUITE_P(
    All, DecoderRefuses,
    ::testing::Values(
        Refusal{"LengthBelow8", header(7, 0x31, 0, 0, 0, 0), "frame length 7 outside 8..1048584"},
        Refusal{"LengthZero", u32_le(0), "frame length 0"},
        Refusal{"LengthAboveMax", header(8 + (1u << 20) + 1, 0x31, 0, 0, 0, 0),
                "frame length 1048585"},
        Refusal{"LengthHuge", u32_le(0xffffffff), "frame length 4294967295"},
        Refusal{"UnknownType", header(8, 0x99, 0, 0, 0, 0), "unknown frame type 153"},
        Refusal{"TypeZero", header(8, 0x00, 0, 0, 0, 0), "unknown frame type 0"},
        Refusal{"ReservedLow", header(8, 0x31, 0, 1, 0, 0), "reserved header bits"},
        Refusal{"ReservedHigh", header(8, 0x31, 0, 0, 0x80, 0), "reserved header bits"},
        Refusal{"UnknownFlag", header(8, 0x31, 0x02, 0, 0, 0), "unknown frame flags 2"},
        Refusal{"Garbage", "GET / HTTP/1.1\r\n\r\n", "frame length"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Decoder, RefusesABadHeaderBeforeItsPayloadArrives) {
  // A huge declared payload must not be waited for (or buffered) when the
  // header is already wrong.
  Decoder d;
  const std::string h = header(1000, 0x99, 0, 0, 0, 0);
  d.feed(h.data(), h.size());
  Frame f;
  EXPECT_EQ(d.next(f), Decoder::Result::kError);
}

TEST(Decoder, WaitsForAFullHeaderAndPayload) {
  Decoder d;
  Frame f;
  const std::string wire = encode(Frame{Type::kData, 0, 1, "payload"});
  d.feed(wire.data(), 3);
  EXPECT_EQ(d.next(f), Decoder::Result::kNeedMore);
  d.feed(wire.data() + 3, 9);
  EXPECT_EQ(d.next(f), Decoder::Result::kNeedMore);
  d.feed(wire.data() + 12, wire.size() - 13);
  EXPECT_EQ(d.next(f), Decoder::Result::kNeedMore);
  EXPECT_EQ(d.buffered(), wire.size() - 1);
  d.feed(wire.data() + wire.size() - 1, 1);
  ASSERT_EQ(d.next(f), Decoder::Result::kFrame);
  EXPECT_EQ(f.payload, "payload");
}

TEST(Decoder, LongRunsDoNotKeepConsumedBytes) {
  Decoder d;
  Frame f;
  const std::string wire = encode(Frame{Type::kData, 0, 1, std::string(1000, 'z')});
  // Feed frames with a partial one always pending, so the buffer never
  // empties by itself; it must still compact.
  d.feed(wire.data(), 500);
  for (int i = 0; i < 10000; ++i) {
    d.feed(wire.data() + 500, wire.size() - 500);
    d.feed(wire.data(), 500);
    ASSERT_EQ(d.next(f), Decoder::Result::kFrame);
    ASSERT_EQ(d.next(f), Decoder::Result::kNeedMore);
  }
  EXPECT_EQ(d.buffered(), 500u);
}

}  // namespace
}  // namespace smolvm::proto
