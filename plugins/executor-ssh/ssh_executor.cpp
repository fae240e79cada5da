// executor-ssh: runs commands and moves files over SSH to the guest's sshd
// on its private IP, for images and tools that want SSH. One persistent
// connection per handle, many channels on it; the guest's host key must
// match the one pinned in the plugin's data for the VM at first boot
// (learned through the agent by the vm_ready hook, vm_setup.h), or nothing
// is sent.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "plugins/executor-ssh/remote.h"
#include "plugins/executor-ssh/session.h"
#include "plugins/executor-ssh/vm_setup.h"
#include "smolvm/plugin_sdk.h"
#include "smolvm/sdk/json.h"
#include "smolvm/sdk/path.h"

namespace {

using smolvm::sdk::set_error;

// The plugin's tag: its slot functions take it first (smolvm/sdk/vtables.h).
struct Ssh {};

using smolvm_ssh::Session;
using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 64 << 10;
// How long kill and close wait for the wrapper to report its process group.
constexpr int kPgidWaitMs = 10000;

int32_t ms_until(Clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<int32_t>(std::max<int64_t>(0, std::min<int64_t>(ms, INT32_MAX)));
}

struct Conn {
  smolvm_ssh::Target target;
  uint32_t timeout_ms = 5000;
  std::shared_ptr<Session> session;
  bool said_no_cgroup = false;  // the fallback to process groups is told once

  // The current session, or a new one if it was lost (sshd restarted, the
  // guest's network blipped). Execs still on a lost session keep it alive
  // until they are freed.
  int live(std::shared_ptr<Session>& out, std::string& error) {
    if (!session || session->broken()) {
      auto s = std::make_shared<Session>();
      const int rc = s->open(target, timeout_ms, error);
      if (rc != 0) return rc;
      session = std::move(s);
    }
    out = session;
    return 0;
  }

