// libFuzzer target for the agent protocol codec: arbitrary bytes go through
// the frame decoder (in pieces whose sizes the input picks, and resyncing
// after errors as a supervisor does before HELLO_OK), and every
// payload, plus the whole input, through each message parser. Whatever a
// parser accepts must survive to_json and parse again unchanged in meaning.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/frame.h"
#include "protocol/messages.h"

namespace {

using namespace smolvm::proto;

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

template <typename T>
void round_trip(std::string_view json) {
  T msg;
  std::string err;
  if (!parse(json, msg, err)) {
    FUZZ_CHECK(!err.empty());
    return;
  }
  T again;
  FUZZ_CHECK(parse(to_json(msg), again, err));
  FUZZ_CHECK(to_json(again) == to_json(msg));
}

void parse_all(std::string_view json) {
  round_trip<Hello>(json);
  round_trip<HelloOk>(json);
  round_trip<ErrorMsg>(json);
  round_trip<ExecRequest>(json);
  round_trip<ExitStatus>(json);
  round_trip<FileWrite>(json);
  round_trip<FileRead>(json);
  round_trip<SignalMsg>(json);
  round_trip<VmStop>(json);
  round_trip<VmSnapshot>(json);
  round_trip<VmSnapshotted>(json);
  round_trip<Resize>(json);
}

// What a supervisor does with an agent channel before its HELLO_OK: skip
// what does not frame. Every resync must get on, and whatever comes out is
// a whole frame.
void resync_all(std::string_view input) {
  Decoder d;
  d.feed(input.data(), input.size());
  Frame f;
  for (size_t rounds = 0; rounds <= input.size() + 1; ++rounds) {
    const size_t before = d.buffered();
    const auto r = d.next(f);
    if (r == Decoder::Result::kNeedMore) return;
    if (r == Decoder::Result::kFrame) continue;
    d.resync_to(Type::kHelloOk);
    FUZZ_CHECK(d.buffered() < before);
  }
  FUZZ_CHECK(false);  // more rounds than bytes: a resync did not get on
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  parse_all(input);
  resync_all(input);

  // The first byte picks how the rest is cut into feeds, so split frames
  // and headers are explored too.
  Decoder d;
  const size_t step = size ? 1 + data[0] % 64 : 1;
  Frame f;
  bool failed = false;
  for (size_t pos = size ? 1 : 0; pos < size && !failed; pos += step) {
    const size_t n = step < size - pos ? step : size - pos;
    d.feed(data + pos, n);
    for (;;) {
      const auto r = d.next(f);
      if (r == Decoder::Result::kNeedMore) break;
      if (r == Decoder::Result::kError) {
        FUZZ_CHECK(!d.error().empty());
        failed = true;
        break;
      }
      FUZZ_CHECK(is_known_type(static_cast<uint8_t>(f.type)));
      FUZZ_CHECK(f.payload.size() <= kMaxPayload);
      // A decoded frame re-encodes to the same bytes.
      const std::string again = encode(f);
      Decoder d2;
      Frame g;
      d2.feed(again.data(), again.size());
      FUZZ_CHECK(d2.next(g) == Decoder::Result::kFrame);
      FUZZ_CHECK(g.type == f.type && g.flags == f.flags && g.stream == f.stream &&
                 g.payload == f.payload);
      parse_all(f.payload);
      uint32_t credit;
      read_u32_le(f.payload, credit);
    }
    // Never buffers more than one maximal frame plus one feed.
    FUZZ_CHECK(failed || d.buffered() <= kHeaderSize + kMaxPayload + step);
  }
  return 0;
}
