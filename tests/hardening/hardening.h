// Helpers for the abuse and fault tests (on top of tests/integration's
// vm_fixture): what "the host is unaffected" and "nothing is left" mean.
#pragma once

#include <string>

#include "vm_fixture.h"

namespace hardening {

// One VM with the given vCPUs (256 MiB, network none); started if `start`.
smolvm_vm* make_vm(const std::string& id, uint32_t vcpus, bool start,
                   const char* boot_args = nullptr, uint32_t boot_timeout_s = 0);

// The host still forks, execs and has memory to spare.
::testing::AssertionResult host_unaffected();
// The VM answers a command promptly.
::testing::AssertionResult answers(smolvm_vm* vm, int within_ms = 15000);
// No socket, no live process, and (after delete) no folder of the VM.
::testing::AssertionResult nothing_left(const std::string& vm_dir, int64_t supervisor_pid,
                                        int64_t vmm_pid, bool deleted);

// Runs a guest program that allocates until it dies, and checks it died
// (MemoryError, 1, or the guest's OOM killer, 137); its "exit=N" output.
std::string memory_hog(smolvm_vm* vm);

// /proc/<pid>/status field in kB (VmRSS, VmHWM), or -1.
long status_kb(int64_t pid, const char* field);
// /proc/<pid>/status line value ("Seccomp", "NoNewPrivs", "CapBnd"), or "".
std::string status_field(int64_t pid, const char* field);

// Runs a shell command; returns its exit status, output in *out.
int sh(const std::string& command, std::string* out = nullptr);

int64_t now_ms();

}  // namespace hardening
