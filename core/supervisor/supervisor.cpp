#include "core/supervisor/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/common/paths.h"
#include "core/common/process.h"
#include "core/common/supervisor_report.h"
#include "core/network/network.h"
#include "core/plugins/backend_choice.h"
#include "core/plugins/loader.h"
#include "core/runtime/owner_link.h"
#include "core/runtime/runtime.h"
#include "core/state/vm_state.h"
#include "core/state/vm_writer.h"
#include "core/store/store.h"
#include "core/supervisor/agent_channel.h"
#include "core/supervisor/background_job.h"
#include "core/supervisor/client_hub.h"
#include "core/supervisor/lifetime.h"
#include "core/supervisor/log.h"
#include "core/supervisor/phases.h"
#include "core/supervisor/privileges.h"
#include "core/supervisor/teardown.h"
#include "core/supervisor/vmm_process.h"
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
// An unanswered HELLO is said again this often while the VM boots. Every
// copy comes before any stream's frame, so extra answers cost nothing.
constexpr int kHelloAgainMs = 1000;
// How long a guest stopped by its lifetime policy has to shut down.
constexpr uint32_t kLifetimeStopTimeoutMs = 10000;

// Sequences a VM's phases (boot, ready, run, stop, teardown) and their
// deadlines over its parts: the VMM process, the agent channel and the
// client hub, which know nothing of each other.
class Supervisor final : public ClientHub::Vm {
 public:
  explicit Supervisor(const SupervisorArgs& args) : args_(args), plugins_(args.plugin_path) {}

  int run() {
    try {
      setup();
      loop();
    } catch (const Error& e) {
      failure_status_ = e.status();
      failure_ = e.what();
      supervisor_log("fatal: %s", e.what());
      shutdown_now();
    } catch (const std::exception& e) {
      failure_ = e.what();
      supervisor_log("fatal: %s", e.what());
      shutdown_now();
    }
    const int rc = finish();
    if (delete_at_end_ && claimed_) delete_vm();
    return rc;
  }

  // ---- ClientHub::Vm ------------------------------------------------------

  bool accepts_streams() const override {
    return phase_ == Phase::kRunning && !paused_ && agent_.connected();
  }
  bool agent_connected() const override { return agent_.connected(); }
  void send_to_agent(Type type, uint8_t flags, uint32_t stream, std::string_view payload) override {
    if (!agent_.send(type, flags, stream, payload)) on_agent_lost(agent_.why());
  }
  void stop_requested(uint32_t timeout_ms, bool force) override { begin_stop(timeout_ms, force); }
  int pause_requested(bool pause, std::string& message) override {
    if (saving_) return busy_saving(message);
    return set_paused(pause, message, "");
  }
  int wake_for_stream(std::string& message) override {
    if (!paused_) return 0;
    if (paused_by_ == kPausedByIdle) return set_paused(false, message, "");
    message = "vm '" + rec_.id + "' is paused: resume it first";
    return SMOLVM_ESTATE;
  }
  bool ended() const override { return phase_ == Phase::kDone; }
  int snapshot_requested(uint64_t client, const proto::VmSnapshot& request,
                         std::string& message) override {
    return begin_snapshot(client, request, message);
  }
  bool streams_wait() const override { return saving_.has_value(); }

 private:
  // ---- boot ---------------------------------------------------------------

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
    hub_ = std::make_unique<ClientHub>(*this, rec_.id, rec_.runtime.token);
    deadlines_.boot = monotonic_ms() + boot_timeout_ms(rec_);
    lifetime_ =
        LifetimeClock(int64_t{rec_.spec.ttl_s} * 1000, int64_t{rec_.spec.idle_timeout_s} * 1000);

