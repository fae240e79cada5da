// libFuzzer target: arbitrary bytes as a profile file. The loader may refuse
// anything, but only by throwing smolvm::Error; a crash, any other exception
// or a hang is a bug. Also linked into profile_fuzz_smoke, which calls the
// same entry point without libFuzzer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/common/error.h"
#include "core/profile/profile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    // A folder that does not exist: relative extends lead nowhere, so the
    // input alone decides what happens.
    smolvm::Profile p = smolvm::load_profile_from_string(text, "/nonexistent/smolvm-fuzz/p.yaml");
    // Overrides on top of whatever loaded, from a fixed fake environment.
    smolvm::apply_env_overrides(p, [](const char* name) -> const char* {
      return std::string(name) == "SMOLVM_PROFILE_NETWORK" ? "none" : nullptr;
    });
  } catch (const smolvm::Error&) {
  }
  return 0;
}
