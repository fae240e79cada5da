#include "cli/console_text.h"

#include <cstdio>

namespace smolvm_cli {
namespace {

void escape_byte(std::string& out, unsigned char c) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  out += buf;
}

// Length of the UTF-8 sequence that lead byte c starts, 0 when c cannot
// start one.
size_t utf8_length(unsigned char c) {
  if (c >= 0xc2 && c <= 0xdf) return 2;
  if (c >= 0xe0 && c <= 0xef) return 3;
  if (c >= 0xf0 && c <= 0xf4) return 4;
  return 0;
}

bool continuation(unsigned char c) { return (c & 0xc0) == 0x80; }

}  // namespace

std::string ConsoleEscaper::feed(std::string_view chunk) {
  std::string in = held_;
  in.append(chunk);
  held_.clear();
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f)) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c == '\r') {
      if (i + 1 == in.size()) break;  // is an LF next? wait for more
      if (in[i + 1] != '\n') escape_byte(out, c);
      ++i;
      continue;
    }
    const size_t len = utf8_length(c);
    if (len == 0) {  // C0 control, DEL, or a byte that starts no character
      escape_byte(out, c);
      ++i;
      continue;
    }
    if (i + len > in.size()) {
      bool partial = true;
      for (size_t k = i + 1; k < in.size(); ++k) partial = partial && continuation(in[k]);
      if (partial) break;  // the rest may come in the next chunk
    }
    bool valid = i + len <= in.size();
    for (size_t k = 1; valid && k < len; ++k) valid = continuation(in[i + k]);
    // C1 controls (U+0080..U+009F) act like ESC sequences on some terminals.
    if (valid && c == 0xc2 && static_cast<unsigned char>(in[i + 1]) < 0xa0) valid = false;
    if (!valid) {
      escape_byte(out, c);
      ++i;
      continue;
    }
    out.append(in, i, len);
    i += len;
  }
  held_ = in.substr(i);
  return out;
}

std::string ConsoleEscaper::finish() {
  std::string out;
  for (const char c : held_) escape_byte(out, static_cast<unsigned char>(c));
  held_.clear();
  return out;
}

}  // namespace smolvm_cli
