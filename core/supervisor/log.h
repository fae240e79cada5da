// The supervisor's log lines on stderr (the VM's supervisor.log):
// "<UTC time> supervisor[<pid>]: <message>".
#pragma once

namespace smolvm {

void supervisor_log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace smolvm
