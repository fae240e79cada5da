#include "core/runtime/guest_session.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <exception>
#include <filesystem>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/runtime/request_limits.h"
#include "core/state/vm_state.h"
#include "core/transfer/extractor.h"
#include "protocol/fd_io.h"
#include "protocol/messages.h"
#include "protocol/shell_words.h"

namespace smolvm {
namespace {

// How long the executor may take to connect to a VM that runs.
constexpr uint32_t kConnectMs = 5000;

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

// Runs a host command with its stdout captured (tar -c), at most
// max_output bytes of it (more kills the command and fails); returns the
// exit status.
int host_command(const std::vector<std::string>& argv, const std::string* input,
                 std::string* output, uint64_t max_output = UINT64_MAX) {
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
    while ((n = proto::read_some(out[0], buf, sizeof buf)) > 0) {
      if (output->size() + size_t(n) > max_output) {
        ::kill(pid, SIGKILL);
        break;
      }
      output->append(buf, size_t(n));
    }
    ::close(out[0]);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// What a copy of a host folder sends: its folders, regular files and
// symlinks (never followed), relative to it; FIFOs, sockets and devices are
// left out, as a FIFO would hang tar and a device has no business in a VM.
std::string sendable_entries(const std::string& folder) {
  namespace fs = std::filesystem;
  std::string list = ".";
  list += '\0';
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(folder, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const auto type = it->symlink_status(ec).type();
    if (type != fs::file_type::regular && type != fs::file_type::directory &&
        type != fs::file_type::symlink) {
      continue;
    }
    list += "./" + it->path().lexically_relative(folder).string();
    list += '\0';
  }
  if (ec) fail(SMOLVM_EIO, "host_path='" + folder + "': cannot list it: " + ec.message());
  return list;
}

}  // namespace

static_assert(SMOLVM_TERMINAL_SIZE_MAX == proto::kMaxTerminalSize,
              "smolvm.h and the protocol must agree on the largest terminal");

void check_terminal_size(uint32_t rows, uint32_t cols) {
  for (const auto& [name, v] : {std::pair{"pty_rows", rows}, std::pair{"pty_cols", cols}}) {
    if (v < 1 || v > proto::kMaxTerminalSize) {
      fail(SMOLVM_EINVAL, std::string(name) + "=" + std::to_string(v) + ": must be 1.." +
                              std::to_string(proto::kMaxTerminalSize));
    }
  }
}

void check_exec_request(const ExecRequest& req) {
  if (req.argv.empty() == req.command.empty()) {
    fail(SMOLVM_EINVAL, "exec: exactly one of argv (non-empty) and command must be set");
  }
  if (req.pty) {
    check_terminal_size(req.pty->rows, req.pty->cols);
    if (!req.pty->term.empty() && !proto::valid_term(req.pty->term)) {
      fail(SMOLVM_EINVAL, "term='" + req.pty->term + "': must be 1..64 letters, digits or -_.+");
    }
  }
  if (req.user.find_first_of(std::string("\0\n", 2)) != std::string::npos ||
      req.user.size() > 256) {
    fail(SMOLVM_EINVAL, "user='" + req.user + "': must be a user name, a uid or uid:gid");
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

ExecStream::ExecStream(const smolvm_executor_vtable& vt, void* exec, uint32_t timeout_ms, bool pty)
    : vt_(vt), exec_(exec), started_(Clock::now()), pty_(pty) {
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

void ExecStream::resize(uint32_t rows, uint32_t cols) {
  if (!pty_) {
    fail(SMOLVM_EINVAL, "the command has no terminal to resize (start it with pty_rows, pty_cols)");
  }
  check_terminal_size(rows, cols);
  smolvm_plugin_error err{};
  check(vt_.exec_resize(exec_, rows, cols, &err), err);
}

void ExecStream::kill(int signal) {
  smolvm_plugin_error err{};
  check(vt_.exec_kill(exec_, signal, &err), err);
}

GuestSession::GuestSession(Runtime& rt, const std::string& vm_id) : rt_(rt), vm_id_(vm_id) {
  // An exec is an act on the VM: a dead supervisor is cleaned up first,
  // a snapshot being written is waited for, a hibernated VM woken.
  VmRecord rec = rt.woken(vm_id);
  // Paused by its idle policy: the work wakes it (whichever executor).
  if (rec.state == "paused" && rec.runtime.paused_by == kPausedByIdle) {
    try {
      rt.resume(vm_id);
    } catch (const Error& e) {
      if (e.status() != SMOLVM_ESTATE) throw;  // another command woke it first
    }
    rec = rt.reconciled(vm_id);
  }
  if (rec.state == "paused") {
    fail(SMOLVM_ESTATE, "vm '" + vm_id + "' is paused: resume it first");
  }
  if (rec.state != "running") {
    fail(SMOLVM_ESTATE,
         "vm '" + vm_id + "' is " + rec.state + ": start it before running commands");
  }
  supervisor_pid_ = rec.runtime.supervisor_pid;
  const auto& plugin = rt.plugins().get(SMOLVM_PLUGIN_EXECUTOR, rec.runtime.executor);
  vt_ = &plugin.vtable<smolvm_executor_vtable>();
  default_env_ = rec.spec.env;
  const std::string& sock = rec.runtime.supervisor_socket;
  const std::string& token = rec.runtime.token;
  const std::string& ip = rec.runtime.lease.ip;
  const std::string& dir = rec.runtime.vm_dir;
  const std::string data = rec.runtime.executor_data.dump();
  smolvm_executor_target target{};
  target.struct_size = sizeof target;
  target.vm_id = vm_id_.c_str();
  target.supervisor_socket = sock.c_str();
  target.token = token.c_str();
  target.guest_ip = ip.empty() ? nullptr : ip.c_str();
  target.vm_dir = dir.c_str();
  target.data_json = data.c_str();
  smolvm_plugin_error err{};
  int rc = vt_->connect(&conn_, &target, kConnectMs, &err);
  if (rc == SMOLVM_ETIMEOUT) {
    // A snapshot that began after the look above holds the supervisor
    // still: once it is written, the VM answers again.
    const VmRecord now = rt.reconciled(vm_id);
    if (now.state == state_name(VmState::kPaused) && now.runtime.paused_by == kPausedBySnapshot) {
      if (rt.settled(vm_id).state == state_name(VmState::kRunning)) {
        err = smolvm_plugin_error{};
        rc = vt_->connect(&conn_, &target, kConnectMs, &err);
      }
    }
  }
  check(rc, err);
}

bool GuestSession::current() const {
  const auto rec = rt_.store().find(vm_id_);
  return rec && rec->runtime.supervisor_pid == supervisor_pid_ &&
         (rec->state == state_name(VmState::kRunning) ||
          rec->state == state_name(VmState::kPaused));
}

GuestSession::~GuestSession() {
  if (conn_) vt_->disconnect(conn_);
}

std::unique_ptr<ExecStream> GuestSession::start(const ExecRequest& req) {
  // Read per command: another handle or process may have changed the
  // VM's environment since this session opened (smolvm_vm_env_set).
  const VmRecord rec = rt_.store().get(vm_id_);
  default_env_ = rec.spec.env;
  const std::string& user =
      req.user.empty() && req.image_defaults ? rec.runtime.image_user : req.user;
  const std::string& cwd =
      req.cwd.empty() && req.image_defaults ? rec.runtime.image_workdir : req.cwd;
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
  r.cwd = cwd.empty() ? nullptr : cwd.c_str();
  r.timeout_ms = req.timeout_ms;
  r.shell = req.shell.empty() ? nullptr : req.shell.c_str();
  // An executor built before 1.6 would not see these fields and run the
  // command as root, without a terminal: refused instead. So is a terminal
  // that could never be resized.
  const bool knows_1_6 =
      vt_->struct_size >= offsetof(smolvm_executor_vtable, exec_resize) + sizeof vt_->exec_resize;
  if ((!user.empty() && !knows_1_6) || (req.pty && !SMOLVM_EXECUTOR_HAS(vt_, exec_resize))) {
    fail(SMOLVM_EUNSUPPORTED, std::string("the VM's executor cannot run a command ") +
                                  (req.pty ? "on a terminal" : "as another user") +
                                  " (it was built before SmolVM 1.6, or has no exec_resize)");
  }
  r.user = user.empty() ? nullptr : user.c_str();
  if (req.pty) {
    r.pty_rows = req.pty->rows;
    r.pty_cols = req.pty->cols;
    r.term = req.pty->term.empty() ? nullptr : req.pty->term.c_str();
  }
  void* exec = nullptr;
  smolvm_plugin_error err{};
  check(vt_->exec_start(&exec, conn_, &r, &err), err);
  return std::make_unique<ExecStream>(*vt_, exec, req.timeout_ms, req.pty.has_value());
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

std::string GuestSession::read_file(const std::string& guest_path, const transfer::Limits& limits) {
  check_guest_path(guest_path);
  transfer::Budget budget(limits);
  std::string out;
  read_bounded(guest_path, budget, [&](const uint8_t* d, size_t n) {
    out.append(reinterpret_cast<const char*>(d), n);
  });
  return out;
}

void GuestSession::read_bounded(const std::string& guest_path, transfer::Budget& budget,
                                const std::function<void(const uint8_t*, size_t)>& sink) {
  struct Ctx {
    transfer::Budget* budget;
    const std::function<void(const uint8_t*, size_t)>* sink;
    std::exception_ptr error;
  } ctx{&budget, &sink, nullptr};
  smolvm_plugin_error err{};
  if (SMOLVM_EXECUTOR_HAS(vt_, file_read_bounded)) {
    const int rc = vt_->file_read_bounded(
        conn_, guest_path.c_str(),
        [](void* p, const uint8_t* d, size_t n) -> int {
          auto* c = static_cast<Ctx*>(p);
          try {
            c->budget->add_received(n);
            (*c->sink)(d, n);
            return 0;
          } catch (...) {
            c->error = std::current_exception();
            return SMOLVM_EIO;
          }
        },
        &ctx, static_cast<uint32_t>(std::max<int32_t>(1, budget.ms_left())), &err);
    if (ctx.error) std::rethrow_exception(ctx.error);
    if (rc == SMOLVM_ETIMEOUT) budget.fail_timeout();
    check(rc, err);
    return;
  }
  // An executor built for plugin ABI 1.1 cannot stop a read: bytes past the
  // limit are discarded, and the limit reported once the read ends.
  const int rc = vt_->file_read(
      conn_, guest_path.c_str(),
      [](void* p, const uint8_t* d, size_t n) {
        auto* c = static_cast<Ctx*>(p);
        if (c->error) return;
        try {
          c->budget->add_received(n);
          (*c->sink)(d, n);
        } catch (...) {
          c->error = std::current_exception();
        }
      },
      &ctx, &err);
  if (ctx.error) std::rethrow_exception(ctx.error);
  check(rc, err);
  budget.check_time();
}

void GuestSession::put(const std::string& host_path, const std::string& guest_path,
                       const transfer::Limits& limits) {
  check_guest_path(guest_path);
  const transfer::Budget budget(limits);
  struct stat st {};
  if (::stat(host_path.c_str(), &st) != 0) {
    fail_errno(SMOLVM_ENOTFOUND, "host_path='" + host_path + "'");
  }
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
    fail(SMOLVM_EINVAL, "host_path='" + host_path +
                            "': a FIFO, socket or device; only a regular file or a folder can "
                            "be copied into a VM");
  }
  const uint64_t max = budget.limits().max_bytes;
  if (!S_ISDIR(st.st_mode)) {
    put_file(host_path, guest_path, budget);
    return;
  }
  // Folders travel as a tar stream through a command's stdin; the list
  // leaves special files out.
  char list_path[] = "/tmp/smolvm-put-XXXXXX";
  const int list_fd = ::mkstemp(list_path);
  if (list_fd < 0) fail_errno(SMOLVM_EIO, "cannot create a file list in /tmp");
  const std::string list = sendable_entries(host_path);
  const bool listed = proto::write_all(list_fd, list);
  ::close(list_fd);
  std::string archive;
  const int rc = listed ? host_command({"tar", "-C", host_path, "--null", "--no-recursion", "-T",
                                        list_path, "-cf", "-"},
                                       nullptr, &archive, max)
                        : -1;
  ::unlink(list_path);
  if (archive.size() >= max) budget.fail_too_large("the host folder's archive holds");
  if (rc != 0) fail(SMOLVM_EIO, "cannot archive host folder '" + host_path + "' with tar");
  ExecRequest req;
  req.command =
      "mkdir -p " + shell_quote(guest_path) + " && tar -xf - -C " + shell_quote(guest_path);
  req.shell = "raw";  // our own POSIX line: no login shell's start-up cost
  req.timeout_ms = budget.limits().timeout_ms;
  const ExecResult r = run(req, archive);
  if (r.timed_out) budget.fail_timeout();
  if (r.exit_code != 0) {
    fail(SMOLVM_EIO, "cannot unpack into guest folder '" + guest_path + "': " + r.err);
  }
}

void GuestSession::put_file(const std::string& host_path, const std::string& guest_path,
                            const transfer::Budget& budget) {
  // O_NONBLOCK: a FIFO swapped in after the stat must not hang the open.
  const int fd = ::open(host_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) fail_errno(SMOLVM_EIO, "cannot open host_path='" + host_path + "'");
  struct Source {
    int fd;
    const transfer::Budget* budget;
    const std::string* host_path;
    uint64_t sent = 0;
    std::exception_ptr error;
  } src{fd, &budget, &host_path, 0, nullptr};
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_errno(SMOLVM_EIO, "host_path='" + host_path + "'");
  if (!S_ISREG(st.st_mode)) {
    fail(SMOLVM_EINVAL, "host_path='" + host_path + "': no longer a regular file");
  }
  // Refused before a byte is sent, so the guest never sees a part of it.
  if (static_cast<uint64_t>(st.st_size) > budget.limits().max_bytes) {
    budget.fail_too_large(
        ("the host file '" + host_path + "' (" + std::to_string(st.st_size) + " bytes) holds")
            .c_str());
  }
  // Chunks read as the executor asks; the file may grow while it is sent.
  const auto source = [](void* p, uint8_t* buf, size_t cap, size_t* out_len) -> int {
    auto* s = static_cast<Source*>(p);
    try {
      const long n = proto::read_some(s->fd, buf, cap);
      if (n < 0) fail_errno(SMOLVM_EIO, "reading host_path='" + *s->host_path + "'");
      s->sent += static_cast<uint64_t>(n);
      if (s->sent > s->budget->limits().max_bytes) {
        s->budget->fail_too_large("the host file grew while it was sent; it holds");
      }
      *out_len = static_cast<size_t>(n);
      return 0;
    } catch (...) {
      s->error = std::current_exception();
      return SMOLVM_EIO;
    }
  };
  const uint32_t mode = st.st_mode & 07777;
  if (!SMOLVM_EXECUTOR_HAS(vt_, file_write_bounded)) {
    // An executor built for plugin ABI 1.1 takes the file in one piece and
    // has no time limit; its size is bounded all the same.
    std::string data;
    std::string chunk(64u << 10, '\0');
    for (size_t n = 1; n > 0;) {
      source(&src, reinterpret_cast<uint8_t*>(chunk.data()), chunk.size(), &n);
      if (src.error) std::rethrow_exception(src.error);
      data.append(chunk.data(), n);
    }
    write_file(guest_path, data, mode);
    return;
  }
  smolvm_plugin_error err{};
  const int rc =
      vt_->file_write_bounded(conn_, guest_path.c_str(), source, &src, mode,
                              static_cast<uint32_t>(std::max<int32_t>(1, budget.ms_left())), &err);
  if (src.error) std::rethrow_exception(src.error);
  if (rc == SMOLVM_ETIMEOUT) budget.fail_timeout();
  check(rc, err);
}

void GuestSession::get(const std::string& guest_path, const std::string& host_path,
                       const transfer::Limits& limits) {
  check_guest_path(guest_path);
  if (host_path.empty()) fail(SMOLVM_EINVAL, "host_path='': must name a file or folder");
  transfer::Budget budget(limits);
  ExecRequest probe;
  probe.argv = {"test", "-d", guest_path};
  probe.timeout_ms = static_cast<uint32_t>(std::max<int32_t>(1, budget.ms_left()));
  const ExecResult r = run(probe, "");
  if (r.timed_out) budget.fail_timeout();
  if (r.exit_code != 0) {
    get_file(guest_path, host_path, budget);
  } else {
    get_folder(guest_path, host_path, budget);
  }
}

void GuestSession::get_file(const std::string& guest_path, const std::string& host_path,
                            transfer::Budget& budget) {
  // Onto an existing folder: into it, under the guest file's name (as cp).
  std::string target = host_path;
  struct stat st {};
  if (::stat(host_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::string base = guest_path.substr(guest_path.find_last_of('/') + 1);
    if (base.empty() || base == "." || base == "..") {
      fail(SMOLVM_EINVAL, "guest_path='" + guest_path + "': names no file to copy into folder '" +
                              host_path + "'");
    }
    target = host_path + "/" + base;
  }
  const auto slash = target.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : target.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? target : target.substr(slash + 1);
  if (name.empty()) fail(SMOLVM_EINVAL, "host_path='" + host_path + "': names no file");
  transfer::Fd dir_fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd) fail_errno(SMOLVM_ENOTFOUND, "host_path='" + host_path + "': its folder");
  // Streamed to a temporary file beside the target, renamed when complete.
  const std::string tmp = ".smolvm-part-" + random_hex(8);
  transfer::Fd out(
      ::openat(dir_fd.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!out) fail_errno(SMOLVM_EIO, "host_path='" + host_path + "': cannot create a file beside it");
  try {
    read_bounded(guest_path, budget, [&](const uint8_t* d, size_t n) {
      budget.add_written(n);
      if (!proto::write_all(out.get(), std::string_view(reinterpret_cast<const char*>(d), n))) {
        fail_errno(SMOLVM_EIO, "host_path='" + host_path + "': cannot write");
      }
    });
    if (::renameat(dir_fd.get(), tmp.c_str(), dir_fd.get(), name.c_str()) != 0) {
      fail_errno(SMOLVM_EIO, "host_path='" + target + "': cannot put the file in place");
    }
  } catch (...) {
    ::unlinkat(dir_fd.get(), tmp.c_str(), 0);
    throw;
  }
}

void GuestSession::get_folder(const std::string& guest_path, const std::string& host_path,
                              transfer::Budget& budget) {
  transfer::Extractor extractor(host_path, budget);
  ExecRequest req;
  req.argv = {"tar", "-C", guest_path, "-cf", "-", "."};
  // A backstop for a client that dies: our own deadline fires first and
  // kills the command.
  constexpr uint32_t kBackstopMs = 5000;
  req.timeout_ms = budget.limits().timeout_ms + kBackstopMs;
  auto stream = start(req);
  std::string err_text;
  bool ended = false;
  const transfer::Source source = [&]() -> std::string_view {
    while (!ended) {
      smolvm_executor_event ev{};
      const int rc = stream->next(ev, std::max<int32_t>(1, budget.ms_left()));
      if (rc == SMOLVM_EDONE) break;
      if (rc == SMOLVM_ETIMEOUT) {
        budget.check_time();
        continue;
      }
      if (ev.type == SMOLVM_EVENT_STDOUT && ev.len > 0) {
        return {reinterpret_cast<const char*>(ev.data), ev.len};
      }
      if (ev.type == SMOLVM_EVENT_STDERR) {
        budget.add_received(ev.len);
        err_text.append(reinterpret_cast<const char*>(ev.data),
                        std::min<size_t>(ev.len, 2048 - std::min<size_t>(2048, err_text.size())));
      } else if (ev.type == SMOLVM_EVENT_EXIT) {
        ended = true;
        if (ev.timed_out) budget.fail_timeout();
        if (ev.exit_code != 0) {
          fail(SMOLVM_EIO, "cannot archive guest folder '" + guest_path + "' (tar exited " +
                               std::to_string(ev.exit_code) +
                               "): " + transfer::printable(err_text));
        }
      }
    }
    ended = true;
    return {};
  };
  try {
    stream->close_stdin();
    extractor.unpack(source);
    extractor.commit();
  } catch (...) {
    try {
      if (!ended) stream->kill(SIGKILL);
    } catch (...) {  // the exec_free of the stream kills it too
    }
    throw;
  }
}

}  // namespace smolvm
