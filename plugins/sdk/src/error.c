/* The SDK's error writer (smolvm/sdk/error.h): C, so that C plugins need no
 * C++ runtime for it. */
#include "smolvm/sdk/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* vsnprintf cuts at a byte; a reader decoding UTF-8 would then meet half a
 * character at the end. Drops the partial sequence, if any. */
static void drop_partial_utf8(char* s, size_t len) {
  size_t lead = len;
  while (lead > 0 && ((unsigned char)s[lead - 1] & 0xC0u) == 0x80u) --lead;
  if (lead == 0) return;
  const unsigned char c = (unsigned char)s[lead - 1];
  size_t need = 1;
  if ((c & 0xE0u) == 0xC0u) {
    need = 2;
  } else if ((c & 0xF0u) == 0xE0u) {
    need = 3;
  } else if ((c & 0xF8u) == 0xF0u) {
    need = 4;
  }
  if (len - (lead - 1) < need) s[lead - 1] = '\0';
}

int smolvm_plugin_set_error(smolvm_plugin_error* err, int status, const char* fmt, ...) {
  if (err == NULL) return status;
  va_list args;
  va_start(args, fmt);
  const int n = vsnprintf(err->message, sizeof err->message, fmt, args);
  va_end(args);
  if (n < 0) {
    snprintf(err->message, sizeof err->message, "(the error message could not be formatted)");
  } else if ((size_t)n >= sizeof err->message) {
    drop_partial_utf8(err->message, sizeof err->message - 1);
  }
  return status;
}
