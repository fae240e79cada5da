// One-line diagnostics to stderr (the serial console when the agent is PID 1).
#pragma once

namespace smolvm::agent {

// printf-style; prefixes "smolvm-agent: " and appends a newline. Uses a single
// write(2) so lines from the agent never interleave mid-line on the console.
void logf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace smolvm::agent
