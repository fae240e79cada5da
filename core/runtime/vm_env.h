// A VM's environment: the KEY=VALUE entries every command in it sees
// (VmSpec::env), changed while the VM exists and kept with its record, so
// every process attached to the VM and every later start sees the change.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/store/store.h"

namespace smolvm {

// Sets entries (each checked: check_env_entry). merge false: they replace
// the whole environment. Returns the environment after the change.
std::map<std::string, std::string> set_vm_env(Store& store, const std::string& id,
                                              const std::vector<std::string>& entries, bool merge);
// Removes the names (each checked: check_env_name; absent ones are no
// error). Returns the environment after the change.
std::map<std::string, std::string> unset_vm_env(Store& store, const std::string& id,
                                                const std::vector<std::string>& names);
// NAME -> VALUE of a spec's entries; a later entry of a name wins.
std::map<std::string, std::string> env_map(const std::vector<std::string>& entries);

}  // namespace smolvm
