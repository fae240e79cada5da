// smolvm-agent: the SmolVM guest agent. As the guest's init (PID 1, or run as
// smolvm-init) it sets up the system, then serves the host's commands over
// virtio-serial or vsock. --stdio and --unix serve the same protocol on the
// host, without touching the system, for tests.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include "guest/agent/cmdline.h"
#include "guest/agent/command_cgroup.h"
#include "guest/agent/init.h"
#include "guest/agent/log.h"
#include "guest/agent/serve.h"
#include "protocol/frame.h"

#ifndef SMOLVM_VERSION
#define SMOLVM_VERSION "0.0.0"
#endif

namespace {

using namespace smolvm::agent;

void usage(FILE* to) {
  std::fprintf(to,
               "Usage: smolvm-agent [--stdio | --unix PATH | --channel SPEC]\n"
               "\n"
               "The SmolVM guest agent. As PID 1 (or run as smolvm-init) it mounts the\n"
               "usual file systems, configures the network from the kernel command line\n"
               "(smolvm.ip=A.B.C.D/NN smolvm.gw=A.B.C.D smolvm.dns=A.B.C.D) and serves the\n"
               "host on the channel named by smolvm.channel= (virtio-serial or vsock:PORT).\n"
               "\n"
               "  --stdio         serve the protocol on stdin/stdout (host tests)\n"
               "  --unix PATH     serve connections on a Unix socket (host tests)\n"
               "  --channel SPEC  serve the guest channel without init's setup\n"
               "  --in-cgroup NAME -- ARGV...\n"
               "                  run ARGV in a new command cgroup NAME (executor-ssh)\n"
               "  --kill-cgroup NAME\n"
               "                  kill everything in command cgroup NAME, then remove it\n"
               "  --version       print the version\n"
               "  --help          print this help\n");
}

// Commands get pipes for fds 0-2, so those must be taken before any pipe is
// made, or a pipe could land on them.
void ensure_std_fds() {
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) continue;
    int n = ::open("/dev/console", O_RDWR | O_NOCTTY);
    if (n < 0) n = ::open("/dev/null", O_RDWR);
    if (n >= 0 && n != fd) {
      ::dup2(n, fd);
      ::close(n);
    }
  }
}

// SIGCHLD (and, off PID 1, the signals that ask a program to stop) arrive on
// a signalfd the event loop polls, instead of interrupting it.
int make_signal_fd(bool as_init) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  if (!as_init) {
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
  }
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  return ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

[[noreturn]] void run_as_init() {
  const std::string cmdline = init_system();
  ensure_std_fds();
  const int sigfd = make_signal_fd(true);
  ChannelSpec channel;
  std::string err;
  const auto spec = cmdline_param(cmdline, "smolvm.channel");
  if (spec && !parse_channel_spec(*spec, channel, err)) {
    logf("%s; using virtio-serial", err.c_str());
    channel = ChannelSpec{};
  }
  // PID 1 must never exit (the kernel would panic): whatever happens, serve
  // again.
  for (;;) {
    try {
      serve_guest(channel, true, sigfd);
    } catch (const std::exception& e) {
      logf("serving failed: %s", e.what());
    } catch (...) {
      logf("serving failed");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// executor-ssh's commands: sshd starts them, so they join their group
// themselves before they become the command. Without a group (no cgroup2)
// the command still runs; the host then falls back to its process group.
int exec_in_cgroup(int argc, char** argv) {
  if (argc < 5 || std::strcmp(argv[3], "--") != 0) {
    usage(stderr);
    return 2;
  }
  sweep_named_command_cgroups();
  std::string err;
  join_named_command_cgroup(argv[2], err);
  ::execvp(argv[4], argv + 4);
  const int e = errno;
  std::fprintf(stderr, "smolvm-agent: %s: %s\n", argv[4], std::strerror(e));
  return e == ENOENT ? 127 : 126;  // as a shell reports a program it cannot run
}

// Exit 0: the group was killed and removed; 3: there is no such group.
int kill_cgroup(const char* name) {
  std::string err;
  bool no_group = false;
  if (kill_named_command_cgroup(name, 5000, no_group, err)) return 0;
  std::fprintf(stderr, "smolvm-agent: %s\n", err.c_str());
  return no_group ? 3 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const char* slash = std::strrchr(argv[0], '/');
  const std::string name = slash ? slash + 1 : argv[0];
  // Before SIGPIPE is ignored below: the command inherits dispositions.
  if (argc >= 2 && std::strcmp(argv[1], "--in-cgroup") == 0) return exec_in_cgroup(argc, argv);
  if (argc == 3 && std::strcmp(argv[1], "--kill-cgroup") == 0) return kill_cgroup(argv[2]);
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe or socket is an error code, not a death

  // The kernel hands init the words of its command line it does not know,
  // so as init the arguments are not ours to judge.
  if (::getpid() == 1 || name == "smolvm-init") run_as_init();

  std::string mode, arg;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--version") {
      std::printf("smolvm-agent %s (protocol %u)\n", SMOLVM_VERSION, smolvm::proto::kVersion);
      return 0;
    }
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    }
    if (a == "--stdio" && mode.empty()) {
      mode = a;
    } else if ((a == "--unix" || a == "--channel") && mode.empty() && i + 1 < argc) {
      mode = a;
      arg = argv[++i];
    } else {
      std::fprintf(stderr, "smolvm-agent: unexpected argument '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }

  ensure_std_fds();
  const int sigfd = make_signal_fd(false);
  // Orphans of the commands (background processes) are re-parented to the
  // agent and reaped by it, as they would be by PID 1 in the guest.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  try {
    if (mode == "--stdio") return serve_stdio(sigfd);
    if (mode == "--unix") return serve_unix(arg, sigfd);
    ChannelSpec channel;
    std::string err, spec = arg;
    if (spec.empty()) spec = cmdline_param(read_kernel_cmdline(), "smolvm.channel").value_or("");
    if (spec.empty()) spec = "virtio-serial";
    if (!parse_channel_spec(spec, channel, err)) {
      logf("%s", err.c_str());
      return 2;
    }
    return serve_guest(channel, false, sigfd);
  } catch (const std::exception& e) {
    logf("fatal: %s", e.what());
    return 1;
  }
}
