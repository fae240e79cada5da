// smolvm mcp: a Model Context Protocol server over stdio. Newline-delimited
// JSON-RPC on stdin and stdout (cli/mcp_protocol.h), tools checked against
// their schemas (cli/mcp_tools.h), every action through the C ABI. Each
// tools/call runs on a thread of its own, so pings, cancellations and
// other calls are answered while a command runs.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "cli/common.h"
#include "cli/mcp_protocol.h"
#include "cli/mcp_tools.h"
#include "protocol/base64.h"

namespace smolvm_cli {
namespace {

using nlohmann::json;
using namespace mcp;

// How long a session's sandbox gets to shut down when the session ends.
constexpr uint32_t kStopTimeoutMs = 1000;

// The most tools/call requests that run at once (a thread each).
constexpr size_t kMaxCalls = 64;

// Written by the signal handlers; the reader polls it beside stdin.
int g_signal_pipe[2] = {-1, -1};

// One write per line: calls log from several threads.
void log(const std::string& line) { std::cerr << ("smolvm mcp: " + line + "\n") << std::flush; }

// The protocol's channel to the client: whole lines, one writer at a time.
class Output {
 public:
  explicit Output(int fd) : fd_(fd) {}
  void send(const json& message) {
    const std::string line = frame(message);
    std::lock_guard<std::mutex> lock(mutex_);
    size_t off = 0;
    while (off < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // the client is gone; stdin's end follows
      off += static_cast<size_t>(n);
    }
  }

 private:
  int fd_;
  std::mutex mutex_;
};

json text_result(const json& value, bool is_error = false) {
  json r = {
      {"content",
       json::array({{{"type", "text"},
                     {"text", value.is_string() ? value.get<std::string>() : value.dump(2)}}})},
      {"isError", is_error}};
  if (value.is_object()) r["structuredContent"] = value;
  return r;
}

struct ExecDeleter {
  void operator()(smolvm_exec* ex) const { smolvm_exec_free(ex); }
};

class Session {
 public:
  Session(Output& out, Runtime& rt) : out_(out), rt_(rt) {}

  // One message from the client (on the reader thread).
  void handle(const Message& m) {
    using Kind = Message::Kind;
    if (m.kind == Kind::kInvalid) return out_.send(m.error);
    if (m.kind == Kind::kResponse) return;  // this server sends no requests
    if (m.kind == Kind::kNotification) {
      if (m.method == "notifications/cancelled") cancel(m.params.value("requestId", json()));
      return;  // notifications/initialized and others need no action
    }
    if (m.method == "initialize") {
      const std::string version = negotiate_version(m.params);
      log("client " + m.params.value("clientInfo", json::object()).value("name", "?") +
          ", protocol " + version);
      return out_.send(result_response(
          m.id, {{"protocolVersion", version},
                 {"capabilities", {{"tools", {{"listChanged", false}}}}},
                 {"serverInfo", {{"name", "smolvm"}, {"version", smolvm_version()}}},
                 {"instructions",
                  "Sandboxes are disposable Linux microVMs: create_sandbox, then run_command, "
                  "write_file and read_file on its id. They are deleted when this session "
                  "ends unless created persistent."}}));
    }
    if (m.method == "ping") return out_.send(result_response(m.id, json::object()));
    if (m.method == "tools/list") {
      return out_.send(result_response(m.id, {{"tools", tool_list()}}));
    }
    if (m.method == "tools/call") return start_call(m);
    out_.send(error_response(m.id, kMethodNotFound, "method not found: " + m.method));
  }

