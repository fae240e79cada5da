// The host's half of executor=ssh, run through the executor hooks of plugin
// ABI 1.4: a key pair per VM made at create (vm_created), the public key
// handed to the guest on the kernel command line (vm_booting), and the
// guest's host key read through the VM's supervisor and guest agent (trusted:
// the VMM's own device, not the network) and pinned in the plugin's data for
// the VM, so connect refuses any other server (vm_ready).
#pragma once

#include <string>

#include "smolvm/plugin.h"

namespace smolvm_ssh {

// The plugin's data for one VM (smolvm_executor_vm.data_json). The key
// names are those core stored before 1.4 as "ssh_<name>" (core converts old
// records), so a VM created by an older version keeps its key and pin.
struct VmData {
  std::string key_path;  // the private key; "" before vm_created ran
  std::string host_key;  // pinned "ssh-ed25519 <base64>", "" until learned
};

// Reads data_json; missing keys and values of the wrong type stay empty, an
// unreadable document is the empty data (NULL too).
VmData parse_vm_data(const char* data_json);
std::string to_json(const VmData& data);

// The private key's path: the data's, else <vm_dir>/ssh_key.
std::string key_path_of(const VmData& data, const std::string& vm_dir);

// "ssh-ed25519 <base64 blob>" from a .pub line (comment dropped), or "" when
// text is not a complete ed25519 public key.
std::string normalize_key_line(const std::string& text);

// vm_created: makes <vm_dir>/ssh_key (ed25519, 0600) and ssh_key.pub with
// ssh-keygen. They go with the VM's folder on delete. Throws sdk::Error.
void make_key_pair(const smolvm_executor_vm& vm, VmData& data);

// vm_booting: "smolvm.ssh_key=<base64 of the public key line>". A shared
// disk is thrown away at every stop, and the guest's host key with it: the
// pin (and known_hosts) is then dropped, to be learned again.
std::string boot_args(const smolvm_executor_vm& vm, VmData& data);

// vm_ready: unless a host key is pinned, reads the guest's
// /etc/ssh/ssh_host_ed25519_key.pub (waiting for init to make it), pins it
// in data and writes <vm_dir>/known_hosts for `smolvm ssh`.
void pin_host_key(const smolvm_executor_vm& vm, VmData& data);

}  // namespace smolvm_ssh
