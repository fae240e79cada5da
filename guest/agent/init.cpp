#include "guest/agent/init.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "guest/agent/cmdline.h"
#include "guest/agent/command_cgroup.h"
#include "guest/agent/grow_root.h"
#include "guest/agent/log.h"
#include "guest/agent/net.h"
#include "guest/agent/ssh.h"

namespace smolvm::agent {
namespace {

bool is_mountpoint(const char* path) {
  struct stat st, parent;
  const std::string up = std::string(path) + "/..";
  if (::stat(path, &st) != 0 || ::stat(up.c_str(), &parent) != 0) return false;
  return st.st_dev != parent.st_dev;
}

void mount_fs(const char* source, const char* target, const char* type, unsigned long flags,
              const char* options) {
  ::mkdir(target, 0755);
  // The kernel may have mounted it already (devtmpfs with DEVTMPFS_MOUNT);
  // mounting again would stack a second, empty instance on top.
  if (is_mountpoint(target)) return;
  if (::mount(source, target, type, flags, options) != 0) {
    logf("mount %s on %s: %s", type, target, std::strerror(errno));
  }
}

void symlink_if_missing(const char* target, const char* link) {
  struct stat st;
  if (::lstat(link, &st) == 0) return;
  if (::symlink(target, link) != 0) logf("symlink %s: %s", link, std::strerror(errno));
}

std::string read_small_file(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buf[256];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

void write_file(const char* path, const std::string& text) {
  // resolv.conf is often a symlink into a resolver's runtime folder, which
  // does not exist here: replace the link with a plain file.
  ::unlink(path);
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    logf("writing %s: %s", path, std::strerror(errno));
  }
  if (fd >= 0) ::close(fd);
}

void mount_filesystems() {
  struct statvfs vfs;
  if (::statvfs("/", &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) {
    if (::mount(nullptr, "/", nullptr, MS_REMOUNT, nullptr) != 0) {
      logf("remounting / read-write: %s", std::strerror(errno));
    }
  }
  mount_fs("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  mount_fs("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  mount_fs("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  mount_fs("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,gid=5,ptmxmode=0666");
  mount_fs("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  mount_fs("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  mount_fs("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  // devtmpfs has device nodes only; shells and tools expect these links.
  symlink_if_missing("/proc/self/fd", "/dev/fd");
  symlink_if_missing("/proc/self/fd/0", "/dev/stdin");
  symlink_if_missing("/proc/self/fd/1", "/dev/stdout");
  symlink_if_missing("/proc/self/fd/2", "/dev/stderr");
}

void set_hostname() {
  std::string name = read_small_file("/etc/hostname");
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  if (name.empty()) return;
  if (::sethostname(name.data(), name.size()) != 0) {
    logf("sethostname %s: %s", name.c_str(), std::strerror(errno));
  }
}

void configure_network(const std::string& cmdline) {
  std::string err;
  if (!bring_up_loopback(err)) logf("%s", err.c_str());
  const auto ip = cmdline_param(cmdline, "smolvm.ip");
  if (ip && !ip->empty()) {
    Ipv4Cidr cidr;
    if (!parse_ipv4_cidr(*ip, cidr)) {
      logf("smolvm.ip=%s: not an IPv4 address with prefix (A.B.C.D/NN)", ip->c_str());
    } else if (!configure_interface("eth0", cidr, err)) {
      logf("%s", err.c_str());
    } else if (const auto gw = cmdline_param(cmdline, "smolvm.gw"); gw && !gw->empty()) {
      Ipv4Cidr g;
      if (!parse_ipv4_cidr(*gw, g) || g.prefix != 32) {
        logf("smolvm.gw=%s: not an IPv4 address", gw->c_str());
      } else if (!add_default_route("eth0", g.addr, err)) {
        logf("%s", err.c_str());
      }
    }
  }
  if (const auto dns = cmdline_param(cmdline, "smolvm.dns"); dns && !dns->empty()) {
    // One or more servers, comma separated.
    std::string text;
    size_t start = 0;
    while (start <= dns->size()) {
      size_t comma = dns->find(',', start);
      if (comma == std::string::npos) comma = dns->size();
      if (comma > start) text += "nameserver " + dns->substr(start, comma - start) + "\n";
      start = comma + 1;
    }
    write_file("/etc/resolv.conf", text);
  }
}

}  // namespace

void set_init_environment() {
  ::setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
  ::setenv("HOME", "/root", 1);
  ::setenv("TERM", "linux", 0);
  // Python and friends print UTF-8 instead of failing on it.
  ::setenv("LANG", "C.UTF-8", 0);
  ::umask(022);
  if (::chdir("/") != 0) logf("chdir /: %s", std::strerror(errno));
}

std::string init_system() {
  mount_filesystems();
  enable_command_cgroups();  // needs /sys
  grow_root_filesystem();    // needs /sys and /dev
  const std::string cmdline = read_kernel_cmdline();
  set_hostname();
  configure_network(cmdline);
  set_init_environment();
  std::string err;
  if (const auto key = ssh_key_from_cmdline(cmdline, err)) {
    start_sshd(*key);
  } else if (!err.empty()) {
    logf("%s; not starting sshd", err.c_str());
  }
  return cmdline;
}

void power_off() {
  logf("shutting down");
  ::kill(-1, SIGKILL);  // everything but PID 1
  // Reap for a moment so their open files are closed before remounting.
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < end) {
    const pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
    if (pid < 0 && errno == ECHILD) break;
    if (pid <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::sync();
  if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
    logf("remounting / read-only: %s", std::strerror(errno));
  }
  // Without ACPI, x86's default reboot walks through methods with long
  // delays (measured: QEMU exits 3.9 s after the reboot call under TCG); a
  // triple fault resets at once (63 ms), and with -no-reboot (QEMU) or on
  // KVM_EXIT_SHUTDOWN (Firecracker) the VMM exits. An explicit reboot= on
  // the command line is respected.
  if (!cmdline_param(read_kernel_cmdline(), "reboot")) {
    const int fd = ::open("/sys/kernel/reboot/type", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      [[maybe_unused]] const ssize_t n = ::write(fd, "triple", 6);
      ::close(fd);
    }
  }
  ::reboot(RB_AUTOBOOT);
  ::reboot(RB_POWER_OFF);
  logf("reboot: %s", std::strerror(errno));
  for (;;) ::pause();
}

}  // namespace smolvm::agent
