// smolvm-supervisor: started by libsmolvm, never by hand.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/supervisor/supervisor.h"

int main(int argc, char** argv) {
  smolvm::SupervisorArgs args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const char* value = argv[i + 1];
    if (key == "--vm-id") {
      args.vm_id = value;
    } else if (key == "--state-dir") {
      args.state_dir = value;
    } else if (key == "--plugin-path") {
      args.plugin_path = value;
    } else if (key == "--store") {
      args.store = value;
    } else if (key == "--cache-dir") {
      args.cache_dir = value;
    } else if (key == "--ready-fd") {
      args.ready_fd = std::atoi(value);
    } else if (key == "--owner-fd") {
      args.owner_fd = std::atoi(value);
    } else {
      std::fprintf(stderr, "smolvm-supervisor: unknown argument %s\n", key.c_str());
      return 2;
    }
  }
  if (args.vm_id.empty() || args.state_dir.empty()) {
    std::fprintf(stderr,
                 "usage: smolvm-supervisor --vm-id ID --state-dir DIR [--plugin-path P] "
                 "[--store NAME] [--cache-dir DIR] [--ready-fd N] [--owner-fd N]\n(started by "
                 "libsmolvm; not meant to be run by "
                 "hand)\n");
    return 2;
  }
  return smolvm::run_supervisor(args);
}
