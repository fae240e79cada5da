#include "guest/agent/log.h"

#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>

namespace smolvm::agent {

void logf(const char* fmt, ...) {
  const int saved = errno;  // callers often log and then inspect errno
  char line[1024];
  int n = std::snprintf(line, sizeof line, "smolvm-agent: ");
  va_list ap;
  va_start(ap, fmt);
  const int m = std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, fmt, ap);
  va_end(ap);
  n += m < 0 ? 0 : m;
  if (n > static_cast<int>(sizeof line) - 2) n = static_cast<int>(sizeof line) - 2;
  line[n++] = '\n';
  [[maybe_unused]] const ssize_t w = ::write(STDERR_FILENO, line, static_cast<size_t>(n));
  errno = saved;
}

}  // namespace smolvm::agent