  // Stops every call under way and deletes the sandboxes this session made
  // that are not persistent.
  void shutdown() {
    stopping_ = true;
    for (auto& c : calls_) {
      if (c.thread.joinable()) c.thread.join();
    }
    calls_.clear();
    std::map<std::string, bool> owned;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      owned.swap(owned_);
    }
    // In parallel and with a short stop: a client waits only seconds for
    // the server to exit (the TypeScript SDK: 2 s, then SIGTERM, 2 s, then
    // SIGKILL), and a disposable guest needs no graceful shutdown.
    std::vector<std::thread> deleting;
    for (const auto& [id, persistent] : owned) {
      if (persistent) continue;
      deleting.emplace_back([this, id = id] {
        smolvm_vm* vm = nullptr;
        const bool opened = smolvm_vm_open(&vm, rt_.rt, id.c_str()) == 0;
        if (opened) smolvm_vm_stop(vm, kStopTimeoutMs);  // delete forces what is left
        if (opened && smolvm_vm_delete(vm) == 0) {
          log("deleted sandbox " + id);
        } else {
          log("could not delete sandbox " + id + ": " + smolvm_last_error());
        }
        smolvm_vm_free(vm);
      });
    }
    for (auto& t : deleting) t.join();
  }

 private:
  struct Call {
    json id;
    std::shared_ptr<std::atomic<bool>> cancelled;
    std::shared_ptr<std::atomic<bool>> done;
    std::thread thread;
  };

  void start_call(const Message& m) {
    reap();
    if (calls_.size() >= kMaxCalls) {
      return out_.send(error_response(m.id, kInternalError,
                                      "tools/call: " + std::to_string(kMaxCalls) +
                                          " calls are under way already: wait for one to end"));
    }
    const json name = m.params.value("name", json());
    if (!name.is_string()) {
      return out_.send(error_response(m.id, kInvalidParams,
                                      "tools/call: name=" + name.dump() + ": must be a tool name"));
    }
    json args;
    try {
      args = checked_arguments(name.get<std::string>(), m.params.value("arguments", json()));
    } catch (const ArgumentError& e) {
      return out_.send(error_response(m.id, kInvalidParams, e.what()));
    }
    const json token = m.params.value("_meta", json::object()).value("progressToken", json());
    Call& c = calls_.emplace_back();
    c.id = m.id;
    c.cancelled = std::make_shared<std::atomic<bool>>(false);
    c.done = std::make_shared<std::atomic<bool>>(false);
    c.thread = std::thread([this, id = m.id, tool = name.get<std::string>(), args, token,
                            cancelled = c.cancelled, done = c.done] {
      json result;
      try {
        result = call_tool(tool, args, token, *cancelled);
      } catch (const ArgumentError& e) {
        out_.send(error_response(id, kInvalidParams, e.what()));
        *done = true;
        return;
      } catch (const ApiError& e) {
        result = text_result(
            std::string(tool) + " failed: " + e.what() + " (" + smolvm_status_str(e.status) + ")",
            true);
      } catch (const std::exception& e) {
        result = text_result(std::string(tool) + " failed: " + e.what(), true);
      }
      // A cancelled request gets no response (the client has moved on).
      if (!*cancelled) out_.send(result_response(id, result));
      *done = true;
    });
  }

