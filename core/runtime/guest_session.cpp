#include "core/runtime/guest_session.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <filesystem>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/runtime/request_limits.h"
#include "protocol/fd_io.h"
#include "protocol/shell_words.h"

namespace smolvm {
namespace {

void check(int rc, const smolvm_plugin_error& err) {
  if (rc != 0) fail(rc, err.message[0] ? err.message : "executor failed");
}

using proto::shell_quote;

void check_guest_path(const std::string& p) {
  check_path_text("guest_path", p);
  if (p.empty() || p[0] != '/') {
    fail(SMOLVM_EINVAL, "guest_path='" + p + "': must be an absolute path");
  }
}

// Runs a host command with its stdout captured (tar -c) or its stdin fed
// (tar -x); returns the exit status.
int host_command(const std::vector<std::string>& argv, const std::string* input,
                 std::string* output) {
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  if ((input && ::pipe2(in, O_CLOEXEC) != 0) || (output && ::pipe2(out, O_CLOEXEC) != 0)) {
    fail_errno(SMOLVM_EIO, "pipe");
  }
  const pid_t pid = ::fork();
  if (pid < 0) fail_errno(SMOLVM_EIO, "fork");
  if (pid == 0) {
    if (input) ::dup2(in[0], 0);
    if (output) ::dup2(out[1], 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  if (input) {
    ::close(in[0]);
    proto::write_all(in[1], *input);
    ::close(in[1]);
  }
  if (output) {
    ::close(out[1]);
    char buf[65536];
    long n;
    while ((n = proto::read_some(out[0], buf, sizeof buf)) > 0) output->append(buf, size_t(n));
    ::close(out[0]);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

void check_exec_request(const ExecRequest& req) {
  if (req.argv.empty() == req.command.empty()) {
    fail(SMOLVM_EINVAL, "exec: exactly one of argv (non-empty) and command must be set");
  }
  if (!req.shell.empty() && req.shell != "login" && req.shell != "raw") {
    fail(SMOLVM_EINVAL, "shell='" + req.shell + "': must be \"login\" or \"raw\"");
  }
  for (const auto& kv : req.env) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      fail(SMOLVM_EINVAL, "env entry '" + kv + "': must be KEY=VALUE with a non-empty KEY");
    }
  }
}

ExecStream::ExecStream(const smolvm_executor_vtable& vt, void* exec, uint32_t timeout_ms)
    : vt_(vt), exec_(exec), started_(Clock::now()) {
  if (timeout_ms > 0) timeout_at_ = started_ + std::chrono::milliseconds(timeout_ms);
}

ExecStream::~ExecStream() { vt_.exec_free(exec_); }

std::optional<ExecStream::Clock::time_point> ExecStream::next_deadline() const {
  if (!timeout_at_) return std::nullopt;
  if (!killed_at_timeout_) return *timeout_at_;
  return *timeout_at_ + std::chrono::milliseconds(SMOLVM_EXEC_GRACE_MS);
}

int ExecStream::next(smolvm_executor_event& out, int32_t wait_ms) {
  if (finished_) return SMOLVM_EDONE;
  const auto start = Clock::now();
  const std::optional<Clock::time_point> caller_end =
      wait_ms < 0 ? std::nullopt
                  : std::optional<Clock::time_point>(start + std::chrono::milliseconds(wait_ms));
  for (;;) {
    const auto now = Clock::now();
    if (timeout_at_ && !killed_at_timeout_ && now >= *timeout_at_) {
      // Not left to the guest's timer: a guest slowed down (console flood,
      // starved vCPU) or hostile would stretch it.
      killed_at_timeout_ = true;
      smolvm_plugin_error err{};
      vt_.exec_kill(exec_, SIGKILL, &err);  // fails only when it has ended anyway
    }
    const auto limit = next_deadline();
    if (killed_at_timeout_ && now >= *limit) {
      finished_ = true;
      unconfirmed_ = true;
      out = smolvm_executor_event{};
      out.type = SMOLVM_EVENT_EXIT;
      out.signal = SIGKILL;
      out.exit_code = 128 + SIGKILL;
      out.timed_out = 1;
      out.duration_us = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - started_).count());
      return 0;
    }
    auto until = caller_end;
    if (limit && (!until || *limit < *until)) until = limit;
    int32_t wait = -1;
    if (until) {
      wait = static_cast<int32_t>(std::clamp<int64_t>(
          std::chrono::ceil<std::chrono::milliseconds>(*until - now).count(), 0, INT32_MAX));
    }
    smolvm_plugin_error err{};
    const int rc = vt_.exec_next_event(exec_, &out, wait, &err);
    if (rc == 0) {
      if (out.type == SMOLVM_EVENT_EXIT) {
        finished_ = true;
        // Killed by the host at the deadline: the guest saw a SIGKILL, the
        // caller a timeout.
        if (killed_at_timeout_) out.timed_out = 1;
      }
      return 0;
    }
    if (rc == SMOLVM_ETIMEOUT) {
      if (caller_end && Clock::now() >= *caller_end) return rc;
      continue;  // a deadline of ours came first
    }
    if (rc == SMOLVM_EDONE) {
      finished_ = true;
      return rc;
    }
    check(rc, err);
    return rc;
  }
}

void ExecStream::write_stdin(const uint8_t* data, size_t len) {
  smolvm_plugin_error err{};
  check(vt_.exec_write_stdin(exec_, data, len, &err), err);
}

void ExecStream::close_stdin() {
  smolvm_plugin_error err{};
  check(vt_.exec_close_stdin(exec_, &err), err);
}

void ExecStream::kill(int signal) {
  smolvm_plugin_error err{};
  check(vt_.exec_kill(exec_, signal, &err), err);
}

GuestSession::GuestSession(Runtime& rt, const std::string& vm_id, const std::string& executor)
    : vm_id_(vm_id) {
  VmRecord rec = rt.get(vm_id);
  if (rec.state != "running") {
    fail(SMOLVM_ESTATE,
         "vm '" + vm_id + "' is " + rec.state + ": start it before running commands");
  }
  const auto& plugin = rt.plugins().get(
      SMOLVM_PLUGIN_EXECUTOR,
      executor.empty() ? rec.runtime.value("executor", std::string("agent")) : executor);
  vt_ = &plugin.vtable<smolvm_executor_vtable>();
  default_env_ = spec_from_json(rec.spec).env;
  const std::string sock = rec.runtime.value("supervisor_socket", std::string());
  const std::string token = rec.runtime.value("token", std::string());
  const std::string ip = rec.runtime.value("ip", std::string());
  const std::string dir = rec.runtime.value("vm_dir", std::string());
  const std::string host_key = rec.runtime.value("ssh_host_key", std::string());
  smolvm_executor_target target{};
  target.struct_size = sizeof target;
  target.vm_id = vm_id_.c_str();
  target.supervisor_socket = sock.c_str();
  target.token = token.c_str();
  target.guest_ip = ip.empty() ? nullptr : ip.c_str();
  target.vm_dir = dir.c_str();
  target.ssh_host_key = host_key.empty() ? nullptr : host_key.c_str();
  smolvm_plugin_error err{};
  check(vt_->connect(&conn_, &target, 5000, &err), err);
}

GuestSession::~GuestSession() {
  if (conn_) vt_->disconnect(conn_);
}

std::unique_ptr<ExecStream> GuestSession::start(const ExecRequest& req) {
  check_request_size(req, default_env_);  // first: the checks below quote fields
  check_exec_request(req);
  std::vector<const char*> argv, env;
  for (const auto& a : req.argv) argv.push_back(a.c_str());
  // The VM's defaults first: a request's own entries override them.
  for (const auto& e : default_env_) env.push_back(e.c_str());
  for (const auto& e : req.env) env.push_back(e.c_str());
  smolvm_executor_request r{};
  r.struct_size = sizeof r;
  r.argv = argv.empty() ? nullptr : argv.data();
  r.argc = argv.size();
  r.command = req.command.empty() ? nullptr : req.command.c_str();
  r.env = env.empty() ? nullptr : env.data();
  r.env_count = env.size();
  r.cwd = req.cwd.empty() ? nullptr : req.cwd.c_str();
  r.timeout_ms = req.timeout_ms;
  r.shell = req.shell.empty() ? nullptr : req.shell.c_str();
  void* exec = nullptr;
  smolvm_plugin_error err{};
  check(vt_->exec_start(&exec, conn_, &r, &err), err);
  return std::make_unique<ExecStream>(*vt_, exec, req.timeout_ms);
}

ExecResult GuestSession::run(const ExecRequest& req, const std::string& stdin_data) {
  auto stream = start(req);
  if (!stdin_data.empty()) {
    stream->write_stdin(reinterpret_cast<const uint8_t*>(stdin_data.data()), stdin_data.size());
  }
  stream->close_stdin();
  ExecResult result;
  smolvm_executor_event ev{};
  for (;;) {
    // The stream itself ends a command with a timeout in time.
    const int rc = stream->next(ev, -1);
    if (rc == SMOLVM_EDONE) break;
    if (rc != 0) continue;
    if (stream->unconfirmed()) {
      fail(SMOLVM_ETIMEOUT,
           "the guest did not answer: no end of the command within " +
               std::to_string(SMOLVM_EXEC_GRACE_MS) + " ms after its timeout (timeout_ms=" +
               std::to_string(req.timeout_ms) + "); it was sent SIGKILL and abandoned");
    }
    if (ev.type == SMOLVM_EVENT_STDOUT) {
      result.out.append(reinterpret_cast<const char*>(ev.data), ev.len);
    } else if (ev.type == SMOLVM_EVENT_STDERR) {
      result.err.append(reinterpret_cast<const char*>(ev.data), ev.len);
    } else if (ev.type == SMOLVM_EVENT_EXIT) {
      result.exit_code = ev.exit_code;
      result.signal = ev.signal;
      result.timed_out = ev.timed_out != 0;
      result.duration_us = ev.duration_us;
      break;
    }
  }
  return result;
}

void GuestSession::write_file(const std::string& guest_path, const std::string& data,
                              uint32_t mode) {
  check_guest_path(guest_path);
  if (mode > 07777) fail(SMOLVM_EINVAL, "mode=" + std::to_string(mode) + ": must be at most 07777");
  smolvm_plugin_error err{};
  check(vt_->file_write(conn_, guest_path.c_str(), reinterpret_cast<const uint8_t*>(data.data()),
                        data.size(), mode, &err),
        err);
}

std::string GuestSession::read_file(const std::string& guest_path) {
  check_guest_path(guest_path);
  std::string out;
  smolvm_plugin_error err{};
  check(vt_->file_read(
            conn_, guest_path.c_str(),
            [](void* ctx, const uint8_t* d, size_t n) {
              static_cast<std::string*>(ctx)->append(reinterpret_cast<const char*>(d), n);
            },
            &out, &err),
        err);
  return out;
}

void GuestSession::put(const std::string& host_path, const std::string& guest_path) {
  check_guest_path(guest_path);
  struct stat st {};
  if (::stat(host_path.c_str(), &st) != 0) {
    fail_errno(SMOLVM_ENOTFOUND, "host_path='" + host_path + "'");
  }
  if (!S_ISDIR(st.st_mode)) {
    write_file(guest_path, smolvm::read_file(host_path), st.st_mode & 07777);
    return;
  }
  // Folders travel as a tar stream through a command's stdin.
  std::string archive;
  if (host_command({"tar", "-C", host_path, "-cf", "-", "."}, nullptr, &archive) != 0) {
    fail(SMOLVM_EIO, "cannot archive host folder '" + host_path + "' with tar");
  }
  ExecRequest req;
  req.command =
      "mkdir -p " + shell_quote(guest_path) + " && tar -xf - -C " + shell_quote(guest_path);
  const ExecResult r = run(req, archive);
  if (r.exit_code != 0) {
    fail(SMOLVM_EIO, "cannot unpack into guest folder '" + guest_path + "': " + r.err);
  }
}

void GuestSession::get(const std::string& guest_path, const std::string& host_path) {
  check_guest_path(guest_path);
  ExecRequest probe;
  probe.argv = {"test", "-d", guest_path};
  if (run(probe, "").exit_code != 0) {
    write_file_atomic(host_path, read_file(guest_path), 0644);
    return;
  }
  ExecRequest req;
  req.argv = {"tar", "-C", guest_path, "-cf", "-", "."};
  const ExecResult r = run(req, "");
  if (r.exit_code != 0)
    fail(SMOLVM_EIO, "cannot archive guest folder '" + guest_path + "': " + r.err);
  make_dirs(host_path, 0755);
  if (host_command({"tar", "-C", host_path, "-xf", "-"}, &r.out, nullptr) != 0) {
    fail(SMOLVM_EIO, "cannot unpack into host folder '" + host_path + "'");
  }
}

}  // namespace smolvm
