#include "guest/agent/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "guest/agent/pty.h"
#include "protocol/fd_io.h"
#include "protocol/shell_words.h"

extern char** environ;

namespace smolvm::agent {
namespace {

// What the child reports through the exec-status pipe.
struct ChildFailure {
  int stage;  // 1 chdir, 2 exec, 3 terminal, 4 user switch
  int err;
};

// Everything the child does, built before fork: it only uses it.
struct ChildPlan {
  int in_fd = -1, out_fd = -1, err_fd = -1;  // pipes; unused with a terminal
  const char* tty = nullptr;                 // the terminal to open instead
  const RunAs* as = nullptr;                 // the user to become
  int report_fd = -1;
  const char* cwd = "/";
  const char* file = nullptr;
  char* const* argv = nullptr;
  char** envp = nullptr;
};

// The terminal's group (devpts: "tty", gid 5), as Debian's login sets it.
constexpr gid_t kTtyGroup = 5;

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Closes every fd >= 3 except keep. Nothing the agent holds (channel,
// listeners, other commands' pipes) may leak into a command.
void close_other_fds(int keep) {
  if (keep > 3 && ::syscall(SYS_close_range, 3u, static_cast<unsigned>(keep - 1), 0u) != 0) {
    for (int fd = 3; fd < keep; ++fd) ::close(fd);
  }
  if (::syscall(SYS_close_range, static_cast<unsigned>(keep + 1), ~0u, 0u) != 0) {
    for (int fd = keep + 1; fd < 4096; ++fd) ::close(fd);
  }
}

[[noreturn]] void child_fail(int report_fd, int stage, int err) {
  const ChildFailure f{stage, err};
  [[maybe_unused]] const ssize_t n = ::write(report_fd, &f, sizeof f);
  _exit(exit_code_for_errno(err));
}

// Runs in the forked child: only async-signal-safe calls, no allocation
// (everything it needs was built before fork).
[[noreturn]] void child_main(const ChildPlan& p) {
  const int report_fd = p.report_fd;
  // The agent blocks SIGCHLD (signalfd) and ignores SIGPIPE; a command must
  // start with the defaults, as it would from a shell.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
  // Own session and process group, so a timeout or SIGNAL reaches every
  // process the command starts, and none holds the agent's console.
  ::setsid();
  if (p.tty) {
    // The session's controlling terminal: the first terminal a session
    // leader opens without O_NOCTTY; TIOCSCTTY says so explicitly.
    const int tty = ::open(p.tty, O_RDWR);
    if (tty < 0 || ::ioctl(tty, TIOCSCTTY, 0) != 0) child_fail(report_fd, 3, errno);
    if (p.as && ::fchown(tty, p.as->uid, kTtyGroup) != 0) child_fail(report_fd, 3, errno);
    if (::dup2(tty, 0) < 0 || ::dup2(tty, 1) < 0 || ::dup2(tty, 2) < 0) {
      child_fail(report_fd, 3, errno);
    }
    if (tty > 2) ::close(tty);
  } else if (::dup2(p.in_fd, 0) < 0 || ::dup2(p.out_fd, 1) < 0 || ::dup2(p.err_fd, 2) < 0) {
    child_fail(report_fd, 2, errno);
  }
  close_other_fds(report_fd);
  // Groups first: after setuid there is no privilege left to set them.
  if (p.as && (::setgroups(p.as->groups.size(), p.as->groups.data()) != 0 ||
               ::setgid(p.as->gid) != 0 || ::setuid(p.as->uid) != 0)) {
    child_fail(report_fd, 4, errno);
  }
  // As the user: a folder it may not enter is refused as it would be to it.
  if (::chdir(p.cwd) != 0) child_fail(report_fd, 1, errno);
  // execvp searches the PATH of environ, so the command's PATH override
  // must be in place before it.
  environ = p.envp;
  ::execvp(p.file, p.argv);
  child_fail(report_fd, 2, errno);
}

// fork(), or clone3 straight into the command's cgroup when there is one:
// the child is in the group before it can run (let alone fork) anything.
// Only async-signal-safe code runs in the child either way.
pid_t fork_into(int cgroup_fd, bool& in_cgroup) {
  in_cgroup = false;
  if (cgroup_fd >= 0) {
    clone_args args{};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
    const long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) {
      in_cgroup = true;
      return static_cast<pid_t>(pid);
    }
    // ENOSYS, E2BIG, EINVAL: a kernel without clone3 or CLONE_INTO_CGROUP;
    // the process group still applies.
  }
  return ::fork();
}

}  // namespace

std::string login_shell_of(std::string_view passwd, uid_t uid) {
  std::istringstream in{std::string(passwd)};
  std::string line;
  while (std::getline(in, line)) {
    // name:password:uid:gid:gecos:home:shell
    std::vector<std::string> f;
    std::stringstream fields(line);
    for (std::string x; std::getline(fields, x, ':');) f.push_back(x);
    if (f.size() < 7 || f[2] != std::to_string(uid)) continue;
    const std::string& shell = f[6];
    const std::string base = shell.substr(shell.rfind('/') + 1);
    if (shell.empty() || shell[0] != '/' || base == "nologin" || base == "false") break;
    return shell;
  }
  return kRawShell;
}

std::vector<std::string> command_argv(const proto::ExecRequest& req, const RunAs* as) {
  if (req.shell.empty()) return req.argv;
  if (req.shell_mode == proto::kShellRaw) return {kRawShell, "-c", req.shell};
  std::ifstream f("/etc/passwd");
  std::stringstream text;
  text << f.rdbuf();
  std::string shell = login_shell_of(text.str(), as ? as->uid : ::getuid());
  if (::access(shell.c_str(), X_OK) != 0) shell = kRawShell;
  return {shell, "-l", "-c", proto::login_command(req.env, req.shell)};
}

int exit_code_for_errno(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
    case ELOOP:
      return 127;
    default:
      return 126;
  }
}

