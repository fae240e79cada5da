#include "guest/agent/ssh.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "guest/agent/cmdline.h"
#include "guest/agent/log.h"
#include "protocol/base64.h"

namespace smolvm::agent {
namespace {

constexpr size_t kMaxKeyLine = 16384;

// Only ed25519: `ssh-keygen -A` would also make an RSA-3072 key, which takes
// seconds under TCG and is never used (the host pins the ed25519 key). The
// key appears under its final name only when complete, since the host polls
// for it. The drop-in raises MaxSessions (default 10): every concurrent
// command, and every kill of one, is a channel of the host's one session.
constexpr const char* kSshdScript =
    "mkdir -p /run/sshd && chmod 0755 /run/sshd\n"
    "k=/etc/ssh/ssh_host_ed25519_key\n"
    "if [ ! -s $k ] || [ ! -s $k.pub ]; then\n"
    "  rm -f $k.new $k.new.pub\n"
    "  ssh-keygen -q -t ed25519 -N '' -C root@smolvm -f $k.new || exit 1\n"
    "  mv -f $k.new $k && mv -f $k.new.pub $k.pub\n"
    "fi\n"
    "if [ -d /etc/ssh/sshd_config.d ]; then\n"
    "  printf 'HostKey %s\\nMaxSessions 64\\nMaxStartups 64:30:128\\n' $k "
    ">/etc/ssh/sshd_config.d/smolvm.conf\n"
    "fi\n"
    "exec /usr/sbin/sshd -D -e\n";

bool write_private(const char* path, const std::string& text) {
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return false;
  const bool ok = ::fchmod(fd, 0600) == 0 && ::fchown(fd, 0, 0) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

}  // namespace

std::optional<std::string> ssh_key_from_cmdline(std::string_view cmdline, std::string& err) {
  err.clear();
  const auto param = cmdline_param(cmdline, "smolvm.ssh_key");
  if (!param) return std::nullopt;
  auto line = proto::base64_decode(*param);
  if (!line) {
    err = "smolvm.ssh_key: not base64";
    return std::nullopt;
  }
  while (!line->empty() && (line->back() == '\n' || line->back() == '\r')) line->pop_back();
  if (line->empty() || line->size() > kMaxKeyLine ||
      line->find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos ||
      line->find(' ') == std::string::npos) {
    err = "smolvm.ssh_key: not a single authorized_keys line";
    return std::nullopt;
  }
  return *line + "\n";
}

void start_sshd(const std::string& authorized_key) {
  ::mkdir("/root", 0700);
  ::mkdir("/root/.ssh", 0700);
  if (::chmod("/root/.ssh", 0700) != 0 ||
      !write_private("/root/.ssh/authorized_keys", authorized_key)) {
    logf("installing /root/.ssh/authorized_keys: %s", std::strerror(errno));
    return;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    logf("fork for sshd: %s", std::strerror(errno));
    return;
  }
  if (pid > 0) return;  // reaped by PID 1's loop like any orphan
  // The agent ignores SIGPIPE; sshd and the commands it runs must not
  // inherit that.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
  ::setsid();
  // Descriptors 0-2 explicitly, so no socket of sshd's lands on them.
  const int null_fd = ::open("/dev/null", O_RDWR);
  int log_fd = ::open("/dev/console", O_WRONLY | O_NOCTTY);
  if (log_fd < 0) log_fd = null_fd;
  ::dup2(null_fd, 0);
  ::dup2(log_fd, 1);
  ::dup2(log_fd, 2);
  ::execl("/bin/sh", "sh", "-c", kSshdScript, static_cast<char*>(nullptr));
  _exit(127);
}

}  // namespace smolvm::agent
