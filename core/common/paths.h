// Where SmolVM keeps things. One place decides, so the CLI, the library and
// the supervisor always agree.
#pragma once

#include <string>

namespace smolvm {

// state_dir: override, else $SMOLVM_STATE_DIR, else $XDG_STATE_HOME/smolvm,
// else ~/.local/state/smolvm.
std::string resolve_state_dir(const std::string& override_dir);
// cache_dir: override, else $SMOLVM_CACHE_DIR, else $XDG_CACHE_HOME/smolvm,
// else ~/.cache/smolvm.
std::string resolve_cache_dir(const std::string& override_dir);

std::string store_path(const std::string& state_dir);                        // smolvm.db
std::string vm_dir(const std::string& state_dir, const std::string& vm_id);  // vms/<id>
// A snapshot's folder (snapshots/<id>) and the files the supervisor writes
// into it: the VM's saved memory and device state, and its disk layer.
std::string snapshots_dir(const std::string& state_dir);  // snapshots
std::string snapshot_dir(const std::string& state_dir, const std::string& snapshot_id);
std::string snapshot_state_file(const std::string& dir);  // <dir>/state
std::string snapshot_disk_file(const std::string& dir);   // <dir>/disk.qcow2
// Where a VM that hibernates saves its state (snapshot_state_file in it);
// its disk stays where it is.
std::string hibernation_dir(const std::string& vm_dir);  // <vm_dir>/hibernation

// The folder holding the code that called this (libsmolvm.so or the
// supervisor executable), found with dladdr: plugins and the supervisor
// are looked up next to it.
std::string self_dir();

std::string home_dir();

}  // namespace smolvm
