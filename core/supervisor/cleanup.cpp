#include "core/supervisor/cleanup.h"

#include <cstdio>
#include <exception>

#include "core/common/paths.h"
#include "core/plugins/loader.h"
#include "core/store/store.h"
#include "core/supervisor/cgroup.h"
#include "core/supervisor/log.h"
#include "core/supervisor/teardown.h"

namespace smolvm {

int run_cleanup(const CleanupArgs& args) {
  try {
    PluginRegistry plugins(args.plugin_path);
    Store store(plugins.get(SMOLVM_PLUGIN_STORE, args.store), store_path(args.state_dir));
    const VmRecord rec = store.get(args.vm_id);
    kill_recorded_processes(store, rec.id);
    // After the VMM: only an empty group can be removed.
    remove_recorded_cgroup(rec.runtime.limits.cgroup);
    const std::string& network = rec.runtime.network;
    if (!network.empty() && network != "none" && !rec.runtime.lease.tap.empty()) {
      try {
        NetworkBackend backend(plugins, network);
        teardown_vm_network(backend, store, rec);
      } catch (const std::exception& e) {
        supervisor_log("vm %s: network left for delete or gc: %s", rec.id.c_str(), e.what());
      }
    }
    remove_vm_sockets(plugins, rec);
    record_end(store, rec.id, args.end);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smolvm-supervisor --cleanup: vm '%s': %s\n", args.vm_id.c_str(),
                 e.what());
    return 1;
  }
}

}  // namespace smolvm
