#include "guest/agent/cmdline.h"

#include <fcntl.h>
#include <unistd.h>

namespace smolvm::agent {

std::string read_kernel_cmdline() {
  const int fd = ::open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && out.size() < 65536) {
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::optional<std::string> cmdline_param(std::string_view cmdline, std::string_view key) {
  std::optional<std::string> found;
  size_t i = 0;
  while (i < cmdline.size()) {
    while (i < cmdline.size() && (cmdline[i] == ' ' || cmdline[i] == '\n' || cmdline[i] == '\t')) {
      ++i;
    }
    const size_t start = i;
    while (i < cmdline.size() && cmdline[i] != ' ' && cmdline[i] != '\n' && cmdline[i] != '\t') {
      ++i;
    }
    const std::string_view word = cmdline.substr(start, i - start);
    if (word.size() >= key.size() && word.substr(0, key.size()) == key) {
      if (word.size() == key.size()) {
        found = std::string();
      } else if (word[key.size()] == '=') {
        found = std::string(word.substr(key.size() + 1));
      }
    }
  }
  return found;
}

}  // namespace smolvm::agent
