// What a VM leaves on the host once its VMM has exited, removed in one
// place: by the supervisor when its VM ends (supervisor.cpp, finish), and by
// `smolvm-supervisor --cleanup` for a VM whose supervisor died or hung
// (cleanup.h), which gc and a client's lifecycle calls run.
#pragma once

#include <string>

#include "core/network/network.h"
#include "core/plugins/loader.h"
#include "core/store/store.h"

namespace smolvm {

// What the VM's VMM left in its folder, removed by the VMM plugin's
// cleanup slot once the VMM is gone (what it cannot remove goes with the
// VM's folder). A plugin without the slot, or no longer installed, leaves
// it to the folder too.
void remove_vmm_leftovers(PluginRegistry& plugins, const VmRecord& rec);

// The supervisor's client socket, then remove_vmm_leftovers.
void remove_vm_sockets(PluginRegistry& plugins, const VmRecord& rec);

// The VM's TAP, isolation and port forwards through its network backend;
// idempotent. Throws the backend's error.
void teardown_vm_network(NetworkBackend& network, Store& store, const VmRecord& rec);

// Kills the VM's recorded processes that still run (the VMM before the
// supervisor that owns it) and forgets them.
void kill_recorded_processes(Store& store, const std::string& vm_id);

}  // namespace smolvm
