// The host's half of executor=ssh: a key pair per VM made at create, the
// public key handed to the guest on the kernel command line, and the
// guest's host key learned through the agent channel (trusted: it is the
// VMM's own device, not the network) and pinned in the store, so the SSH
// executor can refuse any other server.
#pragma once

#include <string>

#include "core/store/store.h"

namespace smolvm {

class Runtime;

// executor=ssh: makes <vm_dir>/ssh_key (ed25519, 0600) and ssh_key.pub,
// records runtime.ssh.key_path and saves the record. They go with the
// VM's folder on delete.
void prepare_ssh_keys(Store& store, VmRecord& rec);

// "smolvm.ssh_key=<base64 of the public key line>", or "" for other
// executors. A shared disk is thrown away at every stop, and the guest's
// host key with it: then the pin is dropped here, to be learned again.
std::string ssh_boot_args(VmRuntime& runtime, const std::string& disk_mode);

// Once the VM is ready: if it uses ssh and has no pinned host key, reads
// /etc/ssh/ssh_host_ed25519_key.pub through the agent (waiting for init to
// make it), stores it as runtime.ssh.host_key and writes
// <vm_dir>/known_hosts for `smolvm ssh`.
void pin_host_key(Runtime& rt, const std::string& id);

}  // namespace smolvm