  // Runs a helper command, on a fresh connection once if the current one
  // turns out to be dead before the command produced anything.
  int run(const std::string& cmd, std::string_view input,
          const std::function<int(const char*, size_t)>& out, std::string& error,
          uint32_t total_ms = 0) {
    for (int attempt = 0;; ++attempt) {
      std::shared_ptr<Session> s;
      if (const int rc = live(s, error); rc != 0) return rc;
      bool produced = false;
      const int rc = s->run(
          cmd, input,
          [&](const char* d, size_t n) {
            produced = true;
            return out(d, n);
          },
          error, total_ms);
      if (rc >= 0 || !s->broken() || produced || attempt > 0) return rc;
    }
  }
};

struct Exec {
  Conn* conn = nullptr;
  std::shared_ptr<Session> s;
  LIBSSH2_CHANNEL* ch = nullptr;
  smolvm_ssh::PgidFilter stderr_filter;
  std::string cgroup;  // the command's own cgroup in the guest
  struct Chunk {
    int type;
    std::string data;
  };
  std::deque<Chunk> pending;  // output read while doing something else
  std::string data;           // bytes of the last event handed out
  Clock::time_point started;
  Clock::time_point deadline = Clock::time_point::max();
  bool closed = false;  // sshd closed the channel: the exit status is here
  bool done = false;    // the exit event was handed out
  bool timed_out = false;
  bool stdin_closed = false;
  int first_stream = 0;  // alternates, so neither stream starves the other
};

std::string lost(const Exec& ex) {
  return "lost the SSH connection to vm '" + ex.conn->target.vm_id +
         "' while the command ran: " + ex.s->broken_reason();
}

// Reads what has arrived on both streams into ex.pending; notices the end.
// Returns 0 or a libssh2 error.
int pump(Exec& ex, bool& progress) {
  char buf[kReadChunk];
  progress = false;
  ex.first_stream ^= 1;
  for (int i = 0; i < 2; ++i) {
    const bool err_stream = (i ^ ex.first_stream) == 1;
    const ssize_t n =
        libssh2_channel_read_ex(ex.ch, err_stream ? SSH_EXTENDED_DATA_STDERR : 0, buf, sizeof buf);
    if (n == LIBSSH2_ERROR_EAGAIN || n == 0) continue;
    if (n < 0) return static_cast<int>(n);
    progress = true;
    if (!err_stream) {
      ex.pending.push_back({SMOLVM_EVENT_STDOUT, std::string(buf, static_cast<size_t>(n))});
    } else if (std::string s = ex.stderr_filter.feed({buf, static_cast<size_t>(n)}); !s.empty()) {
      ex.pending.push_back({SMOLVM_EVENT_STDERR, std::move(s)});
    }
  }
  if (progress || !libssh2_channel_eof(ex.ch)) return 0;
  if (std::string s = ex.stderr_filter.flush(); !s.empty()) {
    ex.pending.push_back({SMOLVM_EVENT_STDERR, std::move(s)});
  }
  const int rc = libssh2_channel_wait_closed(ex.ch);
  if (rc == 0) ex.closed = true;
  return rc == LIBSSH2_ERROR_EAGAIN ? 0 : rc;
}

// Pumps until the wrapper has reported the command's process group.
int await_pgid(Exec& ex, smolvm_plugin_error* err) {
  const auto until = Clock::now() + std::chrono::milliseconds(kPgidWaitMs);
  while (!ex.stderr_filter.settled() && !ex.closed) {
    bool progress = false;
    if (const int rc = pump(ex, progress); rc != 0) {
      ex.s->check_fatal(rc);
      return set_error(err, SMOLVM_EIO, lost(ex));
    }
    if (progress) continue;
    if (Clock::now() >= until) break;
    ex.s->wait(ms_until(until));
  }
  return 0;
}

// Signals the command from a second channel: SIGKILL reaches its cgroup
// (everything it started) and its process group, other signals its process
// group, as a terminal would.
int signal_group(Exec& ex, int signal, smolvm_plugin_error* err) {
  if (const int rc = await_pgid(ex, err); rc != 0) return rc;
  if (ex.closed) return 0;  // it ended meanwhile
  if (ex.stderr_filter.pgid() <= 1) {
    return set_error(err, SMOLVM_EIO,
                     "cannot signal the command in vm '" + ex.conn->target.vm_id +
                         "': its shell never reported a process group (is root's shell POSIX?)");
  }
  const long pgid = ex.stderr_filter.pgid();
  const std::string cmd = signal == SIGKILL
                              ? smolvm_ssh::build_group_kill_command(ex.cgroup, pgid)
                              : "kill -" + std::to_string(signal) + " -- -" + std::to_string(pgid);
  std::string error;
  const int rc = ex.s->run(
      cmd, "", [](const char*, size_t) { return 0; }, error);
  if (rc < 0) return set_error(err, SMOLVM_EIO, error);
  // Other non-zero exits: the group is gone already, which is what was
  // wanted.
  if (signal == SIGKILL && rc == 3 && !ex.conn->said_no_cgroup) {
    ex.conn->said_no_cgroup = true;
    std::fprintf(stderr,
                 "smolvm: executor-ssh: vm '%s' has no command cgroups (no cgroup2 or no %s): a "
                 "timeout or kill reaches only the command's process group\n",
                 ex.conn->target.vm_id.c_str(), smolvm_ssh::kGuestAgent);
  }
  return 0;
}

// Kills the command's group once its time is up, as the agent does.
int enforce_deadline(Exec& ex, smolvm_plugin_error* err) {
  if (ex.timed_out || Clock::now() < ex.deadline) return 0;
  ex.timed_out = true;
  return signal_group(ex, SIGKILL, err);
}

// sshd is reached on the guest's IP, so a VM needs a network for it; the
// VM's key pair is made with ssh-keygen at create.
void probe(Ssh, char* out_json, size_t cap, smolvm_plugin_error*) {
  const bool keygen = !smolvm::sdk::which("ssh-keygen").empty();
  const std::string json =
      std::string("{\"available\":") + (keygen ? "true" : "false") +
      ",\"reason\":" + smolvm::sdk::json_quote(keygen ? "" : "ssh-keygen not found on PATH") +
      ",\"fix\":\"apt-get install openssh-client\",\"rank\":10,\"needs_network\":true}";
  smolvm::sdk::copy_out(out_json, cap, json, "probe JSON");
}

int connect(Ssh, void** out_conn, const smolvm_executor_target* target, uint32_t timeout_ms,
            smolvm_plugin_error* err) {
  if (!target || !target->guest_ip || !*target->guest_ip) {
    return set_error(
        err, SMOLVM_EINVAL,
        "executor-ssh needs the VM's IP: create the VM with a network (network != none)");
  }
  if (!target->vm_dir || !*target->vm_dir) {
    return set_error(err, SMOLVM_EINVAL, "executor-ssh needs the VM's folder (its SSH key)");
  }
  auto conn = std::make_unique<Conn>();
  conn->target.vm_id = target->vm_id ? target->vm_id : "";
  conn->target.ip = target->guest_ip;
  // A host before 1.4 has no data_json: it pinned the key in ssh_host_key.
  smolvm_ssh::VmData data;
  if (target->struct_size >= offsetof(smolvm_executor_target, data_json) + sizeof(const char*)) {
    data = smolvm_ssh::parse_vm_data(target->data_json);
  } else if (target->struct_size >=
                 offsetof(smolvm_executor_target, ssh_host_key) + sizeof(const char*) &&
             target->ssh_host_key) {
    data.host_key = target->ssh_host_key;
  }
  conn->target.key_path = smolvm_ssh::key_path_of(data, target->vm_dir);
  conn->target.host_key = data.host_key;
  conn->timeout_ms = timeout_ms;
  std::shared_ptr<Session> s;
  std::string error;
  if (const int rc = conn->live(s, error); rc != 0) return set_error(err, rc, error);
  *out_conn = conn.release();
  return 0;
}

void disconnect(Ssh, void* conn) { delete static_cast<Conn*>(conn); }

// The VM hooks (plugin ABI 1.4): each reads the plugin's data for the VM,
// changes it and hands it back through set_data.
void store_data(const smolvm_executor_vm* vm, const smolvm_ssh::VmData& data) {
  smolvm_plugin_error err{};
  if (const int rc = vm->set_data(vm->host, smolvm_ssh::to_json(data).c_str(), &err); rc != 0) {
    throw smolvm::sdk::Error(rc, std::string("storing the SSH data: ") + err.message);
  }
}

void vm_created(Ssh, const smolvm_executor_vm* vm, smolvm_plugin_error*) {
  smolvm_ssh::VmData data = smolvm_ssh::parse_vm_data(vm->data_json);
  smolvm_ssh::make_key_pair(*vm, data);
  store_data(vm, data);
}

void vm_booting(Ssh, const smolvm_executor_vm* vm, char* out_args, size_t cap,
                smolvm_plugin_error*) {
  smolvm_ssh::VmData data = smolvm_ssh::parse_vm_data(vm->data_json);
  const std::string args = smolvm_ssh::boot_args(*vm, data);
  smolvm::sdk::copy_out(out_args, cap, args, "kernel arguments");
  store_data(vm, data);
}

void vm_ready(Ssh, const smolvm_executor_vm* vm, smolvm_plugin_error*) {
  smolvm_ssh::VmData data = smolvm_ssh::parse_vm_data(vm->data_json);
  if (!data.host_key.empty()) return;
  smolvm_ssh::pin_host_key(*vm, data);
  store_data(vm, data);
}

int exec_start(Ssh, void** out_exec, void* conn_ptr, const smolvm_executor_request* req,
               smolvm_plugin_error* err) {
  auto& conn = *static_cast<Conn*>(conn_ptr);
  smolvm_ssh::RemoteRequest r;
  for (size_t i = 0; req->argv && i < req->argc; ++i) r.argv.emplace_back(req->argv[i]);
  if (req->command) r.command = req->command;
  for (size_t i = 0; req->env && i < req->env_count; ++i) r.env.emplace_back(req->env[i]);
  if (req->cwd) r.cwd = req->cwd;
  if (req->struct_size >= offsetof(smolvm_executor_request, shell) + sizeof req->shell &&
      req->shell) {
    r.login_shell = std::string_view(req->shell) != "raw";
  }
  // Commands run as the SSH login (root), on pipes: another user or a
  // terminal is the agent executor's, and refused rather than ignored.
  if (req->struct_size >= offsetof(smolvm_executor_request, term) + sizeof req->term) {
    if (req->user && *req->user) {
      return set_error(err, SMOLVM_EUNSUPPORTED,
                       std::string("executor ssh runs commands as root only, not as user '") +
                           req->user + "' (use the agent executor)");
    }
    if (req->pty_rows || req->pty_cols) {
      return set_error(err, SMOLVM_EUNSUPPORTED,
                       "executor ssh runs commands without a terminal (use the agent executor)");
    }
  }
  r.cgroup = smolvm_ssh::new_cgroup_name();
  const std::string cmd = smolvm_ssh::build_remote_command(r);

  auto ex = std::make_unique<Exec>();
  ex->conn = &conn;
  ex->cgroup = r.cgroup;
  ex->started = Clock::now();
  if (req->timeout_ms > 0) ex->deadline = ex->started + std::chrono::milliseconds(req->timeout_ms);
  std::string error;
  // A connection found dead here is replaced once, transparently: nothing
  // of this command has run yet.
  for (int attempt = 0; !ex->ch; ++attempt) {
    if (const int rc = conn.live(ex->s, error); rc != 0) return set_error(err, rc, error);
    ex->ch = ex->s->open_exec(cmd, error);
    if (!ex->ch && (!ex->s->broken() || attempt > 0)) return set_error(err, SMOLVM_EIO, error);
  }
  *out_exec = ex.release();
  return 0;
}

int exit_event(Exec& ex, smolvm_executor_event* out) {
  char* sig_name = nullptr;
  size_t sig_len = 0;
  libssh2_channel_get_exit_signal(ex.ch, &sig_name, &sig_len, nullptr, nullptr, nullptr, nullptr);
  const int sig = sig_name ? smolvm_ssh::signal_from_name({sig_name, sig_len}) : 0;
  if (sig_name) libssh2_free(ex.s->raw(), sig_name);
  *out = smolvm_executor_event{};
  out->type = SMOLVM_EVENT_EXIT;
  out->signal = sig;
  out->exit_code = sig ? 128 + sig : libssh2_channel_get_exit_status(ex.ch);
  out->timed_out = ex.timed_out ? 1 : 0;
  out->duration_us = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - ex.started).count());
  ex.done = true;
  ex.s->free_channel(ex.ch);
  ex.ch = nullptr;
  return 0;
}

