// smolvm-supervisor: started by libsmolvm, never by hand. Either the
// supervisor of one VM (supervisor.h), or with --cleanup the end of a VM
// whose supervisor died (cleanup.h).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/supervisor/cleanup.h"
#include "core/supervisor/supervisor.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: smolvm-supervisor --vm-id ID --state-dir DIR [--plugin-path P] "
               "[--store NAME] [--cache-dir DIR] [--ready-fd N] [--owner-fd N]\n"
               "       smolvm-supervisor --cleanup --vm-id ID --state-dir DIR [--plugin-path P] "
               "[--store NAME] [--end-state stopped|failed] [--error TEXT]\n"
               "(started by libsmolvm; not meant to be run by hand)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  smolvm::SupervisorArgs args;
  bool cleanup = false;
  std::string end_state = "failed";
  std::string end_error;
  bool end_error_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    if (key == "--cleanup") {
      cleanup = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "smolvm-supervisor: %s needs a value\n", key.c_str());
      return usage();
    }
    const char* value = argv[++i];
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
    } else if (key == "--end-state") {
      end_state = value;
    } else if (key == "--error") {
      end_error = value;
      end_error_given = true;
    } else {
      std::fprintf(stderr, "smolvm-supervisor: unknown argument %s\n", key.c_str());
      return 2;
    }
  }
  if (args.vm_id.empty() || args.state_dir.empty()) return usage();
  if (!cleanup) return smolvm::run_supervisor(args);

  smolvm::CleanupArgs c;
  c.vm_id = args.vm_id;
  c.state_dir = args.state_dir;
  c.plugin_path = args.plugin_path;
  c.store = args.store;
  if (end_state == "stopped") {
    c.end.state = smolvm::VmState::kStopped;
    c.end.error.clear();
  } else if (end_state != "failed") {
    std::fprintf(stderr, "smolvm-supervisor: --end-state '%s': must be stopped or failed\n",
                 end_state.c_str());
    return 2;
  }
  if (end_error_given) c.end.error = end_error;
  return smolvm::run_cleanup(c);
}
