#include "plugins/net-common/tools.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "smolvm/smolvm.h"

namespace smolvm_net {

ToolResult run_tool(const std::vector<std::string>& argv, const std::string& input) {
  ToolResult r;
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    r.output = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    r.output = std::string("fork: ") + std::strerror(errno);
    return r;
  }
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  // Tool inputs are small scripts: one write fits the pipe buffer.
  if (!input.empty() && write(in[1], input.data(), input.size()) < 0) {
    r.output = std::string("write: ") + std::strerror(errno);
  }
  close(in[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) r.output.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  while (!r.output.empty() && r.output.back() == '\n') r.output.pop_back();
  return r;
}

std::string find_tool(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = std::string(path ? path : "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    if (end > start) {
      const std::string c = p.substr(start, end - start) + "/" + name;
      if (access(c.c_str(), X_OK) == 0) return c;
    }
    start = end + 1;
  }
  return "";
}

bool write_sysctl(const std::string& path, const std::string& value, std::string& error) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    error = "cannot set " + path + "=" + value + ": " + std::strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  close(fd);
  return true;
}

bool has_cap_net_admin() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32))) != 0;
}

int probe_tool(const std::string& tool, const std::string& package, char* out, size_t cap,
               char* err, size_t err_cap) {
  const std::string bin = find_tool(tool);
  std::string reason;
  if (bin.empty()) {
    reason = tool + " not found (apt-get install " + package + ")";
  } else if (!has_cap_net_admin()) {
    reason = "no CAP_NET_ADMIN (run as root)";
  }
  const std::string json = std::string("{\"available\":") + (reason.empty() ? "true" : "false") +
                           ",\"binary\":\"" + bin + "\",\"reason\":\"" + reason + "\"}";
  if (json.size() + 1 > cap)
    return set_error(err, err_cap, SMOLVM_EINVAL, "probe buffer too small");
  std::memcpy(out, json.c_str(), json.size() + 1);
  return 0;
}

int set_error(char* buf, size_t cap, int status, const std::string& msg) {
  std::snprintf(buf, cap, "%s", msg.c_str());
  return status;
}

FileLock::FileLock(const std::string& name) {
  std::string dir = "/run/lock";
  if (access(dir.c_str(), W_OK) != 0) dir = "/tmp";
  fd_ = open((dir + "/" + name).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ >= 0) flock(fd_, LOCK_EX);
}

FileLock::~FileLock() {
  if (fd_ >= 0) close(fd_);  // releases the lock
}

}  // namespace smolvm_net
