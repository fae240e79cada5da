// A command that tries to outlive its timeout or kill, shared by the tests
// of both executors (tests/hardening for the agent, tests/plugins/executor-ssh for SSH).
#pragma once

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/vm_fixture.h"

namespace vmtest {

// Processes that leave the command's process group every way a shell can:
// a new session (setsid), nohup, and a double fork whose middle process
// exits at once (the grandchild is re-parented to init). Prints "started"
// once all are on their way, then waits.
inline constexpr const char* kEscapers =
    "setsid nohup sleep 1000 >/dev/null 2>&1 < /dev/null & "
    "(setsid sh -c 'sleep 1001' >/dev/null 2>&1 < /dev/null &); "
    "sh -c '(sleep 1002 >/dev/null 2>&1 < /dev/null &)'; "
    "echo started; sleep 600";
// Counts the escapers, but not the pgrep that looks for them.
inline constexpr const char* kFindEscapers = "pgrep -f 'sleep 100[012]' | wc -l";

// How many escapers live in vm, polled for up to 2 s: SIGKILL is delivered
// at once, the dying processes take a moment to be reaped.
inline int escapers_left(smolvm_vm* vm) {
  int left = -1;
  for (int i = 0; i < 20; ++i) {
    left = std::stoi("0" + run(vm, kFindEscapers).out);
    if (left == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return left;
}

}  // namespace vmtest
