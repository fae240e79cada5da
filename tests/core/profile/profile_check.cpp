// profile_check [--env] [--json] FILE: loads a profile as `smolvm create
// --profile` will. Prints "OK" (and with --json the result) and exits 0, or
// prints the error and exits 1. check_corpus.py compares its verdicts with
// an independent JSON Schema validator's.
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/profile/profile.h"

namespace {

nlohmann::json to_json(const smolvm::Profile& p) {
  nlohmann::json ports = nlohmann::json::array();
  for (const smolvm::PortSpec& port : p.ports) {
    ports.push_back({{"guest", port.guest_port},
                     {"host", port.host_port},
                     {"host_addr", port.host_addr},
                     {"protocol", port.protocol}});
  }
  nlohmann::json env = nlohmann::json::array();
  for (const auto& [key, value] : p.env) env.push_back({key, value});
  return {{"name", p.name},
          {"spec", smolvm::to_json(p.spec)},
          {"disk_size_mib", p.disk_size_mib},
          {"ports", ports},
          {"env", env},
          {"setup", p.setup},
          {"snapshot", p.snapshot},
          {"source_path", p.source_path},
          {"extends_chain", p.extends_chain}};
}

}  // namespace

int main(int argc, char** argv) {
  bool env = false, json = false;
  const char* file = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--env") == 0) {
      env = true;
    } else if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (!file) {
      file = argv[i];
    } else {
      file = nullptr;
      break;
    }
  }
  if (!file) {
    std::cerr << "usage: profile_check [--env] [--json] FILE\n";
    return 2;
  }
  try {
    smolvm::Profile p = smolvm::load_profile(file);
    if (env) smolvm::apply_env_overrides(p);
    std::cout << "OK\n";
    if (json) std::cout << to_json(p).dump(2) << "\n";
    return 0;
  } catch (const smolvm::Error& e) {
    std::cout << e.what() << "\n";
    return 1;
  }
}