int exec_next_event(Ssh, void* exec_ptr, smolvm_executor_event* out, int32_t wait_ms,
                    smolvm_plugin_error* err) {
  auto& ex = *static_cast<Exec*>(exec_ptr);
  if (ex.done) return set_error(err, SMOLVM_EDONE, "the command has exited");
  const auto until =
      wait_ms < 0 ? Clock::time_point::max() : Clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    if (!ex.pending.empty()) {
      ex.data = std::move(ex.pending.front().data);
      *out = smolvm_executor_event{};
      out->type = ex.pending.front().type;
      ex.pending.pop_front();
      out->data = reinterpret_cast<const uint8_t*>(ex.data.data());
      out->len = ex.data.size();
      return 0;
    }
    if (ex.closed) return exit_event(ex, out);
    if (const int rc = enforce_deadline(ex, err); rc != 0) {
      ex.done = true;
      return rc;
    }
    bool progress = false;
    if (const int rc = pump(ex, progress); rc != 0) {
      ex.s->check_fatal(rc);
      ex.done = true;
      return set_error(err, SMOLVM_EIO,
                       ex.s->broken() ? lost(ex) : "SSH channel error: " + ex.s->last_error());
    }
    if (progress || ex.closed) continue;
    if (ex.s->broken()) {
      ex.done = true;
      return set_error(err, SMOLVM_EIO, lost(ex));
    }
    const auto next = std::min(until, ex.timed_out ? Clock::time_point::max() : ex.deadline);
    if (wait_ms >= 0 && Clock::now() >= until) {
      return set_error(err, SMOLVM_ETIMEOUT, "no event within " + std::to_string(wait_ms) + " ms");
    }
    ex.s->wait(next == Clock::time_point::max() ? -1 : ms_until(next));
  }
}

