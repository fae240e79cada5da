// Runs the libFuzzer target without libFuzzer, for CI without clang: a few
// thousand pseudo-random inputs and mutations of valid frames and payloads.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "protocol/frame.h"
#include "protocol/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using namespace smolvm::proto;

std::vector<std::string> seeds() {
  ExecRequest exec;
  exec.argv = {"sh", "-c", "echo hi"};
  exec.env = {"A=1"};
  exec.cwd = "/tmp";
  exec.timeout_ms = 100;
  exec.window = 4096;
  ExecRequest tty = exec;
  tty.user = "1000:1000";
  tty.pty = PtyRequest{{40, 120}, "xterm-256color"};
  std::vector<std::string> payloads = {
      to_json(Hello{2, "tok", "cli", 77}),
      to_json(HelloOk{2, "0.1.0", 1 << 20, 77}),
      to_json(tty),
      to_json(Resize{50, 132}),
      R"({"shell":"sh","user":"user","pty":{"rows":1,"cols":1000}})",
      to_json(VmSnapshot{"/tmp/s", true}),
      to_json(VmSnapshotted{1, 2, 3}),
      to_json(ErrorMsg{"EINVAL", "bad"}),
      to_json(exec),
      R"({"shell":"ls"})",
      to_json(ExitStatus{137, 9, true, 5}),
      to_json(FileWrite{"/a/b", 0644}),
      to_json(FileRead{"/a/b", 10}),
      to_json(SignalMsg{15}),
      to_json(VmStop{1000}),
  };
  std::vector<std::string> out = payloads;
  std::string stream;
  uint32_t id = 1;
  for (const auto& p : payloads) {
    // One byte in front: LLVMFuzzerTestOneInput uses it to pick feed sizes.
    std::string one = "\x07";
    append_frame(one, Type::kExec, 0, id, p);
    out.push_back(one);
    append_frame(stream, static_cast<Type>(0x10 + id % 4), id & 1, id, p);
    ++id;
  }
  append_frame(stream, Type::kCredit, 0, 3, u32_le(65536));
  append_frame(stream, Type::kResize, 0, 3, to_json(Resize{10, 20}));
  append_frame(stream, Type::kHelloOk, 0, 0, to_json(HelloOk{2, "a", 1, 9}));
  out.push_back("\x01" + stream);
  out.push_back("\x3f" + stream);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 5000;
  std::mt19937_64 rng(20240611);
  const auto corpus = seeds();
  auto run = [](const std::string& s) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  for (const auto& s : corpus) run(s);
  for (int i = 0; i < iterations; ++i) {
    std::string input;
    if (i % 3 == 0) {
      // Pure noise.
      input.resize(rng() % 512);
      for (auto& c : input) c = static_cast<char>(rng());
    } else {
      // A valid input with a few bytes flipped, inserted, or cut.
      input = corpus[rng() % corpus.size()];
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !input.empty(); ++e) {
        const size_t at = rng() % input.size();
        switch (rng() % 4) {
          case 0:
            input[at] = static_cast<char>(rng());
            break;
          case 1:
            input[at] = static_cast<char>(input[at] ^ (1 << (rng() % 8)));
            break;
          case 2:
            input.insert(at, 1, static_cast<char>(rng()));
            break;
          default:
            input.resize(at);
            break;
        }
      }
    }
    run(input);
  }
  std::printf("fuzz_protocol_smoke: %zu seeds + %d inputs, no crash\n", corpus.size(), iterations);
  return 0;
}
