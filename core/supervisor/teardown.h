// What a VM leaves on the host once its VMM has exited, removed in one
// place: by the supervisor when its VM ends (supervisor.cpp, finish), and by
// `smolvm-supervisor --cleanup` for a VM whose supervisor died or hung
// (cleanup.h), which gc and a client's lifecycle calls run.
#pragma once

#include <string>

#include "core/network/network.h"
#include "core/store/store.h"

namespace smolvm {

// Files the VMM plugin made in the VM's folder (the QEMU plugin's
// agent.sock and qmp.sock) that a VMM killed with SIGKILL leaves behind.
// Core should not know them: the VMM plugin's cleanup slot replaces this.
void remove_vmm_leftovers(const std::string& vm_dir);

// The supervisor's client socket, then remove_vmm_leftovers.
void remove_vm_sockets(const VmRecord& rec);

// The VM's TAP, isolation and port forwards through its network backend;
// idempotent. Throws the backend's error.
void teardown_vm_network(NetworkBackend& network, Store& store, const VmRecord& rec);

// Kills the VM's recorded processes that still run (the VMM before the
// supervisor that owns it) and forgets them.
void kill_recorded_processes(Store& store, const std::string& vm_id);

}  // namespace smolvm
