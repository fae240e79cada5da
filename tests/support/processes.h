// Host processes as the tests see them: whether one is alive, their
// /proc/<pid>/status fields, and shell commands run for their output.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace smolvm::test {

// True while pid runs (a zombie does not count).
bool pid_alive(int64_t pid);
// True once pid is gone (or only a zombie) within timeout_ms.
bool wait_pid_gone(pid_t pid, int timeout_ms);

// /proc/<pid>/status line value ("Seccomp", "NoNewPrivs", "CapBnd"), or "".
std::string status_field(int64_t pid, const char* field);
// /proc/<pid>/status field in kB (VmRSS, VmHWM), or -1.
long status_kb(int64_t pid, const char* field);

// Runs a shell command with stderr merged into stdout; returns its exit
// status (-1 if it did not exit), its output in *out.
int sh(const std::string& command, std::string* out = nullptr);
// Runs a shell command; its standard output only.
std::string output_of(const std::string& command);

// The names in a folder (no "." or ".."); empty if it cannot be read.
std::vector<std::string> files_in(const std::string& dir);

// A steady clock in milliseconds, for measuring how long something took.
int64_t now_ms();

}  // namespace smolvm::test
