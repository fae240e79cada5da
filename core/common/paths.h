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

// The folder holding the code that called this (libsmolvm.so or the
// supervisor executable), found with dladdr: plugins and the supervisor
// are looked up next to it.
std::string self_dir();

std::string home_dir();

}  // namespace smolvm
