#include "core/supervisor/teardown.h"

#include <unistd.h>

#include "core/common/process.h"

namespace smolvm {

void remove_vmm_leftovers(const std::string& vm_dir) {
  if (vm_dir.empty()) return;
  for (const char* sock : {"/agent.sock", "/qmp.sock"}) ::unlink((vm_dir + sock).c_str());
}

void remove_vm_sockets(const VmRecord& rec) {
  if (!rec.runtime.supervisor_socket.empty()) ::unlink(rec.runtime.supervisor_socket.c_str());
  remove_vmm_leftovers(rec.runtime.vm_dir);
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
