// Runs the fuzz target over seed files, inputs built to hit the loader's
// limits, and deterministic mutations of all of them; fails on a crash (the
// process dies), on any exception other than smolvm::Error (which escapes
// the target and terminates), or on an input taking more than a few seconds.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr int kMutationsPerSeed = 120;
// A 1 MiB input (the size limit) parses in about 0.1 s, 0.5 s under ASan;
// a hang is far beyond this.
constexpr double kSlowSeconds = 3.0;

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// Inputs aimed at the guards: nesting, alias expansion, size, odd bytes.
std::vector<std::string> hostile_inputs() {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [" +
            repeat(std::string("*") + char(c - 1) + ", ", 9) + "*" + char(c - 1) + "]\n";
  }
  std::string block;
  for (int i = 0; i < 500; ++i) block += std::string(i, ' ') + "k:\n";
  return {
      repeat("[", 100000),
      repeat("{a: ", 5000),
      repeat("- ", 5000) + "x",
      block,
      bomb,
      "a: &a [*a]\n",
      "apiVersion: smolvm/v1\nkind: VMProfile\nname: x\nenv: {" + repeat("A: b, ", 2000) + "}\n",
      "apiVersion: smolvm/v1\nkind: VMProfile\nname: " + std::string(2 * 1024 * 1024, 'a') + "\n",
      "apiVersion: smolvm/v1\nkind: VMProfile\nname: x\nsetup: [\"" + std::string(70000, 'x') +
          "\"]\n",
      "a: 1\n---\nb: 2\n",
      "\xEF\xBB\xBF"
      "apiVersion: smolvm/v1\n",
      std::string("a: \"\\0\"\n\x01\xff\xfe", 12),
      "extends: /dev/zero\napiVersion: smolvm/v1\nkind: VMProfile\nname: x\n",
      "extends: /proc/self/status\napiVersion: smolvm/v1\nkind: VMProfile\nname: x\n",
      "resources: {vcpu_count: 1e999999, mem_size_mib: -0x1}\n",
      "? [a, b]\n: c\n",
      "!!binary aGVsbG8=\n",
      "",
  };
}

const char* const kTokens[] = {"[",           "]",       "{",         "}",      ":",     ": ",
                               "- ",          "&a ",     "*a",        "!!str ", "!x ",   "\"",
                               "'",           "\n",      "  ",        "#",      "---\n", "? ",
                               "|\n",         ">-\n",    "~",         "0x",     "1e999", "\t",
                               "\xff",        "\\u0000", "extends: ", "<<: ",   ",",     "...\n",
                               "%YAML 1.2\n", "\r\n",    "\xc3\xa9"};

std::string mutate(const std::string& seed, const std::string& other, std::mt19937& rng) {
  std::string s = seed;
  auto pick = [&](size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  const int rounds = 1 + static_cast<int>(pick(4));
  for (int r = 0; r < rounds; ++r) {
    const size_t at = pick(s.size() + 1);
    switch (pick(6)) {
      case 0:
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1 << pick(8));
        break;
      case 1:
        s.insert(at, kTokens[pick(std::size(kTokens))]);
        break;
      case 2:
        s.erase(at, pick(16));
        break;
      case 3:
        s.insert(at, s.substr(pick(s.size() + 1), pick(64)));
        break;
      case 4:
        s.resize(at);
        break;
      default:
        s = s.substr(0, at) + other.substr(std::min(other.size(), pick(other.size() + 1)));
        break;
    }
  }
  return s;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
      if (entry.is_regular_file()) seeds.push_back(read_file(entry.path()));
    }
  }
  const size_t files = seeds.size();
  for (std::string& s : hostile_inputs()) seeds.push_back(std::move(s));

  std::vector<std::string> inputs = seeds;
  std::mt19937 rng(20240601);
  for (size_t i = 0; i < seeds.size(); ++i) {
    for (int m = 0; m < kMutationsPerSeed; ++m) {
      inputs.push_back(mutate(seeds[i], seeds[(i + m + 1) % seeds.size()], rng));
    }
  }

  double slowest = 0;
  size_t slowest_at = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto start = std::chrono::steady_clock::now();
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(inputs[i].data()), inputs[i].size());
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (s > slowest) slowest = s, slowest_at = i;
  }
  std::printf(
      "%zu inputs (%zu seed files, %zu built-in, the rest mutations); slowest %.3f s (#%zu)\n",
      inputs.size(), files, seeds.size() - files, slowest, slowest_at);
  if (slowest > kSlowSeconds) {
    std::printf("FAIL: input #%zu took longer than %.1f s; it begins: %.200s\n", slowest_at,
                kSlowSeconds, inputs[slowest_at].c_str());
    return 1;
  }
  return 0;
}
