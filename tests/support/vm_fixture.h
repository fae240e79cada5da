// The one VM fixture of the tests that boot VMs (integration, network,
// hardening, transfer, executor-ssh, vmm-firecracker): real VMs booted through
// the C ABI, in a state folder of the test's own, from the default guest image.
#pragma once

#include <gtest/gtest.h>
#include <smolvm/smolvm.h>

#include <string>
#include <vector>

#include "tests/support/processes.h"

namespace vmtest {

using smolvm::test::files_in;
using smolvm::test::pid_alive;

// The image cache ($SMOLVM_CACHE_DIR, else the XDG cache), as the runtime
// finds it; the default guest image is in its images/default.
std::string cache_dir();

// The test's state folder (short: Unix socket paths must stay < 108 bytes).
const std::string& state_dir();
smolvm_runtime* runtime();

struct Result {
  int rc = 0;  // the C API status
  int exit_code = -1, signal = 0, timed_out = 0;
  std::string out, err;
  uint64_t duration_us = 0;
};

Result run(smolvm_vm* vm, const std::string& command, uint32_t timeout_ms = 0);
Result exec_argv(smolvm_vm* vm, const std::vector<std::string>& argv, const std::string& input = "",
                 const std::vector<std::string>& env = {}, const std::string& cwd = "");

smolvm_vm* create(const std::string& id, const char* disk_mode = nullptr);
smolvm_vm* create_and_start(const std::string& id);
// One VM with the given vCPUs (256 MiB, network none); started if `start`.
// boot: "auto" (nullptr, the default: from the image's template when one
// fits) or "cold".
smolvm_vm* make_vm(const std::string& id, uint32_t vcpus, bool start,
                   const char* boot_args = nullptr, uint32_t boot_timeout_s = 0,
                   const char* boot = nullptr);
smolvm_vm_info info(smolvm_vm* vm);
// smolvm_last_error() as a string, for messages.
std::string last_error();
// The host's wall clock in seconds, to compare a guest's with.
double host_now();
// The VM answers a command promptly.
::testing::AssertionResult answers(smolvm_vm* vm, int within_ms = 15000);

// Runs the smolvm CLI (a separate process) with this test's state folder.
struct CliResult {
  int status = -1;
  std::string out;
};
CliResult cli(const std::string& args);

// Waits until the VM leaves `state` (or timeout); returns the new state.
std::string wait_state_change(smolvm_vm* vm, const std::string& state, int timeout_ms);

// Takes a snapshot of vm; "" (with a test failure) when it fails.
std::string snapshot(smolvm_vm* vm, const char* name, bool stop = false);
// A new VM restored from snap (not started); nullptr when create fails
// (smolvm_last_error says why). mem 0: the snapshot's.
smolvm_vm* restore(const std::string& snap, const std::string& id, uint32_t mem = 0);

}  // namespace vmtest
