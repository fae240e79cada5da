// Checks of the abuse and fault tests (on top of the shared VM fixture in
// tests/support): what "the host is unaffected" and "nothing is left" mean.
#pragma once

#include <string>

#include "tests/support/processes.h"
#include "tests/support/vm_fixture.h"

namespace hardening {

using smolvm::test::now_ms;
using smolvm::test::sh;
using smolvm::test::status_field;
using smolvm::test::status_kb;
using vmtest::answers;
using vmtest::make_vm;

// The host still forks, execs and has memory to spare.
::testing::AssertionResult host_unaffected();
// No socket, no live process, and (after delete) no folder of the VM.
::testing::AssertionResult nothing_left(const std::string& vm_dir, int64_t supervisor_pid,
                                        int64_t vmm_pid, bool deleted);

// Runs a guest program that allocates until it dies, and checks it died
// (MemoryError, 1, or the guest's OOM killer, 137); its "exit=N" output.
std::string memory_hog(smolvm_vm* vm);

}  // namespace hardening