int exec_write_stdin(Ssh, void* exec_ptr, const uint8_t* data, size_t len,
                     smolvm_plugin_error* err) {
  auto& ex = *static_cast<Exec*>(exec_ptr);
  if (ex.stdin_closed) return set_error(err, SMOLVM_ESTATE, "stdin is already closed");
  size_t off = 0;
  while (off < len && !ex.closed && !ex.done) {
    const ssize_t n =
        libssh2_channel_write(ex.ch, reinterpret_cast<const char*>(data) + off, len - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n != LIBSSH2_ERROR_EAGAIN) {
      if (ex.s->check_fatal(static_cast<int>(n))) return set_error(err, SMOLVM_EIO, lost(ex));
      return 0;  // the command stopped reading: like a pipe whose reader left
    }
    // The guest's window is full: take in its output meanwhile, so a
    // command echoing its input cannot deadlock against us.
    bool progress = false;
    if (const int rc = pump(ex, progress); rc != 0 && ex.s->check_fatal(rc)) {
      return set_error(err, SMOLVM_EIO, lost(ex));
    }
    if (const int rc = enforce_deadline(ex, err); rc != 0) return rc;
    if (!progress) ex.s->wait(ex.timed_out ? -1 : ms_until(ex.deadline));
  }
  return 0;
}

