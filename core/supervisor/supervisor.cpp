#include "core/supervisor/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/common/paths.h"
#include "core/common/process.h"
#include "core/common/unix_socket.h"
#include "core/network/network.h"
#include "core/plugins/backend_choice.h"
#include "core/plugins/loader.h"
#include "core/runtime/owner_link.h"
#include "core/runtime/runtime.h"
#include "core/state/vm_state.h"
#include "core/state/vm_writer.h"
#include "core/store/store.h"
#include "core/supervisor/cgroup.h"
#include "core/supervisor/console_log.h"
#include "core/supervisor/privileges.h"
#include "core/supervisor/router.h"
#include "core/supervisor/vmm_user.h"
#include "protocol/fd_io.h"
#include "protocol/messages.h"

namespace smolvm {
namespace {

using proto::Frame;
using proto::Type;

// A client queue past this stops the supervisor from reading more from that
// client until the agent has taken it (stdin floods).
constexpr size_t kMaxAgentBacklog = 8u << 20;
constexpr int kForceKillGraceMs = 5000;
// How long a running VM whose agent channel broke may take to exit by itself.
constexpr int kAgentLostGraceMs = 2000;
// A VMM that drops the agent channel while going down exits within this.
constexpr int kVmmExitGraceMs = 300;
// Fresh connections a booting VM's agent channel may get after drops.
constexpr int kMaxBootReconnects = 5;

void log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log(const char* fmt, ...) {
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

std::string exit_description(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended (status " + std::to_string(status) + ")";
}

struct Client {
  int fd = -1;
  proto::Decoder decoder;
  std::string out;
  bool hello = false;
  bool closing = false;  // close once `out` is flushed
};

class Supervisor {
 public:
  explicit Supervisor(const SupervisorArgs& args) : args_(args), plugins_(args.plugin_path) {}

  int run() {
    try {
      setup();
      loop();
    } catch (const std::exception& e) {
      failure_ = e.what();
      log("fatal: %s", e.what());
      shutdown_now();
    }
    const int rc = finish();
    if (owner_gone_ && claimed_) delete_vm();
    return rc;
  }

 private:
  enum class Phase { kBooting, kRunning, kStopping, kDone };

  // ---- setup --------------------------------------------------------------

  void setup() {
    ::signal(SIGPIPE, SIG_IGN);
    // The VMM must not inherit the report pipe (it would hold it open).
    if (args_.ready_fd >= 0) proto::set_cloexec(args_.ready_fd);
    if (args_.owner_fd >= 0) {
      proto::set_cloexec(args_.owner_fd);
      proto::set_nonblocking(args_.owner_fd, true);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    sigfd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigfd_ < 0) fail_errno(SMOLVM_EIO, "signalfd");

    const auto& store_plugin = plugins_.get(SMOLVM_PLUGIN_STORE, args_.store);
    store_ = std::make_unique<Store>(store_plugin, store_path(args_.state_dir));
    rec_ = store_->get(args_.vm_id);
    if (rec_.state != "starting") {
      fail(SMOLVM_ESTATE, "vm '" + rec_.id + "' is " + rec_.state + ", expected starting");
    }
    // From here on the VM is ours to record and clean up (a VM stopped
    // before we got here is left as the stop recorded it).
    claimed_ = true;
    store_->set_process({rec_.id, "supervisor", getpid(), process_start_time(getpid())});

    vm_dir_ = rec_.runtime.vm_dir;
    socket_path_ = rec_.runtime.supervisor_socket;
    token_ = rec_.runtime.token;
    boot_deadline_ = monotonic_ms() + int64_t{rec_.spec.boot_timeout_s} * 1000;

    const auto& vmm_plugin = plugins_.get(SMOLVM_PLUGIN_VMM, rec_.runtime.vmm);
    vmm_ = &vmm_plugin.vtable<smolvm_vmm_vtable>();
    setup_network();
    confine();
    open_agent_channel();
    log("vm %s: VMM pid %lld launched, waiting for the agent", rec_.id.c_str(),
        static_cast<long long>(vmm_pid_));
  }

  // TAP, addresses, isolation and the VM's stored port forwards, before the
  // VMM opens the TAP. Undone in finish() however the VM ends.
  void setup_network() {
    const std::string& name = rec_.runtime.network;
    if (name.empty() || name == "none") return;
    network_ = std::make_unique<NetworkBackend>(plugins_, name);
    network_up_ = true;  // teardown is idempotent: also undo a half setup
    network_->setup(rec_.id, rec_.runtime.lease);
    for (const auto& f : store_->forwards(rec_.id)) network_->add_forward(rec_.runtime.lease, f);
  }

  // Limits and least privilege (README, "Reliability and least privilege"): the
  // cgroup and the VMM's own uid are chosen before it starts; the plugin
  // switches to the uid in the VMM's child.
  void confine() {
    const auto& rt = rec_.runtime;
    const uint64_t overhead =
        vmm_memory_overhead_mib(plugins_.get(SMOLVM_PLUGIN_VMM, rt.vmm), rt.accel);
    cgroup_.prepare(rec_.id, limits_for(rec_.spec.vcpu_count, rec_.spec.mem_size_mib, overhead));
    if (!cgroup_.json().value("enabled", false)) {
      log("no cgroup limits: %s", cgroup_.json().value("reason", std::string()).c_str());
    }
    const std::vector<std::string> paths = {args_.state_dir, vm_dir_, rt.kernel_path,
                                            rt.rootfs_path};
    vmm_user_.acquire();
    launch_vmm();
    cgroup_.add(vmm_pid_);
    // Recorded now, not only when ready: after a supervisor killed during
    // boot, the next look at the VM finds the groups and removes them.
    update_record_in(*store_, rec_.id, VmState::kStarting,
                     [&](VmRecord& r) { r.runtime.limits.cgroup = cgroup_.json(); });
    // After launch: the VMM's child needs CAP_SETUID and CAP_SETPCAP to
    // confine itself (vmm-common/process.h), and Firecracker's jailer more.
    privileges_ = drop_privileges(network_ != nullptr, vmm_user_.uid() != 0, paths);
  }

  void launch_vmm() {
    // The config points into rec_, which outlives the launch call.
    const VmRuntime& rt = rec_.runtime;
    const VmSpec& spec = rec_.spec;
    const std::string& tap = rt.lease.tap;
    smolvm_vmm_config cfg{};
    cfg.struct_size = sizeof cfg;
    cfg.vm_id = rec_.id.c_str();
    cfg.vcpu_count = spec.vcpu_count;
    cfg.mem_size_mib = spec.mem_size_mib;
    cfg.kernel_path = rt.kernel_path.c_str();
    cfg.rootfs_path = rt.rootfs_path.c_str();
    cfg.disk_mode = spec.disk_mode.c_str();
    cfg.disk_path = rt.disk_path.empty() ? nullptr : rt.disk_path.c_str();
    cfg.accel = rt.accel.c_str();
    cfg.boot_args = rt.boot_args.c_str();
    cfg.vm_dir = vm_dir_.c_str();
    cfg.console_log = rt.console_log.c_str();
    cfg.tap_name = network_ && !tap.empty() ? tap.c_str() : nullptr;
    cfg.mac = rt.lease.mac.empty() ? nullptr : rt.lease.mac.c_str();
    cfg.run_as_uid = vmm_user_.uid();
    cfg.run_as_gid = vmm_user_.gid();
    console_ = std::make_unique<ConsoleLog>(rt.console_log);
    cfg.console_fd = console_->write_fd();
    smolvm_plugin_error err{};
    const int rc = vmm_->launch(&inst_, &cfg, &err);
    console_->close_write_end();
    console_->start();
    if (rc != 0) fail(rc, err.message);
    vmm_pid_ = vmm_->pid(inst_);
    store_->set_process({rec_.id, "vmm", vmm_pid_, process_start_time(vmm_pid_)});
  }

  // Connects to the agent channel and says HELLO; the answer comes in loop().
  void open_agent_channel() {
    int fd = -1;
    smolvm_plugin_error err{};
    const int64_t left = boot_deadline_ - monotonic_ms();
    const int rc =
        vmm_->agent_connect(inst_, &fd, static_cast<uint32_t>(left > 0 ? left : 1), &err);
    // A VMM that refused its config is gone before its socket exists.
    if (rc != 0) {
      fail(rc, std::string("cannot connect to the guest agent channel: ") + err.message +
                   vmm_output_hint());
    }
    agent_fd_ = fd;
    proto::set_nonblocking(agent_fd_, true);
    send_agent(Type::kHello, 0, 0,
               proto::to_json(proto::Hello{proto::kVersion, token_, "supervisor"}));
  }

  // ---- event loop ---------------------------------------------------------

  void loop() {
    std::vector<pollfd> fds;
    std::vector<uint64_t> ids;  // client id per pollfd slot (0 for others)
    while (phase_ != Phase::kDone) {
      fds.clear();
      ids.clear();
      fds.push_back({sigfd_, POLLIN, 0});
      ids.push_back(0);
      if (agent_fd_ >= 0) {
        fds.push_back(
            {agent_fd_, static_cast<short>(POLLIN | (agent_out_.empty() ? 0 : POLLOUT)), 0});
        ids.push_back(0);
      }
      if (listen_fd_ >= 0) {
        fds.push_back({listen_fd_, POLLIN, 0});
        ids.push_back(0);
      }
      if (args_.owner_fd >= 0) {
        fds.push_back({args_.owner_fd, POLLIN, 0});
        ids.push_back(0);
      }
      const bool agent_backlogged = agent_out_.size() > kMaxAgentBacklog;
      for (auto& [id, c] : clients_) {
        short ev = c.out.empty() ? 0 : POLLOUT;
        if (!agent_backlogged && !c.closing) ev |= POLLIN;
        fds.push_back({c.fd, ev, 0});
        ids.push_back(id);
      }
      const int r = ::poll(fds.data(), fds.size(), poll_timeout());
      if (r < 0 && errno != EINTR) fail_errno(SMOLVM_EIO, "poll");
      on_timers();
      if (r <= 0) continue;
      for (size_t i = 0; i < fds.size() && phase_ != Phase::kDone; ++i) {
        if (!fds[i].revents) continue;
        if (fds[i].fd == sigfd_) {
          on_signals();
        } else if (fds[i].fd == agent_fd_ && ids[i] == 0) {
          if (fds[i].revents & POLLOUT) flush_agent();
          if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) on_agent_readable();
        } else if (fds[i].fd == listen_fd_ && ids[i] == 0) {
          on_accept();
        } else if (fds[i].fd == args_.owner_fd && ids[i] == 0) {
          on_owner_readable();
        } else if (ids[i] != 0) {
          on_client_event(ids[i], fds[i].revents);
        }
      }
      reap_closed_clients();
    }
  }

  int poll_timeout() const {
    int64_t next = -1;
    auto consider = [&](int64_t deadline) {
      if (deadline > 0 && (next < 0 || deadline < next)) next = deadline;
    };
    if (phase_ == Phase::kBooting) consider(boot_deadline_);
    consider(stop_deadline_);
    consider(kill_deadline_);
    consider(agent_lost_deadline_);
    if (next < 0) return -1;
    const int64_t left = next - monotonic_ms();
    return left < 0 ? 0 : static_cast<int>(left);
  }

  void on_timers() {
    const int64_t now = monotonic_ms();
    if (phase_ == Phase::kBooting && now >= boot_deadline_) {
      failure_ = "the guest agent did not answer within " +
                 std::to_string(rec_.spec.boot_timeout_s) + " s" + console_hint();
      log("%s", failure_.c_str());
      shutdown_now();
    }
    if (stop_deadline_ > 0 && now >= stop_deadline_) {
      log("graceful stop deadline passed; forcing the VM off");
      stop_deadline_ = 0;
      force_kill();
    }
    if (agent_lost_deadline_ > 0 && now >= agent_lost_deadline_) {
      agent_lost_deadline_ = 0;
      if (phase_ == Phase::kRunning) {
        failure_ = "the guest agent channel was lost while the VM was running (" + agent_lost_why_ +
                   "); the VM was stopped";
        log("%s", failure_.c_str());
        phase_ = Phase::kStopping;
        force_kill();
      }
    }
    if (kill_deadline_ > 0 && now >= kill_deadline_) {
      log("VMM pid %lld still alive; SIGKILL", static_cast<long long>(vmm_pid_));
      kill_deadline_ = 0;
      ::kill(static_cast<pid_t>(vmm_pid_), SIGKILL);
    }
  }

  void on_signals() {
    signalfd_siginfo si;
    while (::read(sigfd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      if (si.ssi_signo == SIGCHLD) {
        reap();
      } else {
        log("signal %u: stopping the VM", si.ssi_signo);
        begin_stop(10000, false);
      }
    }
  }

  void reap() {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid == vmm_pid_) on_vmm_exit(status);
    }
  }

