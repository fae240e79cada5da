#include "core/common/supervisor_report.h"

#include "core/common/names.h"
#include "smolvm/smolvm.h"

namespace smolvm {

std::string ready_report() { return "READY\n"; }

std::string error_report(int status, const std::string& message) {
  return std::string("ERROR ") + status_name(status) + " " + message + "\n";
}

bool parse_supervisor_report(std::string_view text, SupervisorReport& out) {
  out = SupervisorReport{};
  if (text.rfind("READY", 0) == 0) {
    out.ready = true;
    return true;
  }
  if (text.rfind("ERROR ", 0) != 0) return false;
  text.remove_prefix(6);
  const size_t space = text.find(' ');
  const std::string_view code = text.substr(0, space);
  out.status = status_by_name(code);
  // Without a failure's status name in front, the whole text is the message.
  const bool named = space != std::string_view::npos && out.status != SMOLVM_OK &&
                     (out.status != SMOLVM_ERROR || code == "ERROR");
  if (named) {
    text.remove_prefix(space + 1);
  } else {
    out.status = SMOLVM_ERROR;
  }
  out.message = std::string(text);
  while (!out.message.empty() && out.message.back() == '\n') out.message.pop_back();
  return true;
}

}  // namespace smolvm
