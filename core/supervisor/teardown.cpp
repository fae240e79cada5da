#include "core/supervisor/teardown.h"

#include <unistd.h>

#include "core/common/error.h"
#include "core/common/process.h"

namespace smolvm {

void remove_vmm_leftovers(PluginRegistry& plugins, const VmRecord& rec) {
  try {
    const auto& vt = plugins.get(SMOLVM_PLUGIN_VMM, rec.runtime.vmm).vtable<smolvm_vmm_vtable>();
    if (!SMOLVM_VMM_HAS(&vt, cleanup)) return;
    smolvm_vmm_config cfg{};
    cfg.struct_size = sizeof cfg;
    cfg.vm_id = rec.id.c_str();
    cfg.vm_dir = rec.runtime.vm_dir.c_str();
    smolvm_plugin_error err{};
    vt.cleanup(&cfg, &err);  // what it cannot remove goes with the VM's folder
  } catch (const Error&) {
    // The plugin is gone: its files go with the VM's folder.
  }
}

void remove_vm_sockets(PluginRegistry& plugins, const VmRecord& rec) {
  if (!rec.runtime.supervisor_socket.empty()) ::unlink(rec.runtime.supervisor_socket.c_str());
  remove_vmm_leftovers(plugins, rec);
}

void teardown_vm_network(NetworkBackend& network, Store& store, const VmRecord& rec) {
  network.teardown(rec.id, rec.runtime.lease, store.forwards(rec.id));
}

void kill_recorded_processes(Store& store, const std::string& vm_id) {
  // The VMM first: it must not outlive the supervisor that owns it.
  const auto procs = store.processes(vm_id);
  for (const auto& p : procs) {
    if (p.role != "supervisor") kill_process(p.pid, p.start_time);
  }
  for (const auto& p : procs) {
    if (p.role == "supervisor") kill_process(p.pid, p.start_time);
  }
  store.clear_processes(vm_id, "");
}

}  // namespace smolvm