int exec_close_stdin(Ssh, void* exec_ptr, smolvm_plugin_error* err) {
  auto& ex = *static_cast<Exec*>(exec_ptr);
  if (ex.stdin_closed || ex.done || ex.closed) return 0;
  ex.stdin_closed = true;
  int rc;
  while ((rc = libssh2_channel_send_eof(ex.ch)) == LIBSSH2_ERROR_EAGAIN) ex.s->wait(-1);
  if (rc != 0 && ex.s->check_fatal(rc)) return set_error(err, SMOLVM_EIO, lost(ex));
  return 0;
}

int exec_kill(Ssh, void* exec_ptr, int signal, smolvm_plugin_error* err) {
  auto& ex = *static_cast<Exec*>(exec_ptr);
  if (ex.done || ex.closed) return 0;
  return signal_group(ex, signal, err);
}

void exec_free(Ssh, void* exec_ptr) {
  auto* ex = static_cast<Exec*>(exec_ptr);
  if (!ex) return;
  if (ex->ch) {
    // A stream dropped before its exit: the command dies with it.
    if (!ex->done && !ex->closed && !ex->s->broken()) {
      smolvm_plugin_error ignored{};
      signal_group(*ex, SIGKILL, &ignored);
    }
    ex->s->free_channel(ex->ch);
  }
  delete ex;
}