  void on_vmm_exit(int status) {
    vmm_exited_ = true;
    vmm_status_ = status;
    std::string how = exit_description(status);
    // A SIGKILL from the VM's own memory limit should say so, not leave the
    // user guessing who sent signal 9.
    if (const auto oom = cgroup_.oom_report();
        WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && oom.kills > 0) {
      how += " by the out-of-memory killer of its cgroup (memory limit " +
             std::to_string(oom.limit_bytes >> 20) + " MiB)";
    }
    log("VMM %s", how.c_str());
    if (phase_ == Phase::kBooting && failure_.empty()) {
      failure_ = "the VMM " + how + " before the guest agent answered" + vmm_output_hint() +
                 console_hint();
    } else if (phase_ == Phase::kRunning && failure_.empty()) {
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        guest_shutdown_ = true;  // the guest powered itself off
      } else {
        failure_ = "the VMM " + how + " while the VM was running" + console_hint();
      }
    }
    phase_ = Phase::kDone;
  }

  // What the VMM itself said: a VMM plugin sends its process's output to
  // <vm_dir>/vmm.log (plugin.h). A VMM that refuses its config (a kernel
  // that is not one, a disk it cannot open) gives its reason only there.
  std::string vmm_output_hint() const {
    const std::string log = rec_.runtime.vm_dir + "/vmm.log";
    std::string tail = tail_file(log, 600);
    for (char& c : tail) {
      if (c != '\n' && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)) c = ' ';
    }
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
    if (tail.empty()) return "";
    return "; it said: " + tail;
  }

  std::string console_hint() const {
    const std::string& console = rec_.runtime.console_log;
    std::string tail = tail_file(console, 600);
    for (char& c : tail) {
      if (c == '\r') c = ' ';
    }
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
    if (tail.empty()) return " (console log " + console + " is empty)";
    return "; console log " + console + " ends with:\n" + tail;
  }

  // ---- the agent channel --------------------------------------------------

  void send_agent(Type type, uint8_t flags, uint32_t stream, std::string_view payload) {
    proto::append_frame(agent_out_, type, flags, stream, payload);
    flush_agent();
  }

  void flush_agent() {
    if (agent_fd_ < 0 || agent_out_.empty()) return;
    const long n = proto::write_some(agent_fd_, agent_out_);
    if (n < 0) {
      on_agent_lost(std::string("write: ") + std::strerror(errno));
      return;
    }
    agent_out_.erase(0, static_cast<size_t>(n));
  }

  void on_agent_readable() {
    char buf[65536];
    const long n = proto::read_some(agent_fd_, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      on_agent_lost(n == 0 ? "closed" : std::strerror(errno));
      return;
    }
    agent_decoder_.feed(buf, static_cast<size_t>(n));
    Frame f;
    for (;;) {
      const auto res = agent_decoder_.next(f);
      if (res == proto::Decoder::Result::kNeedMore) break;
      if (res == proto::Decoder::Result::kError) {
        on_agent_lost("protocol error: " + agent_decoder_.error());
        return;
      }
      on_agent_frame(f);
      if (phase_ == Phase::kDone) return;
    }
  }

  void on_agent_lost(const std::string& why) {
    log("agent channel lost (%s)", why.c_str());
    ::close(agent_fd_);
    agent_fd_ = -1;
    agent_out_.clear();
    for (uint32_t global : router_.all()) {
      fail_stream(global, "EIO", "the agent channel closed (" + why + ")");
    }
    if (phase_ == Phase::kBooting) {
      if (reconnect_during_boot(why) || phase_ == Phase::kDone) return;
      // The VMM exiting closes the channel too, often before it is reaped:
      // its own words say why.
      failure_ = "the guest agent channel closed during boot (" + why + ")" + vmm_output_hint() +
                 console_hint();
      shutdown_now();
    }
    // When running, the VM is normally going down and the VMM exit ends
    // us. If it does not (the guest sent garbage, its agent died), the VM
    // can never be commanded again: end it as failed after a grace period.
    if (phase_ == Phase::kRunning) {
      agent_lost_why_ = why;
      agent_lost_deadline_ = monotonic_ms() + kAgentLostGraceMs;
    }
  }

  // Before HELLO_OK nothing has been said on the channel that a fresh
  // HELLO does not replace (the agent starts a new session on every HELLO),
  // so a drop while the VM boots is not the end of the boot. A VMM going
  // down drops the socket just before it exits: its exit (status, OOM,
  // console) is the reason then, not the channel. Otherwise a new
  // connection: QEMU's chardev listens again once its client is gone.
  bool reconnect_during_boot(const std::string& why) {
    const int64_t until = monotonic_ms() + kVmmExitGraceMs;
    int status = 0;
    for (;;) {
      if (::waitpid(static_cast<pid_t>(vmm_pid_), &status, WNOHANG) == vmm_pid_) {
        on_vmm_exit(status);  // phase_ kDone, failure_ names the exit
        return false;
      }
      if (monotonic_ms() >= until) break;
      ::usleep(10 * 1000);
    }
    if (boot_reconnects_ >= kMaxBootReconnects) return false;
    ++boot_reconnects_;
    log("agent channel dropped during boot (%s); connecting again (%d of %d)", why.c_str(),
        boot_reconnects_, kMaxBootReconnects);
    agent_decoder_ = proto::Decoder();
    open_agent_channel();
    return agent_fd_ >= 0;
  }

  void on_agent_frame(Frame& f) {
    if (f.stream == 0) {
      switch (f.type) {
        case Type::kHelloOk: {
          proto::HelloOk ok;
          std::string err;
          if (!proto::parse(f.payload, ok, err) || ok.version != proto::kVersion) {
            failure_ = "the guest agent answered an unusable HELLO_OK (" +
                       (err.empty() ? "version " + std::to_string(ok.version) : err) + ")";
            shutdown_now();
            return;
          }
          agent_version_ = ok.agent;
          if (phase_ == Phase::kBooting) on_ready();
          return;
        }
        case Type::kError: {
          proto::ErrorMsg e;
          std::string err;
          proto::parse(f.payload, e, err);
          log("agent error: %s", e.message.c_str());
          if (phase_ == Phase::kBooting) {
            failure_ = "the guest agent refused the handshake: " + e.message;
            shutdown_now();
          }
          return;
        }
        default:
          return;  // PONG and friends need nothing
      }
    }
    const StreamRouter::Route* route = router_.from_global(f.stream);
    if (!route) return;  // a stream we already closed
    const bool ends = StreamRouter::ends_stream(*route, f);
    if (route->client) {
      auto it = clients_.find(route->client);
      if (it != clients_.end()) {
        proto::append_frame(it->second.out, f.type, f.flags, route->local, f.payload);
        flush_client(it->second);
      }
    }
    if (ends) router_.close(f.stream);
  }

  void fail_stream(uint32_t global, const std::string& code, const std::string& message) {
    const StreamRouter::Route* route = router_.from_global(global);
    if (!route) return;
    if (route->client) {
      auto it = clients_.find(route->client);
      if (it != clients_.end()) {
        proto::append_frame(it->second.out, Type::kError, 0, route->local,
                            proto::to_json(proto::ErrorMsg{code, message}));
        flush_client(it->second);
      }
    }
    router_.close(global);
  }

  // ---- readiness ----------------------------------------------------------

  void on_ready() {
    listen_fd_ = listen_unix(socket_path_, 0600);
    // Only now: right after fork the VMM's child has not switched yet.
    const nlohmann::json vmm_user = vmm_user_.confirm(vmm_pid_);
    rec_ = transition(*store_, rec_.id, VmState::kStarting, VmState::kRunning, [&](VmRecord& r) {
      r.runtime.supervisor_pid = getpid();
      r.runtime.vmm_pid = vmm_pid_;
      r.runtime.started_at_ms = now_ms();
      r.runtime.agent_version = agent_version_;
      r.runtime.limits.cgroup = cgroup_.json();
      r.runtime.limits.privileges = privileges_;
      r.runtime.limits.vmm_user = vmm_user;
      r.runtime.last_error = "";
    });
    phase_ = Phase::kRunning;
    log("vm %s: running (agent %s)", rec_.id.c_str(), agent_version_.c_str());
    report("READY\n");
  }

  void report(const std::string& line) {
    if (args_.ready_fd < 0) return;
    proto::write_all(args_.ready_fd, line);
    ::close(args_.ready_fd);
    args_.ready_fd = -1;
  }

  // ---- clients ------------------------------------------------------------

  void on_accept() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      Client c;
      c.fd = fd;
      clients_.emplace(next_client_++, std::move(c));
    }
  }

  void on_client_event(uint64_t id, short revents) {
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    Client& c = it->second;
    if (revents & POLLOUT) flush_client(c);
    if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
    char buf[65536];
    const long n = proto::read_some(c.fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      drop_client(id);
      return;
    }
    c.decoder.feed(buf, static_cast<size_t>(n));
    Frame f;
    for (;;) {
      const auto res = c.decoder.next(f);
      if (res == proto::Decoder::Result::kNeedMore) break;
      if (res == proto::Decoder::Result::kError) {
        refuse_client(c, "EPROTO", c.decoder.error());
        break;
      }
      on_client_frame(id, c, f);
      if (c.closing || phase_ == Phase::kDone) break;
    }
  }

  void refuse_client(Client& c, const std::string& code, const std::string& message) {
    proto::append_frame(c.out, Type::kError, 0, 0, proto::to_json(proto::ErrorMsg{code, message}));
    c.closing = true;
    flush_client(c);
  }

  void on_client_frame(uint64_t id, Client& c, Frame& f) {
    if (!c.hello) {
      proto::Hello h;
      std::string err;
      if (f.type != Type::kHello || !proto::parse(f.payload, h, err)) {
        refuse_client(c, "EPROTO",
                      "the first frame must be HELLO" + (err.empty() ? "" : ": " + err));
        return;
      }
      if (h.version != proto::kVersion) {
        refuse_client(c, "EPROTO",
                      "protocol version " + std::to_string(h.version) +
                          " is not supported by this supervisor (version " +
                          std::to_string(proto::kVersion) + ")");
        return;
      }
      if (h.token != token_) {
        refuse_client(c, "EPERM", "wrong token for vm '" + rec_.id + "'");
        return;
      }
      c.hello = true;
      proto::append_frame(
          c.out, Type::kHelloOk, 0, 0,
          proto::to_json(proto::HelloOk{proto::kVersion, agent_version_, proto::kMaxPayload}));
      flush_client(c);
      return;
    }
    switch (f.type) {
      case Type::kPing:
        proto::append_frame(c.out, Type::kPong, 0, 0, f.payload);
        flush_client(c);
        return;
      case Type::kVmStop: {
        proto::VmStop stop;
        std::string err;
        proto::parse(f.payload, stop, err);
        proto::append_frame(c.out, Type::kVmStopping, 0, 0, "{}");
        flush_client(c);
        begin_stop(stop.timeout_ms ? stop.timeout_ms : 10000, stop.force);
        return;
      }
      case Type::kExec:
      case Type::kFileWrite:
      case Type::kFileRead: {
        if (phase_ != Phase::kRunning || agent_fd_ < 0) {
          proto::append_frame(c.out, Type::kError, 0, f.stream,
                              proto::to_json(proto::ErrorMsg{"ESTATE", "the VM is stopping"}));
          flush_client(c);
          return;
        }
        auto global = router_.open(id, f.stream, f.type);
        if (!global) {
          proto::append_frame(
              c.out, Type::kError, 0, f.stream,
              proto::to_json(proto::ErrorMsg{
                  "EINVAL", "stream " + std::to_string(f.stream) + " is zero or already in use"}));
          flush_client(c);
          return;
        }
        send_agent(f.type, f.flags, *global, f.payload);
        return;
      }
      case Type::kStdin:
      case Type::kSignal:
      case Type::kCredit:
      case Type::kData: {
        if (auto global = router_.to_global(id, f.stream)) {
          send_agent(f.type, f.flags, *global, f.payload);
        }
        return;  // frames for an ended stream are dropped
      }
      case Type::kError: {
        // A client cancelling its stream (a bounded file read that hit its
        // limit): the agent stops it, and the route ends here.
        if (auto global = router_.to_global(id, f.stream)) {
          send_agent(f.type, 0, *global, f.payload);
          router_.close(*global);
        }
        return;
      }
      default:
        refuse_client(c, "EPROTO",
                      std::string("frame type ") + proto::type_name(f.type) +
                          " is not accepted from clients");
    }
  }

  void flush_client(Client& c) {
    if (c.out.empty()) return;
    const long n = proto::write_some(c.fd, c.out);
    if (n < 0) {
      c.out.clear();
      c.closing = true;
      return;
    }
    c.out.erase(0, static_cast<size_t>(n));
  }

  void drop_client(uint64_t id) {
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    // Commands of a client that went away die with it (docs/protocol.md).
    for (auto [global, kind] : router_.orphan_client(id)) {
      if (kind == Type::kExec && agent_fd_ >= 0) {
        send_agent(Type::kSignal, 0, global, proto::to_json(proto::SignalMsg{SIGKILL}));
      }
      if (kind == Type::kFileRead || kind == Type::kFileWrite) {
        // Nobody reads it any more: the agent closes the file now rather
        // than waiting forever for credit; a write cut off drops its
        // hidden temporary file.
        if (agent_fd_ >= 0) {
          send_agent(Type::kError, 0, global,
                     proto::to_json(proto::ErrorMsg{"EIO", "the client went away"}));
        }
        router_.close(global);
      }
    }
    ::close(it->second.fd);
    clients_.erase(it);
  }

  void reap_closed_clients() {
    std::vector<uint64_t> done;
    for (auto& [id, c] : clients_) {
      if (c.closing && c.out.empty()) done.push_back(id);
    }
    for (uint64_t id : done) drop_client(id);
  }

  // ---- the owner link -----------------------------------------------------

  void on_owner_readable() {
    char buf[16];
    const ssize_t n = ::read(args_.owner_fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    const bool detached = n > 0 && std::memchr(buf, kOwnerDetachByte, static_cast<size_t>(n));
    if (n > 0 && !detached) return;  // not ours to interpret
    ::close(args_.owner_fd);
    args_.owner_fd = -1;
    if (detached) {
      log("vm %s: detached from its owner; it now lives until stopped", rec_.id.c_str());
      return;
    }
    // EOF (or an error): the owner ended without detaching, however it
    // ended. The VM goes away with it, exactly as `smolvm rm` would.
    log("vm %s: its owner went away without detaching; deleting the VM", rec_.id.c_str());
    owner_gone_ = true;
    if (phase_ == Phase::kStopping) {
      force_kill();
    } else {
      begin_stop(0, /*force=*/true);
    }
  }

  // The whole of `smolvm rm` (runtime.cpp), once the VM has stopped and
  // finish() has released what this process held.
  void delete_vm() {
    try {
      RuntimeOptions opts;
      opts.state_dir = args_.state_dir;
      opts.cache_dir = args_.cache_dir;
      opts.plugin_path = args_.plugin_path;
      opts.store = args_.store;
      Runtime(opts).remove(rec_.id);
      std::fprintf(stderr, "vm %s: deleted\n", rec_.id.c_str());
    } catch (const std::exception& e) {
      log("cannot delete vm %s: %s", rec_.id.c_str(), e.what());
    }
  }

  // ---- stopping -----------------------------------------------------------

  void begin_stop(uint32_t timeout_ms, bool force) {
    if (phase_ == Phase::kStopping || phase_ == Phase::kDone) return;
    if (phase_ == Phase::kBooting) {
      // A stop that arrives while the VM boots ends the boot: the VM is
      // "stopped" (not "failed") and the waiting start says why.
      stopped_while_booting_ = true;
      log("stopped while booting");
      shutdown_now();
      return;
    }
    try {
      transition(*store_, rec_.id, VmState::kRunning, VmState::kStopping);
    } catch (const std::exception& e) {
      log("cannot record stopping: %s", e.what());
    }
    phase_ = Phase::kStopping;
    if (agent_fd_ >= 0 && !force) {
      send_agent(Type::kShutdown, 0, 0, "{}");
      stop_deadline_ = monotonic_ms() + timeout_ms;
      log("asked the guest to shut down (deadline %u ms)", timeout_ms);
    } else {
      force_kill();
    }
  }

  void force_kill() {
    if (vmm_exited_ || !inst_) return;
    smolvm_plugin_error err{};
    if (vmm_->kill(inst_, &err) != 0) log("VMM kill: %s", err.message);
    kill_deadline_ = monotonic_ms() + kForceKillGraceMs;
  }

  // Ends the VM now (failure paths): kill the VMM and wait for it.
  void shutdown_now() {
    if (inst_ && !vmm_exited_) {
      force_kill();
      if (!wait_process_exit(vmm_pid_, -1, kForceKillGraceMs)) {
        ::kill(static_cast<pid_t>(vmm_pid_), SIGKILL);
      }
      int status = 0;
      if (::waitpid(static_cast<pid_t>(vmm_pid_), &status, 0) == vmm_pid_) vmm_status_ = status;
      vmm_exited_ = true;
    }
    phase_ = Phase::kDone;
  }

  int finish() {
    const bool failed = !failure_.empty();
    report(failed                   ? "ERROR " + failure_ + "\n"
           : stopped_while_booting_ ? "ERROR the VM was stopped while it was starting\n"
                                    : "ERROR the VM stopped\n");
    for (auto& [id, c] : clients_) {
      flush_client(c);
      ::close(c.fd);
    }
    clients_.clear();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (agent_fd_ >= 0) ::close(agent_fd_);
    if (inst_) vmm_->release(inst_);
    console_.reset();  // after the VMM: its last words are in the log
    cgroup_.remove();
    if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
    if (network_up_ && store_) {
      try {
        network_->teardown(rec_.id, rec_.runtime.lease, store_->forwards(rec_.id));
      } catch (const std::exception& e) {
        log("%s", e.what());
        if (failure_.empty()) failure_ = e.what();
      }
    }
    if (store_ && claimed_) {
      try {
        // A client that found this process stuck may have recorded the end
        // first; then its record stands.
        record_end(*store_, rec_.id,
                   {failed ? VmState::kFailed : VmState::kStopped, failure_,
                    guest_shutdown_ ? "the guest shut down" : ""});
      } catch (const std::exception& e) {
        log("cannot record the VM's end: %s", e.what());
      }
    }
    log("vm %s: %s", rec_.id.c_str(), failed ? ("failed: " + failure_).c_str() : "stopped");
    return failed ? 1 : 0;
  }

  SupervisorArgs args_;
  PluginRegistry plugins_;
  std::unique_ptr<Store> store_;
  VmRecord rec_;
  std::string vm_dir_, socket_path_, token_, agent_version_;
  const smolvm_vmm_vtable* vmm_ = nullptr;
  void* inst_ = nullptr;
  std::unique_ptr<ConsoleLog> console_;
  std::unique_ptr<NetworkBackend> network_;
  bool network_up_ = false;
  VmCgroup cgroup_;
  VmmUser vmm_user_;
  nlohmann::json privileges_;
  int64_t vmm_pid_ = 0;
  bool vmm_exited_ = false;
  int vmm_status_ = 0;
  bool guest_shutdown_ = false;
  int boot_reconnects_ = 0;
  bool claimed_ = false;                // the store said "starting": the VM is ours
  bool stopped_while_booting_ = false;  // a stop ended the boot: "stopped"
  bool owner_gone_ = false;             // delete the VM once it has stopped
  int sigfd_ = -1, agent_fd_ = -1, listen_fd_ = -1;
  proto::Decoder agent_decoder_;
  std::string agent_out_;
  std::map<uint64_t, Client> clients_;
  uint64_t next_client_ = 1;
  StreamRouter router_;
  Phase phase_ = Phase::kBooting;
  int64_t boot_deadline_ = 0, stop_deadline_ = 0, kill_deadline_ = 0, agent_lost_deadline_ = 0;
  std::string agent_lost_why_;
  std::string failure_;
};

}  // namespace

int run_supervisor(const SupervisorArgs& args) {
  Supervisor s(args);
  return s.run();
}

}  // namespace smolvm