    const auto& vmm_plugin = plugins_.get(SMOLVM_PLUGIN_VMM, rec_.runtime.vmm);
    vmm_ = std::make_unique<VmmProcess>(vmm_plugin.vtable<smolvm_vmm_vtable>());
    setup_network();
    confine();
    open_agent_channel();
    supervisor_log("vm %s: VMM pid %lld launched, waiting for the agent", rec_.id.c_str(),
                   static_cast<long long>(vmm_->pid()));
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
    const std::vector<std::string> paths = {args_.state_dir, rt.vm_dir, rt.kernel_path,
                                            rt.rootfs_path};
    // The VMM plugin says how much memory the VMM needs beside the guest's.
    const uint64_t overhead =
        vmm_memory_overhead_mib(plugins_.get(SMOLVM_PLUGIN_VMM, rt.vmm), rt.accel);
    vmm_->launch(rec_, network_ != nullptr, overhead);
    store_->set_process({rec_.id, "vmm", vmm_->pid(), process_start_time(vmm_->pid())});
    // Recorded now, not only when ready: after a supervisor killed during
    // boot, the next look at the VM finds the groups and removes them.
    update_record_in(*store_, rec_.id, VmState::kStarting,
                     [&](VmRecord& r) { r.runtime.limits.cgroup = vmm_->cgroup().json(); });
    // After launch: the VMM's child needs CAP_SETUID and CAP_SETPCAP to
    // confine itself (vmm-common/process.h), and Firecracker's jailer more.
    privileges_ = drop_privileges(network_ != nullptr, vmm_->user().uid() != 0, paths);
  }

  // Connects to the agent channel and says HELLO; the answer comes in loop().
  void open_agent_channel() {
    int fd = -1;
    std::string message;
    const int64_t left = deadlines_.boot - monotonic_ms();
    const int rc = vmm_->connect_agent(static_cast<uint32_t>(left > 0 ? left : 1), fd, message);
    // A VMM that refused its config is gone before its socket exists.
    if (rc != 0) {
      fail(rc, "cannot connect to the guest agent channel: " + message + vmm_output_hint());
    }
    // A fresh epoch per connection and per supervisor: a restored VM's agent
    // may still answer a HELLO of the connection before its snapshot.
    uint32_t epoch = 0;
    while (epoch == 0) epoch = static_cast<uint32_t>(std::stoul(random_hex(4), nullptr, 16));
    agent_.attach(fd, epoch);
    hello_epoch_ = epoch;
    say_hello();
  }

  // The agent drops a HELLO that lands after half a frame of an earlier
  // connection (a restored VM) with a protocol error and waits for the next
  // HELLO, so an unanswered one is said again while the VM boots.
  void say_hello() {
    deadlines_.hello_again = monotonic_ms() + kHelloAgainMs;
    send_to_agent(Type::kHello, 0, 0,
                  proto::to_json(proto::Hello{proto::kVersion, rec_.runtime.token, "supervisor",
                                              hello_epoch_}));
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
      if (agent_.connected()) {
        fds.push_back(
            {agent_.fd(), static_cast<short>(POLLIN | (agent_.wants_write() ? POLLOUT : 0)), 0});
        ids.push_back(0);
      }
      if (hub_->listen_fd() >= 0) {
        fds.push_back({hub_->listen_fd(), POLLIN, 0});
        ids.push_back(0);
      }
      if (args_.owner_fd >= 0) {
        fds.push_back({args_.owner_fd, POLLIN, 0});
        ids.push_back(0);
      }
      if (saving_) {
        fds.push_back({saver_.done_fd(), POLLIN, 0});
        ids.push_back(0);
      }
      hub_->add_pollfds(fds, ids, agent_.backlog() > kMaxAgentBacklog);
      lifetime_.set_busy(hub_->stream_count() > 0, monotonic_ms());
      deadlines_.lifetime = phase_ == Phase::kRunning ? lifetime_.next_deadline() : 0;
      const int r =
          ::poll(fds.data(), fds.size(), deadlines_.poll_timeout_ms(phase_, monotonic_ms()));
      if (r < 0 && errno != EINTR) fail_errno(SMOLVM_EIO, "poll");
      on_timers();
      if (r <= 0) continue;
      for (size_t i = 0; i < fds.size() && phase_ != Phase::kDone; ++i) {
        if (!fds[i].revents) continue;
        if (fds[i].fd == sigfd_) {
          on_signals();
        } else if (fds[i].fd == agent_.fd() && ids[i] == 0) {
          if (fds[i].revents & POLLOUT) flush_agent();
          if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) on_agent_readable();
        } else if (fds[i].fd == hub_->listen_fd() && ids[i] == 0) {
          hub_->on_accept();
        } else if (fds[i].fd == args_.owner_fd && ids[i] == 0) {
          on_owner_readable();
        } else if (saving_ && fds[i].fd == saver_.done_fd() && ids[i] == 0) {
          end_snapshot();
        } else if (ids[i] != 0) {
          hub_->on_client_event(ids[i], fds[i].revents);
        }
      }
      hub_->reap_closed_clients();
    }
  }

  void on_timers() {
    const int64_t now = monotonic_ms();
    if (phase_ == Phase::kBooting && now >= deadlines_.boot) {
      failure_status_ = SMOLVM_ETIMEOUT;
      const int64_t ms = boot_timeout_ms(rec_);
      failure_ = "the guest agent did not answer within " +
                 (ms % 1000 ? std::to_string(ms) + " ms" : std::to_string(ms / 1000) + " s") +
                 console_hint();
      supervisor_log("%s", failure_.c_str());
      shutdown_now();
    }
    if (deadlines_.hello_again > 0 && now >= deadlines_.hello_again) {
      deadlines_.hello_again = 0;
      if (phase_ == Phase::kBooting && agent_.connected() && agent_.handshaking()) say_hello();
    }
    if (deadlines_.stop > 0 && now >= deadlines_.stop) {
      supervisor_log("graceful stop deadline passed; forcing the VM off");
      deadlines_.stop = 0;
      force_kill();
    }
    if (deadlines_.agent_lost > 0 && now >= deadlines_.agent_lost) {
      deadlines_.agent_lost = 0;
      if (phase_ == Phase::kRunning) {
        failure_ = "the guest agent channel was lost while the VM was running (" + agent_lost_why_ +
                   "); the VM was stopped";
        supervisor_log("%s", failure_.c_str());
        phase_ = Phase::kStopping;
        force_kill();
      }
    }
    if (phase_ == Phase::kRunning) on_lifetime(lifetime_.due(now));
    if (deadlines_.kill > 0 && now >= deadlines_.kill) {
      supervisor_log("VMM pid %lld still alive; SIGKILL", static_cast<long long>(vmm_->pid()));
      deadlines_.kill = 0;
      vmm_->sigkill();
    }
  }

  void on_signals() {
    signalfd_siginfo si;
    while (::read(sigfd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      if (si.ssi_signo == SIGCHLD) {
        if (vmm_) {
          if (auto status = vmm_->reap_children()) on_vmm_exit(*status);
        }
      } else {
        supervisor_log("signal %u: stopping the VM", si.ssi_signo);
        begin_stop(10000, false);
      }
    }
  }

  void on_vmm_exit(int status) {
    vmm_->mark_exited(status);
    const std::string how = vmm_->describe_exit(status);
    supervisor_log("VMM %s", how.c_str());
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

  std::string vmm_output_hint() const { return VmmProcess::output_hint(rec_.runtime.vm_dir); }

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

  void flush_agent() {
    if (!agent_.flush()) on_agent_lost(agent_.why());
  }

  void on_agent_readable() {
    const auto read = agent_.fill();
    if (read == AgentChannel::Read::kAgain) return;
    if (read == AgentChannel::Read::kLost) {
      on_agent_lost(agent_.why());
      return;
    }
    Frame f;
    for (;;) {
      const auto res = agent_.next(f);
      if (res == proto::Decoder::Result::kNeedMore) break;
      if (res == proto::Decoder::Result::kError) {
        on_agent_lost(agent_.why());
        return;
      }
      on_agent_frame(f);
      if (phase_ == Phase::kDone) return;
    }
  }

  void on_agent_lost(const std::string& why) {
    supervisor_log("agent channel lost (%s)", why.c_str());
    agent_.close();
    hub_->fail_all_streams("EIO", "the agent channel closed (" + why + ")");
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
      deadlines_.agent_lost = monotonic_ms() + kAgentLostGraceMs;
    }
  }

  // Whether the VMM exits within ms (it is going down: a socket of it just
  // closed); if so its exit is recorded (on_vmm_exit: phase_ kDone,
  // failure_ names the exit).
  bool vmm_exits_within(int ms) {
    const int64_t until = monotonic_ms() + ms;
    for (;;) {
      if (auto status = vmm_->reap_vmm()) {
        on_vmm_exit(*status);
        return true;
      }
      if (monotonic_ms() >= until) return false;
      ::usleep(10 * 1000);
    }
  }

  // Before HELLO_OK nothing has been said on the channel that a fresh
  // HELLO does not replace (the agent starts a new session on every HELLO),
  // so a drop while the VM boots is not the end of the boot. A VMM going
  // down drops the socket just before it exits: its exit (status, OOM,
  // console) is the reason then, not the channel. Otherwise a new
  // connection: QEMU's chardev listens again once its client is gone.
  bool reconnect_during_boot(const std::string& why) {
    if (vmm_exits_within(kVmmExitGraceMs)) return false;
    if (boot_reconnects_ >= kMaxBootReconnects) return false;
    ++boot_reconnects_;
    supervisor_log("agent channel dropped during boot (%s); connecting again (%d of %d)",
                   why.c_str(), boot_reconnects_, kMaxBootReconnects);
    open_agent_channel();
    return agent_.connected();
  }

  void on_agent_frame(Frame& f) {
    if (f.stream != 0) {
      hub_->from_agent(f);
      return;
    }
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
        deadlines_.hello_again = 0;
        if (agent_.stale_frames() > 0) {
          supervisor_log("dropped %llu frames of an earlier agent connection",
                         static_cast<unsigned long long>(agent_.stale_frames()));
        }
        if (phase_ == Phase::kBooting) on_ready();
        return;
      }
      case Type::kError: {
        proto::ErrorMsg e;
        std::string err;
        proto::parse(f.payload, e, err);
        supervisor_log("agent error: %s", e.message.c_str());
        // Before our HELLO_OK only a refused version ends the boot; other
        // errors may answer bytes of an earlier connection, and the HELLO
        // is said again.
        if (phase_ == Phase::kBooting && (!agent_.handshaking() || e.code == "EUNSUPPORTED")) {
          failure_ = "the guest agent refused the handshake: " + e.message;
          shutdown_now();
        }
        return;
      }
      default:
        return;  // PONG and friends need nothing
    }
  }

  // ---- ready --------------------------------------------------------------

  void on_ready() {
    hub_->set_agent_version(agent_version_);
    hub_->listen(rec_.runtime.supervisor_socket);
    // Only now: right after fork the VMM's child has not switched yet.
    const nlohmann::json vmm_user = vmm_->user().confirm(vmm_->pid());
    lifetime_.run(monotonic_ms());
    rec_ = transition(*store_, rec_.id, VmState::kStarting, VmState::kRunning, [&](VmRecord& r) {
      record_lifetime(r);
      r.runtime.supervisor_pid = getpid();
      r.runtime.vmm_pid = vmm_->pid();
      r.runtime.started_at_ms = now_ms();
      r.runtime.agent_version = agent_version_;
      r.runtime.limits.cgroup = vmm_->cgroup().json();
      r.runtime.limits.privileges = privileges_;
      r.runtime.limits.vmm_user = vmm_user;
      r.runtime.last_error = "";
      // A restored VM loaded its snapshot's state once; its later starts
      // boot its disk. A hibernated one is awake.
      r.runtime.restore_state = "";
      r.runtime.paused_by = "";
    });
    phase_ = Phase::kRunning;
    supervisor_log("vm %s: running (agent %s)", rec_.id.c_str(), agent_version_.c_str());
    report(ready_report());
  }

  void report(const std::string& line) {
    if (args_.ready_fd < 0) return;
    proto::write_all(args_.ready_fd, line);
    ::close(args_.ready_fd);
    args_.ready_fd = -1;
  }

  // ---- pause --------------------------------------------------------------
  // The VMM stops the vCPUs; nothing else changes: the agent channel stays
  // connected (its bytes wait in the VMM until the guest runs again), no
  // deadline runs, and a client going away does not touch the VM.

  // by: kPausedByIdle when the idle policy pauses, "" for a client.
  int set_paused(bool pause, std::string& message, const std::string& by) {
    const VmState from = pause ? VmState::kRunning : VmState::kPaused;
    const VmState to = pause ? VmState::kPaused : VmState::kRunning;
    if (phase_ != Phase::kRunning || paused_ == pause) {
      message = "vm '" + rec_.id + "' is " + phase_name() + ": only a " + state_name(from) +
                " VM can be " + (pause ? "paused" : "resumed");
      return SMOLVM_ESTATE;
    }
    if (!vmm_->can_pause()) {
      message = "the VMM plugin " + rec_.runtime.vmm + " does not support pause";
      return SMOLVM_EUNSUPPORTED;
    }
    const char* verb = pause ? "pause" : "resume";
    const int64_t began = monotonic_ms();
    if (const int rc = vmm_->set_paused(pause, message); rc != 0) {
      message = std::string("cannot ") + verb + " vm '" + rec_.id + "': " + message;
      supervisor_log("%s", message.c_str());
      return rc;
    }
    const int64_t at = monotonic_ms();
    pause ? lifetime_.pause(at) : lifetime_.run(at);
    try {
      transition(*store_, rec_.id, from, to, [&](VmRecord& r) {
        record_lifetime(r);
        r.runtime.paused_by = pause ? by : "";
      });
    } catch (const Error& e) {
      // The record moved on (another process ended the VM): the vCPUs go
      // back to what the record said.
      std::string undo;
      vmm_->set_paused(!pause, undo);
      pause ? lifetime_.run(at) : lifetime_.pause(at);
      message = e.what();
      return e.status();
    }
    paused_ = pause;
    paused_by_ = pause ? by : "";
    supervisor_log("vm %s: %s%s (%lld ms)", rec_.id.c_str(), pause ? "paused" : "resumed",
                   by.empty() ? "" : (" (" + by + ")").c_str(),
                   static_cast<long long>(monotonic_ms() - began));
    return 0;
  }

  // ---- lifetime -----------------------------------------------------------
  // The spec's ttl and idle timeout (lifetime.h); the supervisor acts on
  // them with or without a client attached.

  // What `smolvm ls` shows of the ttl, as of now.
  void record_lifetime(VmRecord& r) const {
    const int64_t left = lifetime_.ttl_left(monotonic_ms());
    r.runtime.ttl_left_ms = left < 0 ? 0 : left;
    r.runtime.ttl_deadline_ms = left >= 0 && lifetime_.running() ? now_ms() + left : 0;
  }

  void on_lifetime(LifetimeClock::Due due) {
    if (due == LifetimeClock::Due::kNothing || paused_) return;
    const bool ttl = due == LifetimeClock::Due::kTtl;
    const std::string& action = ttl ? rec_.spec.on_ttl : rec_.spec.on_idle;
    lifetime_exit_ = ttl ? "its ttl of " + std::to_string(rec_.spec.ttl_s) + " s ran out"
                         : "idle for " + std::to_string(rec_.spec.idle_timeout_s) + " s";
    supervisor_log("vm %s: %s: %s", rec_.id.c_str(), lifetime_exit_.c_str(), action.c_str());
    if (action == "pause") {
      std::string why;
      if (set_paused(true, why, kPausedByIdle) != 0) {
        // Not again at every turn of the loop: the VM runs on, and says why.
        supervisor_log("cannot pause on idle (%s); the idle timeout is off for this boot",
                       why.c_str());
        lifetime_.stop_idle();
      }
      lifetime_exit_.clear();
      return;
    }
    if (action == "hibernate") {
      std::string why;
      if (begin_hibernation(why) != 0) {
        supervisor_log("cannot hibernate on idle (%s); the idle timeout is off for this boot",
                       why.c_str());
        lifetime_.stop_idle();
      }
      lifetime_exit_.clear();  // said once hibernated (end_snapshot)
      return;
    }
    if (action == "delete") {
      delete_at_end_ = true;
      begin_stop(0, /*force=*/true);
      return;
    }
    begin_stop(kLifetimeStopTimeoutMs, /*force=*/false);
  }

  // ---- snapshot -----------------------------------------------------------
  // The VM stands still from the pause to the resume: its state is saved,
  // and the VMM, having flushed and released the disk, leaves it as the
  // guest last wrote it for the copy. The client synced the guest's file
  // systems first and owns the folder (it removes it if this fails).
  //
  // The state is written on a thread of its own (saver_), so this loop
  // answers meanwhile: a stop is taken at once and carried out once the
  // state is written; a pause, resume or second snapshot is refused with
  // EBUSY naming the snapshot (the client library waits for it and tries
  // again); a new command or file transfer waits, unanswered, until the
  // VM runs again. Nothing else calls the VMM while the thread does.

  struct Saving {
    uint64_t client = 0;  // who asked (ClientHub::snapshot_answered); 0: the VM's policy
    proto::VmSnapshot request;
    // The VM hibernates: its state goes into its own folder, its disk
    // stays, and it stops.
    bool hibernate = false;
    bool was_paused = false;
    int64_t began = 0;
    // Written by the thread, read after it ended.
    int rc = 0;
    proto::VmSnapshotted done;
    std::string message;
  };

  int begin_snapshot(uint64_t client, const proto::VmSnapshot& request, std::string& message,
                     bool hibernate = false) {
    if (saving_) return busy_saving(message);
    if (phase_ != Phase::kRunning) {
      message = "vm '" + rec_.id + "' is " + phase_name() +
                ": only a running or paused VM can be snapshotted";
      return SMOLVM_ESTATE;
    }
    if (!vmm_->can_snapshot()) {
      message = "the VMM plugin " + rec_.runtime.vmm +
                " cannot save a VM's state (it lacks save_state, plugin ABI 1.5)";
      return SMOLVM_EUNSUPPORTED;
    }
    const bool was_paused = paused_;
    // Paused in the store too, by "snapshot": `ls` and `inspect` say so,
    // and a client that reads it waits for the snapshot (Runtime::settled).
    if (!was_paused) {
      if (const int rc = set_paused(true, message, kPausedBySnapshot); rc != 0) return rc;
    }
    saving_.emplace();
    saving_->client = client;
    saving_->request = request;
    saving_->began = monotonic_ms();
    saving_->hibernate = hibernate;
    saving_->was_paused = was_paused;
    try {
      saver_.start([this] {
        Saving& w = *saving_;
        try {
          w.rc = save_into(w.request.dir, w.done, w.message, /*with_disk=*/!w.hibernate);
        } catch (const std::exception& e) {
          w.rc = SMOLVM_ERROR;
          w.message = e.what();
        }
      });
    } catch (const Error& e) {
      saving_.reset();
      message = e.what();
      std::string why;
      if (!was_paused) set_paused(false, why, "");
      return e.status();
    }
    return 0;
  }

  int busy_saving(std::string& message) const {
    message = "vm '" + rec_.id + "' is being snapshotted (into " + saving_->request.dir + ", " +
              std::to_string(monotonic_ms() - saving_->began) +
              " ms so far); try again once it is written";
    return SMOLVM_EBUSY;
  }

  // The thread has ended (or the VM did, and it is waited for): the VM
  // runs again or stops as asked, the client gets its answer, and what
  // waited goes on.
  void end_snapshot() {
    saver_.join();
    Saving job = std::move(*saving_);
    saving_.reset();
    int rc = job.rc;
    std::string& message = job.message;
    if (phase_ != Phase::kRunning) {
      // The VMM died meanwhile (on_vmm_exit recorded why).
      if (rc == 0) {
        rc = SMOLVM_EIO;
        message = "vm '" + rec_.id + "' ended while its snapshot was written";
      }
    } else if (rc == 0 && job.request.stop) {
      if (job.hibernate) {
        // Recorded with the stop (begin_stop): its next start restores it.
        hibernated_state_ = snapshot_state_file(job.request.dir);
        lifetime_exit_ = "idle for " + std::to_string(rec_.spec.idle_timeout_s) + " s: hibernated";
      }
      // Nothing the guest would write on its way down belongs in the
      // snapshot, and its disk is already flushed: off at once.
      begin_stop(0, /*force=*/true);
    } else if (!job.was_paused) {
      std::string why;
      if (set_paused(false, why, "") != 0 && !vmm_exits_within(kVmmExitGraceMs)) {
        // The VM cannot run again: better stopped than stuck. (A VMM that
        // died half-way, killed or crashed, was recorded above: the VM
        // failed, as after any VMM death.)
        supervisor_log("cannot resume vm %s after its snapshot (%s); stopping it", rec_.id.c_str(),
                       why.c_str());
        if (rc == 0) {
          rc = SMOLVM_EIO;
          message = "the snapshot was written but vm '" + rec_.id + "' could not run again (" +
                    why + "); it was stopped";
        }
        begin_stop(0, /*force=*/true);
      }
    }
    if (job.hibernate && rc != 0) {
      // It runs on (or has ended); not again at every idle period.
      remove_tree(job.request.dir);
      lifetime_.stop_idle();
    }
    job.done.duration_ms = static_cast<uint32_t>(monotonic_ms() - job.began);
    supervisor_log("vm %s: %s into %s %s (%u ms)", rec_.id.c_str(),
                   job.hibernate ? "hibernation" : "snapshot", job.request.dir.c_str(),
                   rc == 0 ? "written" : ("failed: " + message).c_str(), job.done.duration_ms);
    if (job.client != 0) hub_->snapshot_answered(job.client, rc, job.done, message);
    if (deferred_stop_) {
      const auto [timeout_ms, force] = *deferred_stop_;
      deferred_stop_.reset();
      begin_stop(timeout_ms, force);
    }
    hub_->release_held();
  }

  // A VM's idle policy hibernates it: saved into its own folder as a
  // snapshot is (its disk stays in place), then stopped.
  int begin_hibernation(std::string& message) {
    const std::string dir = hibernation_dir(rec_.runtime.vm_dir);
    remove_tree(dir);  // what a hibernation killed half-way left
    if (::mkdir(dir.c_str(), 0700) != 0) {
      message = "cannot create " + dir + ": " + std::strerror(errno);
      return SMOLVM_EIO;
    }
    proto::VmSnapshot request;
    request.dir = dir;
    request.stop = true;
    const int rc = begin_snapshot(0, request, message, /*hibernate=*/true);
    if (rc != 0) remove_tree(dir);
    return rc;
  }

  // with_disk: a copy of the disk beside the state (a snapshot); without,
  // the disk stays as the VMM left it (a hibernation).
  int save_into(const std::string& dir, proto::VmSnapshotted& done, std::string& message,
                bool with_disk) {
    const std::string state = snapshot_state_file(dir);
    const int fd = ::open(state.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      message = "cannot create " + state + ": " + std::strerror(errno);
      return SMOLVM_EIO;
    }
    int rc = vmm_->save_state(fd, message);
    struct stat st {};
    if (rc == 0 && (::fsync(fd) != 0 || ::fstat(fd, &st) != 0)) {
      message = "cannot sync " + state + ": " + std::strerror(errno);
      rc = SMOLVM_EIO;
    }
    ::close(fd);
    // A part written is removed at once, not when the client removes the
    // folder: on a full disk it holds the space the store needs to record
    // the VM running again.
    if (rc != 0) {
      ::unlink(state.c_str());
      message = "cannot save the state of vm '" + rec_.id + "': " + message;
      return rc;
    }
    done.state_bytes = static_cast<uint64_t>(st.st_size);
    if (!with_disk) return 0;
    try {
      done.disk_bytes = copy_file_synced(rec_.runtime.disk_path, snapshot_disk_file(dir));
    } catch (const Error& e) {
      ::unlink(state.c_str());
      message = e.what();
      return e.status();
    }
    return 0;
  }

  std::string phase_name() const {
    return phase_ == Phase::kBooting    ? "starting"
           : phase_ == Phase::kStopping ? "stopping"
           : phase_ == Phase::kDone     ? "stopped"
                                    : state_name(paused_ ? VmState::kPaused : VmState::kRunning);
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
      supervisor_log("vm %s: detached from its owner; it now lives until stopped", rec_.id.c_str());
      return;
    }
    // EOF (or an error): the owner ended without detaching, however it
    // ended. The VM goes away with it, exactly as `smolvm rm` would.
    supervisor_log("vm %s: its owner went away without detaching; deleting the VM",
                   rec_.id.c_str());
    delete_at_end_ = true;
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
      supervisor_log("cannot delete vm %s: %s", rec_.id.c_str(), e.what());
    }
  }

  // ---- stop ---------------------------------------------------------------

  void begin_stop(uint32_t timeout_ms, bool force) {
    if (phase_ == Phase::kStopping || phase_ == Phase::kDone) return;
    if (saving_) {
      // After the snapshot (end_snapshot): the VMM is busy writing it.
      // The most urgent of the stops asked meanwhile wins.
      if (deferred_stop_) {
        timeout_ms = std::min(timeout_ms, deferred_stop_->first);
        force = force || deferred_stop_->second;
      }
      deferred_stop_ = {timeout_ms, force};
      supervisor_log("stop asked while a snapshot is written: once it is written");
      return;
    }
    if (phase_ == Phase::kBooting) {
      // A stop that arrives while the VM boots ends the boot: the VM is
      // "stopped" (not "failed") and the waiting start says why.
      stopped_while_booting_ = true;
      supervisor_log("stopped while booting");
      shutdown_now();
      return;
    }
    try {
      transition(*store_, rec_.id, paused_ ? VmState::kPaused : VmState::kRunning,
                 VmState::kStopping, [&](VmRecord& r) {
                   if (hibernated_state_.empty()) return;
                   r.runtime.restore_state = hibernated_state_;
                   r.runtime.paused_by = kHibernated;
                 });
    } catch (const std::exception& e) {
      supervisor_log("cannot record stopping: %s", e.what());
    }
    phase_ = Phase::kStopping;
    // A paused guest cannot shut itself down: it runs again for that.
    if (paused_ && !force) {
      std::string why;
      if (vmm_->set_paused(false, why) != 0) {
        supervisor_log("cannot resume the paused VM to shut it down (%s); forcing it off",
                       why.c_str());
        force = true;
      }
    }
    paused_ = false;
    if (agent_.connected() && !force) {
      send_to_agent(Type::kShutdown, 0, 0, "{}");
      deadlines_.stop = monotonic_ms() + timeout_ms;
      supervisor_log("asked the guest to shut down (deadline %u ms)", timeout_ms);
    } else {
      force_kill();
    }
  }

  void force_kill() {
    if (!vmm_ || vmm_->exited() || !vmm_->launched()) return;
    vmm_->kill();
    deadlines_.kill = monotonic_ms() + kForceKillGraceMs;
  }

  // Ends the VM now (failure paths): kill the VMM and wait for it.
  void shutdown_now() {
    if (vmm_) vmm_->kill_and_wait(kForceKillGraceMs);
    phase_ = Phase::kDone;
  }

  // ---- teardown -----------------------------------------------------------
  // What is removed here and not by the VMM's own parts is in teardown.h,
  // shared with `smolvm-supervisor --cleanup` for a supervisor that died.

  int finish() {
    // A VM that ended while its state was written: the thread ends with
    // its VMM, and the snapshot's client hears why.
    if (saving_) end_snapshot();
    const bool failed = !failure_.empty();
    report(failed ? error_report(failure_status_, failure_)
           : stopped_while_booting_
               ? error_report(SMOLVM_ESTATE, "the VM was stopped while it was starting")
               : error_report(SMOLVM_ERROR, "the VM stopped"));
    if (hub_) hub_->close_all();
    agent_.close();
    if (vmm_) {
      vmm_->release();
      vmm_->cgroup().remove();
    }
    if (claimed_) remove_vm_sockets(plugins_, rec_);
    if (network_up_ && store_) {
      try {
        teardown_vm_network(*network_, *store_, rec_);
      } catch (const std::exception& e) {
        supervisor_log("%s", e.what());
        if (failure_.empty()) failure_ = e.what();
      }
    }
    if (store_ && claimed_) {
      try {
        // A client that found this process stuck may have recorded the end
        // first; then its record stands.
        record_end(*store_, rec_.id,
                   {failed ? VmState::kFailed : VmState::kStopped, failure_,
                    guest_shutdown_ ? "the guest shut down" : lifetime_exit_});
      } catch (const std::exception& e) {
        supervisor_log("cannot record the VM's end: %s", e.what());
      }
    }
    supervisor_log("vm %s: %s", rec_.id.c_str(),
                   failed ? ("failed: " + failure_).c_str() : "stopped");
    return failed ? 1 : 0;
  }

  SupervisorArgs args_;
  PluginRegistry plugins_;
  std::unique_ptr<Store> store_;
  VmRecord rec_;
  bool claimed_ = false;  // the store said "starting": the VM is ours

  // The parts.
  std::unique_ptr<VmmProcess> vmm_;
  AgentChannel agent_;
  std::unique_ptr<ClientHub> hub_;
  std::unique_ptr<NetworkBackend> network_;
  bool network_up_ = false;
  nlohmann::json privileges_;
  int sigfd_ = -1;

  // The phases and what ended them.
  Phase phase_ = Phase::kBooting;
  Deadlines deadlines_;
  std::string agent_version_;
  int boot_reconnects_ = 0;
  std::string agent_lost_why_;
  uint32_t hello_epoch_ = 0;
  bool paused_ = false;  // running, with the vCPUs stopped (state paused)
  bool guest_shutdown_ = false;
  bool stopped_while_booting_ = false;  // a stop ended the boot: "stopped"
  // Delete the VM once it has stopped: its owner went away, or its
  // lifetime policy says so.
  bool delete_at_end_ = false;
  // A snapshot being written (its state on saver_'s thread), and a stop
  // asked meanwhile ({timeout_ms, force}), carried out once it is written.
  std::optional<Saving> saving_;
  BackgroundJob saver_;
  std::optional<std::pair<uint32_t, bool>> deferred_stop_;
  // The state file of a hibernation, recorded with the stop.
  std::string hibernated_state_;
  LifetimeClock lifetime_;
  std::string paused_by_;      // while paused: kPausedByIdle or "" (a client)
  std::string lifetime_exit_;  // why the lifetime policy ended the VM
  std::string failure_;
  int failure_status_ = SMOLVM_ERROR;  // the smolvm_status reported with failure_
};

}  // namespace

int run_supervisor(const SupervisorArgs& args) {
  Supervisor s(args);
  return s.run();
}

}  // namespace smolvm
