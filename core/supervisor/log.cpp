#include "core/supervisor/log.h"

#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace smolvm {

void supervisor_log(const char* fmt, ...) {
  char ts[32];
  const time_t now = time(nullptr);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", gmtime(&now));
  std::fprintf(stderr, "%s supervisor[%d]: ", ts, getpid());
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace smolvm
