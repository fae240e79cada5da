// Guest console bytes made safe for a terminal: control characters other
// than newline and tab (escape sequences that set the clipboard through OSC
// 52, retitle the window, clear the screen...) are shown as \xHH instead of
// reaching the terminal. A CR right before LF (the serial line's line end) is
// dropped. Bytes that are not UTF-8, and C1 controls in UTF-8, are escaped
// too. Stateful: a sequence split across chunks is handled.
#pragma once

#include <string>
#include <string_view>

namespace smolvm_cli {

class ConsoleEscaper {
 public:
  std::string feed(std::string_view chunk);
  // The bytes held back at the end of the input (a CR, a partial UTF-8
  // sequence), escaped.
  std::string finish();

 private:
  std::string held_;
};

}  // namespace smolvm_cli
