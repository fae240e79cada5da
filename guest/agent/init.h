// What the agent does as the guest's PID 1 before serving: the few mounts a
// Linux userland expects, hostname, network from the kernel command line,
// and the environment commands inherit. Also the way out: power off.
#pragma once

#include <string>

namespace smolvm::agent {

// Every step is best effort: a failure is logged and boot goes on, since an
// agent serving without (say) /dev/shm is far more use than no agent.
// Returns the kernel command line (readable once /proc is mounted).
std::string init_system();

// PATH, HOME, TERM and LANG for commands, as a login would set them.
void set_init_environment();

// Kills every process, syncs, remounts / read-only and reboots (QEMU runs
// with -no-reboot, so the VM exits). Never returns.
[[noreturn]] void power_off();

}  // namespace smolvm::agent
