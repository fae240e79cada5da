// `smolvm logs` must not hand a guest's escape sequences to the terminal.
#include "cli/console_text.h"

#include <gtest/gtest.h>

using smolvm_cli::ConsoleEscaper;

namespace {

std::string escape(std::string_view in) {
  ConsoleEscaper e;
  std::string out = e.feed(in);
  return out + e.finish();
}

}  // namespace

TEST(ConsoleEscaper, KeepsTextNewlinesAndTabs) {
  EXPECT_EQ(escape("hello\tworld\nsecond line\n"), "hello\tworld\nsecond line\n");
  EXPECT_EQ(escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n");
}

TEST(ConsoleEscaper, EscapesTerminalControls) {
  // OSC 52 (write the clipboard), a window title, clear screen, bell.
  EXPECT_EQ(escape("\x1b]52;c;cHduZWQ=\x07"), "\\x1b]52;c;cHduZWQ=\\x07");
  EXPECT_EQ(escape("\x1b]0;owned\x1b\\"), "\\x1b]0;owned\\x1b\\");
  EXPECT_EQ(escape("\x1b[2J\x1b[H"), "\\x1b[2J\\x1b[H");
  EXPECT_EQ(escape(std::string("a\0b\x7f", 4)), "a\\x00b\\x7f");
}

TEST(ConsoleEscaper, DropsTheSerialLinesCarriageReturnOnly) {
  EXPECT_EQ(escape("line\r\nnext\r\n"), "line\nnext\n");
  EXPECT_EQ(escape("progress\roverwrite\n"), "progress\\x0doverwrite\n");
  EXPECT_EQ(escape("end\r"), "end\\x0d");
}

TEST(ConsoleEscaper, EscapesC1ControlsAndBytesThatAreNotUtf8) {
  EXPECT_EQ(escape("\xc2\x9b"
                   "2J"),
            "\\xc2\\x9b2J");  // CSI as a C1 control
  EXPECT_EQ(escape("\x9b"
                   "2J"),
            "\\x9b2J");                       // a lone 8-bit CSI
  EXPECT_EQ(escape("\xc3("), "\\xc3(");       // a broken sequence
  EXPECT_EQ(escape("\xc2\xa0"), "\xc2\xa0");  // NBSP is text
}

TEST(ConsoleEscaper, HandlesSequencesSplitAcrossChunks) {
  ConsoleEscaper e;
  std::string out = e.feed("a\r");
  out += e.feed("\nb\xe2\x82");
  out += e.feed("\xac\x1b");
  out += e.feed("[2J");
  out += e.finish();
  EXPECT_EQ(out, "a\nb\xe2\x82\xac\\x1b[2J");
}