  void reap() {
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (*it->done || !it->thread.joinable()) {
        if (it->thread.joinable()) it->thread.join();
        it = calls_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void cancel(const json& request_id) {
    for (auto& c : calls_) {
      if (c.id == request_id) *c.cancelled = true;
    }
  }

  json call_tool(const std::string& tool, const json& a, const json& token,
                 const std::atomic<bool>& cancelled) {
    if (tool == "create_sandbox") return create_sandbox(create_args(a));
    if (tool == "run_command") return run_command(run_args(a), token, cancelled);
    if (tool == "write_file") return write_file(write_args(a));
    if (tool == "read_file") return read_file(read_args(a));
    if (tool == "list_sandboxes") return list_sandboxes();
    if (tool == "delete_sandbox") return delete_sandbox(a["id"].get<std::string>());
    if (tool == "expose_port") return expose_port(expose_args(a));
    if (tool == "snapshot_sandbox") return snapshot_sandbox(snapshot_args(a));
    if (tool == "restore_sandbox") return restore_sandbox(restore_args(a));
    throw ArgumentError("unknown tool '" + tool + "'");
  }

  json summary(smolvm_vm* vm) {
    smolvm_vm_info i;
    smolvm_vm_info_init(&i);
    check(smolvm_vm_get_info(&i, vm));
    json s = {{"id", i.id},
              {"state", i.state_name},
              {"vcpus", i.vcpu_count},
              {"memory_mib", i.mem_size_mib},
              {"network", i.network},
              {"ip", i.ip}};
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = owned_.find(i.id);
    s["created_by_this_session"] = it != owned_.end();
    if (it != owned_.end()) s["persistent"] = it->second;
    return s;
  }

  // Starts a sandbox this session has just made, which it owns from now
  // on; a start that fails deletes it again.
  json start_owned(smolvm_vm* raw, bool persistent) {
    Vm vm(raw);
    const std::string id = smolvm_vm_id(vm.vm);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      owned_[id] = persistent;
    }
    if (const int rc = smolvm_vm_start(vm.vm); rc != 0) {
      const ApiError failure(rc, smolvm_last_error());
      smolvm_vm_delete(vm.vm);
      std::lock_guard<std::mutex> lock(mutex_);
      owned_.erase(id);
      throw failure;
    }
    log("started sandbox " + id + (persistent ? " (persistent)" : ""));
    return text_result(summary(vm.vm));
  }

  json create_sandbox(const CreateArgs& c) {
    smolvm_vm* raw = nullptr;
    if (!c.profile.empty()) {
      smolvm_profile* p = nullptr;
      check(smolvm_profile_load(&p, c.profile.c_str()));
      const int rc = smolvm_vm_create_from_profile(&raw, rt_.rt, p, nullptr);
      smolvm_profile_free(p);
      check(rc);
    } else {
      smolvm_vm_options o;
      smolvm_vm_options_init(&o);
      if (c.vcpus) o.vcpu_count = c.vcpus;
      if (c.memory_mib) o.mem_size_mib = c.memory_mib;
      o.image = c.image.empty() ? nullptr : c.image.c_str();
      o.network = c.network.c_str();
      // Bound to this process: a session killed outright still leaves
      // nothing behind (its supervisor deletes it).
      o.delete_with_owner = c.persistent ? 0 : 1;
      check(smolvm_vm_create(&raw, rt_.rt, &o));
    }
    return start_owned(raw, c.persistent);
  }

  json run_command(const RunArgs& r, const json& token, const std::atomic<bool>& cancelled) {
    Vm vm(rt_, r.id);
    std::vector<const char*> env;
    for (const auto& e : r.env) env.push_back(e.c_str());
    smolvm_exec_options o;
    smolvm_exec_options_init(&o);
    o.command = r.command.c_str();
    o.env = env.empty() ? nullptr : env.data();
    o.env_count = env.size();
    o.cwd = r.cwd.empty() ? nullptr : r.cwd.c_str();
    o.user = r.user.empty() ? nullptr : r.user.c_str();
    o.timeout_ms = r.timeout_s * 1000;
    smolvm_exec* raw = nullptr;
    check(smolvm_exec_start(&raw, vm.vm, &o));
    std::unique_ptr<smolvm_exec, ExecDeleter> ex(raw);
    check(smolvm_exec_close_stdin(ex.get()));

    CappedOutput out(kOutputLimitBytes), err(kOutputLimitBytes);
    const auto t0 = std::chrono::steady_clock::now();
    auto next_progress = t0 + std::chrono::seconds(1);
    int progress = 0;
    bool killed = false;
    smolvm_exec_event ev;
    for (;;) {
      if ((cancelled || stopping_) && !killed) {
        smolvm_exec_kill(ex.get(), SIGKILL);
        killed = true;
      }
      const int rc = smolvm_exec_next_event(&ev, ex.get(), 200);
      const auto now = std::chrono::steady_clock::now();
      if (!token.is_null() && now >= next_progress) {
        next_progress = now + std::chrono::seconds(1);
        const auto s = std::chrono::duration_cast<std::chrono::seconds>(now - t0).count();
        out_.send(notification("notifications/progress",
                               {{"progressToken", token},
                                {"progress", ++progress},
                                {"message", "running for " + std::to_string(s) + " s, " +
                                                std::to_string(out.total() + err.total()) +
                                                " bytes of output so far"}}));
      }
      if (rc == SMOLVM_ETIMEOUT) continue;
      check(rc);
      const char* data = reinterpret_cast<const char*>(ev.data);
      if (ev.type == SMOLVM_EVENT_STDOUT) out.append(data, ev.len);
      if (ev.type == SMOLVM_EVENT_STDERR) err.append(data, ev.len);
      if (ev.type != SMOLVM_EVENT_EXIT) continue;
      json result = {{"exit_code", ev.exit_code},
                     {"timed_out", ev.timed_out != 0},
                     {"duration_ms", ev.duration_us / 1000},
                     {"stdout", out.text()},
                     {"stderr", err.text()}};
      if (ev.signal) result["signal"] = ev.signal;
      if (out.dropped()) result["stdout_dropped_bytes"] = out.dropped();
      if (err.dropped()) result["stderr_dropped_bytes"] = err.dropped();
      if (ev.timed_out) {
        result["note"] =
            "killed after timeout_s=" + std::to_string(r.timeout_s) + " with everything it started";
      }
      return text_result(result);
    }
  }

  json write_file(const WriteArgs& w) {
    Vm vm(rt_, w.id);
    check(smolvm_vm_write_file(vm.vm, w.path.c_str(),
                               reinterpret_cast<const uint8_t*>(w.data.data()), w.data.size(),
                               w.mode));
    return text_result(json{{"path", w.path}, {"bytes", w.data.size()}});
  }

  json read_file(const ReadArgs& r) {
    Vm vm(rt_, r.id);
    smolvm_transfer_options t;
    smolvm_transfer_options_init(&t);
    t.max_bytes = r.max_bytes;
    smolvm_buf buf{};
    check(smolvm_vm_read_file_ex(&buf, vm.vm, r.path.c_str(), &t));
    std::string data(reinterpret_cast<const char*>(buf.data), buf.size);
    smolvm_buf_dispose(&buf);
    json result = {{"path", r.path}, {"bytes", data.size()}};
    if (r.base64) {
      result["encoding"] = "base64";
      result["content"] = smolvm::proto::base64_encode(data);
      return text_result(result);
    }
    try {
      (void)json(data).dump();  // throws on text that is not UTF-8
    } catch (const json::type_error&) {
      return text_result("read_file: " + r.path + " is not UTF-8 text (" +
                             std::to_string(data.size()) +
                             " bytes): read it with encoding \"base64\"",
                         true);
    }
    result["encoding"] = "text";
    result["content"] = std::move(data);
    return text_result(result);
  }

  json list_sandboxes() {
    smolvm_strarray ids{};
    check(smolvm_runtime_list(&ids, rt_.rt));
    json list = json::array();
    for (size_t i = 0; i < ids.count; ++i) {
      smolvm_vm* vm = nullptr;
      if (smolvm_vm_open(&vm, rt_.rt, ids.strings[i]) != 0) continue;  // deleted meanwhile
      try {
        list.push_back(summary(vm));
      } catch (const ApiError&) {  // deleted meanwhile
      }
      smolvm_vm_free(vm);
    }
    smolvm_strarray_dispose(&ids);
    return text_result(json{{"sandboxes", list}});
  }

  json delete_sandbox(const std::string& id) {
    Vm vm(rt_, id);
    check(smolvm_vm_delete(vm.vm));
    std::lock_guard<std::mutex> lock(mutex_);
    owned_.erase(id);
    log("deleted sandbox " + id);
    return text_result(json{{"id", id}, {"deleted", true}});
  }

  json expose_port(const ExposeArgs& e) {
    Vm vm(rt_, e.id);
    uint32_t host_port = 0;
    check(smolvm_vm_expose(&host_port, vm.vm, e.guest_port, e.host_port, nullptr, nullptr));
    return text_result(json{{"id", e.id},
                            {"guest_port", e.guest_port},
                            {"host_port", host_port},
                            {"host_address", "127.0.0.1:" + std::to_string(host_port)}});
  }

  json snapshot_sandbox(const SnapshotArgs& s) {
    Vm vm(rt_, s.id);
    smolvm_snapshot_options o;
    smolvm_snapshot_options_init(&o);
    o.name = s.name.empty() ? nullptr : s.name.c_str();
    char* raw = nullptr;
    check(smolvm_vm_snapshot(&raw, vm.vm, &o));
    const std::string snapshot = raw;
    smolvm_free(raw);
    return text_result(json{{"snapshot", snapshot}, {"name", s.name}, {"source", s.id}});
  }

  json restore_sandbox(const RestoreArgs& r) {
    smolvm_restore_options o;
    smolvm_restore_options_init(&o);
    o.delete_with_owner = r.persistent ? 0 : 1;
    smolvm_vm* raw = nullptr;
    check(smolvm_vm_create_from_snapshot(&raw, rt_.rt, r.snapshot.c_str(), &o));
    return start_owned(raw, r.persistent);
  }

  Output& out_;
  Runtime& rt_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;                   // guards owned_
  std::map<std::string, bool> owned_;  // id -> persistent
  std::list<Call> calls_;              // the reader thread's alone
};

// Moves the protocol's descriptors out of the way: stdout becomes stderr
// and stdin /dev/null, so nothing the library or its children print can
// corrupt the protocol, and no child holds the client's pipes.
void take_stdio(int& in_fd, int& out_fd) {
  in_fd = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
  out_fd = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
  if (in_fd < 0 || out_fd < 0) throw std::runtime_error(std::string("dup: ") + strerror(errno));
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    ::close(devnull);
  }
  ::dup2(2, 1);
}

void on_signal(int) {
  const char c = 1;
  [[maybe_unused]] const ssize_t n = ::write(g_signal_pipe[1], &c, 1);
}

void catch_signals() {
  if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error(std::string("pipe: ") + strerror(errno));
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  for (int s : {SIGTERM, SIGINT, SIGHUP}) ::sigaction(s, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a client gone shows as a failed write
}

// Longest line accepted: a write_file of 16 MiB in base64, with room.
constexpr size_t kMaxLineBytes = 64u << 20;

// Reads lines from in_fd until it ends or a signal comes; hands each to
// session. Returns what ended it.
std::string serve(int in_fd, Session& session, Output& out) {
  std::string buffer;
  bool skipping = false;  // inside a line that was too long
  char chunk[65536];
  for (;;) {
    pollfd fds[2] = {{in_fd, POLLIN, 0}, {g_signal_pipe[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return std::string("poll: ") + strerror(errno);
    }
    if (fds[1].revents) return "a signal";
    const ssize_t n = ::read(in_fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return "the end of stdin";
    buffer.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = buffer.substr(start, nl - start);
      if (skipping) {
        skipping = false;
        continue;
      }
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      const Message m = parse_message(line);
      try {
        session.handle(m);
      } catch (const std::exception& e) {  // e.g. no thread to be had: this one message fails
        if (m.kind == Message::Kind::kRequest) {
          out.send(error_response(m.id, kInternalError, m.method + ": " + e.what()));
        }
      }
    }
    buffer.erase(0, start);
    if (buffer.size() > kMaxLineBytes) {
      out.send(error_response(
          nullptr, kInvalidRequest,
          "a message longer than " + std::to_string(kMaxLineBytes) + " bytes was dropped"));
      buffer.clear();
      skipping = true;
    }
  }
}

}  // namespace

int cmd_mcp(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {}, {});
  if (!a.positional.empty()) throw UsageError("mcp takes no arguments");
  int in_fd = -1, out_fd = -1;
  take_stdio(in_fd, out_fd);
  catch_signals();
  Runtime rt;
  Output out(out_fd);
  Session session(out, rt);
  log("serving MCP on stdio (smolvm " + std::string(smolvm_version()) + ")");
  const std::string why = serve(in_fd, session, out);
  log("stopping after " + why);
  session.shutdown();
  return 0;
}

}  // namespace smolvm_cli
