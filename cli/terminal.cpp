#include "cli/terminal.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "cli/common.h"

namespace smolvm_cli {
namespace {

volatile sig_atomic_t g_winch = 0;
volatile sig_atomic_t g_stop_signal = 0;

// How long each half of the loop waits: typing and output alike reach the
// other side within about this.
constexpr int kPollMs = 10;

// Raw mode for our terminal, undone by the destructor; a signal that ends
// us is caught (below) so that the destructor still runs. TCSADRAIN, not
// TCSAFLUSH: what was typed ahead goes to the guest instead of being lost.
class RawMode {
 public:
  RawMode() {
    if (!::isatty(0) || ::tcgetattr(0, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(0, TCSADRAIN, &raw) == 0;
  }
  ~RawMode() {
    if (active_) ::tcsetattr(0, TCSADRAIN, &saved_);
  }
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

// Our terminal's size, or 24x80 without one.
void local_size(uint32_t& rows, uint32_t& cols) {
  winsize ws{};
  if (::ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
    rows = std::min<uint32_t>(ws.ws_row, SMOLVM_TERMINAL_SIZE_MAX);
    cols = std::min<uint32_t>(ws.ws_col, SMOLVM_TERMINAL_SIZE_MAX);
  } else {
    rows = 24;
    cols = 80;
  }
}

void write_all_out(const uint8_t* data, size_t len) {
  while (len > 0) {
    const ssize_t n = ::write(1, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // our terminal is gone: the command's output with it
    data += n;
    len -= static_cast<size_t>(n);
  }
}

}  // namespace

int attach_terminal(smolvm_vm* vm, smolvm_exec_options& opts) {
  local_size(opts.pty_rows, opts.pty_cols);
  // An odd local TERM would be refused by the guest: the default then.
  const char* term = std::getenv("TERM");
  const std::string_view allowed =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+";
  const bool usable = term && *term && std::string_view(term).size() <= 64 &&
                      std::string_view(term).find_first_not_of(allowed) == std::string_view::npos;
  opts.term = usable ? term : nullptr;
  smolvm_exec* raw_ex = nullptr;
  check(smolvm_exec_start(&raw_ex, vm, &opts));
  std::unique_ptr<smolvm_exec, void (*)(smolvm_exec*)> ex(raw_ex, smolvm_exec_free);

  struct sigaction sa {};
  sa.sa_handler = [](int) { g_winch = 1; };
  sigaction(SIGWINCH, &sa, nullptr);
  // In raw mode Ctrl-C and Ctrl-\ are bytes for the guest; these come from
  // elsewhere (kill, a closed terminal) and end the session cleanly.
  struct sigaction stop {};
  stop.sa_handler = [](int sig) { g_stop_signal = sig; };
  for (int sig : {SIGTERM, SIGHUP, SIGINT, SIGQUIT}) sigaction(sig, &stop, nullptr);

  RawMode raw_mode;
  bool stdin_open = true;
  uint8_t buf[16384];
  smolvm_exec_event ev;
  for (;;) {
    if (g_stop_signal) {
      smolvm_exec_kill(ex.get(), SIGHUP);  // as a terminal hang-up would
      return 128 + g_stop_signal;
    }
    if (g_winch) {
      g_winch = 0;
      uint32_t rows = 0, cols = 0;
      local_size(rows, cols);
      check(smolvm_exec_resize(ex.get(), rows, cols));
    }
    if (stdin_open) {
      pollfd p{0, POLLIN, 0};
      if (::poll(&p, 1, kPollMs) > 0) {
        const ssize_t n = ::read(0, buf, sizeof buf);
        if (n > 0) {
          check(smolvm_exec_write_stdin(ex.get(), buf, static_cast<size_t>(n)));
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
          stdin_open = false;
          check(smolvm_exec_close_stdin(ex.get()));
        }
      }
    }
    // Everything that is there now, then back to the keyboard.
    for (int wait = stdin_open ? 0 : kPollMs;; wait = 0) {
      const int rc = smolvm_exec_next_event(&ev, ex.get(), wait);
      if (rc == SMOLVM_ETIMEOUT) break;
      check(rc);
      if (ev.type == SMOLVM_EVENT_STDOUT || ev.type == SMOLVM_EVENT_STDERR) {
        write_all_out(ev.data, ev.len);
      } else if (ev.type == SMOLVM_EVENT_EXIT) {
        return ev.exit_code;
      }
    }
  }
}

}  // namespace smolvm_cli
