// The one line a supervisor reports to the client that started it, on the
// report pipe (core/runtime/launcher.h): "READY\n" once the guest agent
// answered, or "ERROR <status name> <message>\n" with the smolvm_status of
// the failure (status_name(), e.g. ETIMEOUT) so the client returns the same
// code. The message may span lines (a console log tail).
#pragma once

#include <string>
#include <string_view>

namespace smolvm {

std::string ready_report();
std::string error_report(int status, const std::string& message);

struct SupervisorReport {
  bool ready = false;
  int status = 0;       // when !ready: a smolvm_status
  std::string message;  // when !ready
};

// False when the text is no report at all (the supervisor died first).
bool parse_supervisor_report(std::string_view text, SupervisorReport& out);

}  // namespace smolvm