std::vector<std::string> merge_env(const char* const* base,
                                   const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (const char* const* e = base; e && *e; ++e) env.emplace_back(*e);
  for (const auto& kv : overrides) {
    const size_t eq = kv.find('=');
    const std::string_view key(kv.data(), eq == std::string::npos ? kv.size() : eq + 1);
    bool replaced = false;
    for (auto& cur : env) {
      if (std::string_view(cur).substr(0, key.size()) == key) {
        cur = kv;
        replaced = true;
        break;
      }
    }
    if (!replaced) env.push_back(kv);
  }
  return env;
}

std::vector<std::string> command_env(const char* const* base, const proto::ExecRequest& req,
                                     const RunAs* as) {
  // The user's and the terminal's variables first: the request's own win.
  std::vector<std::string> implied;
  if (as) {
    implied.push_back("HOME=" + as->home);
    if (!as->name.empty()) {
      implied.push_back("USER=" + as->name);
      implied.push_back("LOGNAME=" + as->name);
    }
  }
  if (req.pty) implied.push_back("TERM=" + req.pty->term);
  std::vector<std::string> env = merge_env(base, implied);
  std::vector<const char*> ptrs;
  for (auto& e : env) ptrs.push_back(e.c_str());
  ptrs.push_back(nullptr);
  return merge_env(ptrs.data(), req.env);
}

bool spawn(const proto::ExecRequest& req, const RunAs* as, int cgroup_fd, Spawned& out,
           std::string& err) {
  // Build everything the child needs before fork.
  std::vector<std::string> args = command_argv(req, as);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = command_env(environ, req, as);
  if (!req.shell.empty() && req.shell_mode != proto::kShellRaw) {
    for (auto& kv : proto::saved_env(req.env)) env.push_back(std::move(kv));
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  // A user's commands start in their home, as after a login (if it has
  // one: nobody's is /nonexistent).
  struct stat home {};
  const bool has_home = as && ::stat(as->home.c_str(), &home) == 0 && S_ISDIR(home.st_mode);
  const std::string cwd = !req.cwd.empty() ? req.cwd : has_home ? as->home : "/";

  int in[2] = {-1, -1}, o[2] = {-1, -1}, e[2] = {-1, -1}, rep[2] = {-1, -1};
  Pty pty;
  auto close_all = [&] {
    for (int* p : {in, o, e, rep}) {
      close_fd(p[0]);
      close_fd(p[1]);
    }
    close_fd(pty.master);
  };
  if (req.pty) {
    if (!open_pty(req.pty->size, pty, err) || ::pipe2(rep, O_CLOEXEC) != 0) {
      if (err.empty()) err = std::string("pipe: ") + std::strerror(errno);
      close_all();
      return false;
    }
  } else if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(o, O_CLOEXEC) != 0 ||
             ::pipe2(e, O_CLOEXEC) != 0 || ::pipe2(rep, O_CLOEXEC) != 0) {
    err = std::string("pipe: ") + std::strerror(errno);
    close_all();
    return false;
  }
  // Best effort: past the user's pipe quota the kernel keeps the default.
  for (int fd : {o[0], e[0]}) {
    if (fd >= 0) ::fcntl(fd, F_SETPIPE_SZ, kOutputPipeBytes);
  }
  ChildPlan plan;
  plan.in_fd = in[0];
  plan.out_fd = o[1];
  plan.err_fd = e[1];
  plan.tty = req.pty ? pty.slave_path.c_str() : nullptr;
  plan.as = as;
  plan.report_fd = rep[1];
  plan.cwd = cwd.c_str();
  plan.file = argv[0];
  plan.argv = argv.data();
  plan.envp = envp.data();
  bool in_cgroup = false;
  const pid_t pid = fork_into(cgroup_fd, in_cgroup);
  if (pid < 0) {
    err = std::string("fork: ") + std::strerror(errno);
    close_all();
    return false;
  }
  if (pid == 0) child_main(plan);

  close_fd(in[0]);
  close_fd(o[1]);
  close_fd(e[1]);
  close_fd(rep[1]);
  // Blocks only until the child has exec'd (the pipe closes) or failed.
  ChildFailure f{0, 0};
  ssize_t n;
  do {
    n = ::read(rep[0], &f, sizeof f);
  } while (n < 0 && errno == EINTR);
  close_fd(rep[0]);
  out = Spawned{};
  out.pid = pid;
  out.in_cgroup = in_cgroup;
  if (n == static_cast<ssize_t>(sizeof f)) {
    out.child_errno = f.err;
    switch (f.stage) {
      case 1:
        out.child_what = "chdir '" + cwd + "'";
        break;
      case 3:
        out.child_what = "terminal " + pty.slave_path;
        break;
      case 4:
        out.child_what = "switching to user '" + req.user + "'";
        break;
      default:
        out.child_what = "exec '" + args[0] + "'";
    }
  }
  if (req.pty) {
    // One fd for both directions: stdin is written to the master and all
    // output read from it. The copy lets each side close its own.
    out.stdout_fd = pty.master;
    out.stdin_fd = ::fcntl(pty.master, F_DUPFD_CLOEXEC, 0);
    out.pty = true;
    proto::set_nonblocking(out.stdout_fd, true);
    if (out.stdin_fd >= 0) proto::set_nonblocking(out.stdin_fd, true);
    return true;
  }
  out.stdin_fd = in[1];
  out.stdout_fd = o[0];
  out.stderr_fd = e[0];
  for (int fd : {in[1], o[0], e[0]}) proto::set_nonblocking(fd, true);
  return true;
}

}  // namespace smolvm::agent
