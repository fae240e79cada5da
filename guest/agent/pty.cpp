#include "guest/agent/pty.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace smolvm::agent {

bool set_pty_size(int master, const proto::TerminalSize& size) {
  winsize ws{};
  ws.ws_row = static_cast<unsigned short>(size.rows);
  ws.ws_col = static_cast<unsigned short>(size.cols);
  return ::ioctl(master, TIOCSWINSZ, &ws) == 0;
}

bool open_pty(const proto::TerminalSize& size, Pty& out, std::string& err) {
  out = Pty{};
  const int fd = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  char name[64];
  const char* step = "posix_openpt";
  if (fd >= 0) {
    step = "unlockpt";
    if (::grantpt(fd) == 0 && ::unlockpt(fd) == 0) {
      step = "ptsname";
      if (::ptsname_r(fd, name, sizeof name) == 0) {
        step = "TIOCSWINSZ";
        if (set_pty_size(fd, size)) {
          out.master = fd;
          out.slave_path = name;
          return true;
        }
      }
    }
  }
  err = std::string("cannot open a terminal (") + step + "): " + std::strerror(errno);
  if (fd >= 0) ::close(fd);
  return false;
}

}  // namespace smolvm::agent