// Writes a guest file with cat, within total_ms (0: none) for the whole
// command; a write stopped by the limit closes the channel.
int write_file_command(Conn& conn, const char* guest_path, std::string_view data, uint32_t mode,
                       uint32_t total_ms, smolvm_plugin_error* err) {
  char octal[16];
  std::snprintf(octal, sizeof octal, "%o", mode);
  const std::string cmd = "p=" + smolvm_ssh::shell_quote(guest_path) +
                          "; umask 077; mkdir -p -- \"$(dirname -- \"$p\")\" && cat > \"$p\" && "
                          "chmod " +
                          octal + " -- \"$p\"";
  std::string error;
  const int rc = conn.run(
      cmd, data, [](const char*, size_t) { return 0; }, error, total_ms);
  if (rc == 0) return 0;
  return set_error(err, rc < 0 ? rc : SMOLVM_EIO,
                   std::string("cannot write ") + guest_path + ": " + error);
}

int file_write(Ssh, void* conn_ptr, const char* guest_path, const uint8_t* data, size_t len,
               uint32_t mode, smolvm_plugin_error* err) {
  return write_file_command(*static_cast<Conn*>(conn_ptr), guest_path,
                            {reinterpret_cast<const char*>(data), len}, mode, 0, err);
}

// The SSH session sends stdin from one buffer, so the source is drained
// first (core has bounded its size); the time limit covers the command.
int file_write_bounded(Ssh, void* conn_ptr, const char* guest_path, smolvm_bytes_source source,
                       void* ctx, uint32_t mode, uint32_t timeout_ms, smolvm_plugin_error* err) {
  std::string data;
  char buf[65536];
  for (;;) {
    size_t n = 0;
    const int rc = source(ctx, reinterpret_cast<uint8_t*>(buf), sizeof buf, &n);
    if (rc != 0) {
      return set_error(err, rc, std::string("reading the data for ") + guest_path + " failed");
    }
    if (n == 0) break;
    data.append(buf, std::min(n, sizeof buf));
  }
  return write_file_command(*static_cast<Conn*>(conn_ptr), guest_path, data, mode, timeout_ms, err);
}

// Reads a guest file with cat (a stream as fast as the channel), until its
// end, a non-zero return of sink, or timeout_ms (0: none). The SDK serves
// file_read through it.
int read_file_stream(Conn& conn, const char* guest_path,
                     const std::function<int(const uint8_t*, size_t)>& sink, uint32_t timeout_ms,
                     smolvm_plugin_error* err) {
  // Distinct exit codes tell "absent" and "a folder" from a failed read.
  const std::string cmd = "p=" + smolvm_ssh::shell_quote(guest_path) +
                          "; [ -e \"$p\" ] || { echo 'no such file or directory' >&2; exit 44; }; "
                          "[ -d \"$p\" ] && { echo 'is a directory' >&2; exit 45; }; "
                          "exec cat -- \"$p\"";
  std::string error;
  const int rc = conn.run(
      cmd, "",
      [&](const char* d, size_t n) { return sink(reinterpret_cast<const uint8_t*>(d), n); }, error,
      timeout_ms);
  if (rc == 0) return 0;
  const int status = rc < 0     ? rc
                     : rc == 44 ? SMOLVM_ENOTFOUND
                     : rc == 45 ? SMOLVM_EINVAL
                                : SMOLVM_EIO;
  return set_error(err, status, std::string("cannot read ") + guest_path + ": " + error);
}

int file_read_bounded(Ssh, void* conn_ptr, const char* guest_path, smolvm_bytes_sink sink,
                      void* ctx, uint32_t timeout_ms, smolvm_plugin_error* err) {
  return read_file_stream(
      *static_cast<Conn*>(conn_ptr), guest_path,
      [&](const uint8_t* d, size_t n) { return sink(ctx, d, n); }, timeout_ms, err);
}

}  // namespace

SMOLVM_PLUGIN_DEFINE_CXX(
    executor, ssh, SMOLVM_PLUGIN_VERSION,
    "OpenSSH in the guest, over its private IP, with a per-VM key and a pinned host key", Ssh)
