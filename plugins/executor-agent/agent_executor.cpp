// executor-agent: runs commands and moves files through the guest agent,
// reached via the VM's supervisor socket (which multiplexes the one agent
// channel among all clients).
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "protocol/client.h"
#include "protocol/messages.h"
#include "smolvm/plugin_sdk.h"

namespace {

using smolvm::proto::Client;
using smolvm::proto::Frame;
using smolvm::proto::kClientCreditStep;
using smolvm::proto::kClientWindow;
using smolvm::proto::Type;
using smolvm::sdk::set_error;

// The plugin's tag: its slot functions take it first (smolvm/sdk/vtables.h).
struct Agent {};

constexpr size_t kChunk = 256u << 10;

int error_frame(const Frame& f, smolvm_plugin_error* err, const std::string& what) {
  std::string message;
  const int status = smolvm::proto::error_of(f, message);
  return set_error(err, status, what + message);
}

struct Exec {
  Client* conn = nullptr;
  uint32_t id = 0;
  std::string data;  // bytes of the last event handed out
  uint32_t unacked = 0;
  bool done = false;
  bool stdin_closed = false;
};

// Takes the next frame of a stream within wait_ms (-1: no limit).
int next_frame(Client& conn, uint32_t id, Frame& out, int32_t wait_ms, smolvm_plugin_error* err) {
  std::string error;
  const int rc = conn.next_frame(id, out, wait_ms, error);
  return rc == 0 ? 0 : set_error(err, rc, error);
}

// executor=auto takes the agent: it needs nothing but the VMM's own channel
// (ssh, rank 10, needs a network).
void probe(Agent, char* out_json, size_t cap, smolvm_plugin_error*) {
  smolvm::sdk::copy_out(out_json, cap,
                        "{\"available\":true,\"reason\":\"\",\"rank\":20,\"needs_network\":false}",
                        "probe JSON");
}

int connect(Agent, void** out_conn, const smolvm_executor_target* target, uint32_t timeout_ms,
            smolvm_plugin_error* err) {
  if (!target || !target->supervisor_socket || !*target->supervisor_socket) {
    return set_error(err, SMOLVM_EINVAL, "executor-agent needs the VM's supervisor socket");
  }
  auto conn = std::make_unique<Client>();
  std::string error;
  const int rc = conn->open(target->supervisor_socket, target->token ? target->token : "",
                            "executor-agent", timeout_ms, error);
  if (rc != 0) return set_error(err, rc, error);
  *out_conn = conn.release();
  return 0;
}

void disconnect(Agent, void* conn) { delete static_cast<Client*>(conn); }

int exec_start(Agent, void** out_exec, void* conn_ptr, const smolvm_executor_request* req,
               smolvm_plugin_error* err) {
  auto& conn = *static_cast<Client*>(conn_ptr);
  smolvm::proto::ExecRequest m;
  for (size_t i = 0; req->argv && i < req->argc; ++i) m.argv.emplace_back(req->argv[i]);
  if (req->command) m.shell = req->command;
  for (size_t i = 0; req->env && i < req->env_count; ++i) m.env.emplace_back(req->env[i]);
  if (req->cwd) m.cwd = req->cwd;
  m.timeout_ms = req->timeout_ms;
  const bool has_shell =
      req->struct_size >= offsetof(smolvm_executor_request, shell) + sizeof req->shell;
  if (has_shell && req->shell) m.shell_mode = req->shell;
  if (req->struct_size >= offsetof(smolvm_executor_request, term) + sizeof req->term) {
    if (req->user) m.user = req->user;
    if (req->pty_rows || req->pty_cols) {
      m.pty = smolvm::proto::PtyRequest{{req->pty_rows, req->pty_cols},
                                        req->term ? req->term : smolvm::proto::kDefaultTerm};
    }
  }
  m.window = kClientWindow;
  auto ex = std::make_unique<Exec>();
  ex->conn = &conn;
  ex->id = conn.open_stream();
  if (!conn.send(Type::kExec, 0, ex->id, smolvm::proto::to_json(m))) {
    conn.close_stream(ex->id);
    return set_error(err, SMOLVM_EIO, conn.error());
  }
  *out_exec = ex.release();
  return 0;
}

int exec_next_event(Agent, void* exec_ptr, smolvm_executor_event* out, int32_t wait_ms,
                    smolvm_plugin_error* err) {
  auto& ex = *static_cast<Exec*>(exec_ptr);
  if (ex.done) return set_error(err, SMOLVM_EDONE, "the command has exited");
  Frame f;
  for (;;) {
    const int rc = next_frame(*ex.conn, ex.id, f, wait_ms, err);
    if (rc != 0) return rc;
    *out = smolvm_executor_event{};
    switch (f.type) {
      case Type::kStdout:
      case Type::kStderr: {
        ex.data = std::move(f.payload);
        out->type = f.type == Type::kStdout ? SMOLVM_EVENT_STDOUT : SMOLVM_EVENT_STDERR;
        out->data = reinterpret_cast<const uint8_t*>(ex.data.data());
        out->len = ex.data.size();
        // Consumed by the caller now: let the agent send more.
        ex.unacked += static_cast<uint32_t>(ex.data.size());
        if (ex.unacked >= kClientCreditStep) {
          ex.conn->send(Type::kCredit, 0, ex.id, smolvm::proto::u32_le(ex.unacked));
          ex.unacked = 0;
        }
        return 0;
      }
      case Type::kExit: {
        smolvm::proto::ExitStatus st;
        std::string perr;
        ex.done = true;
        ex.conn->close_stream(ex.id);
        if (!smolvm::proto::parse(f.payload, st, perr)) {
          return set_error(err, SMOLVM_EPROTO, "malformed EXIT from the agent: " + perr);
        }
        out->type = SMOLVM_EVENT_EXIT;
        out->exit_code = st.exit_code;
        out->signal = st.signal;
        out->timed_out = st.timed_out ? 1 : 0;
        out->duration_us = st.duration_us;
        return 0;
      }
      case Type::kError:
        ex.done = true;
        ex.conn->close_stream(ex.id);
        return error_frame(f, err, "command failed: ");
      default:
        continue;  // nothing else belongs on an exec stream
    }
  }
}

int exec_write_stdin(Agent, void* exec_ptr, const uint8_t* data, size_t len,
                     smolvm_plugin_error* err) {
  auto& ex = *static_cast<Exec*>(exec_ptr);
  if (ex.stdin_closed) return set_error(err, SMOLVM_ESTATE, "stdin is already closed");
  // Only as much as the agent grants (stdin credit): a command that reads
  // slowly, or never, holds the writer here as a full pipe would, instead
  // of growing a buffer anywhere. A command that has ended takes the rest
  // as a closed pipe would: it is dropped.
  for (size_t off = 0; off < len;) {
    size_t n = 0;
    std::string error;
    if (const int rc =
            ex.conn->claim_stdin_credit(ex.id, std::min(kChunk, len - off), n, -1, error);
        rc != 0) {
      return set_error(err, rc, error);
    }
    if (n == 0) return 0;
    if (!ex.conn->send(Type::kStdin, 0, ex.id,
                       std::string_view(reinterpret_cast<const char*>(data) + off, n))) {
      return set_error(err, SMOLVM_EIO, ex.conn->error());
    }
    off += n;
  }
  return 0;
}

int exec_close_stdin(Agent, void* exec_ptr, smolvm_plugin_error* err) {
  auto& ex = *static_cast<Exec*>(exec_ptr);
  if (ex.stdin_closed || ex.done) return 0;
  ex.stdin_closed = true;
  if (!ex.conn->send(Type::kStdin, smolvm::proto::kFlagEnd, ex.id, "")) {
    return set_error(err, SMOLVM_EIO, ex.conn->error());
  }
  return 0;
}

int exec_kill(Agent, void* exec_ptr, int signal, smolvm_plugin_error* err) {
  auto& ex = *static_cast<Exec*>(exec_ptr);
  if (ex.done) return 0;
  if (!ex.conn->send(Type::kSignal, 0, ex.id,
                     smolvm::proto::to_json(smolvm::proto::SignalMsg{signal}))) {
    return set_error(err, SMOLVM_EIO, ex.conn->error());
  }
  return 0;
}

int exec_resize(Agent, void* exec_ptr, uint32_t rows, uint32_t cols, smolvm_plugin_error* err) {
  auto& ex = *static_cast<Exec*>(exec_ptr);
  if (ex.done) return 0;
  if (!ex.conn->send(Type::kResize, 0, ex.id,
                     smolvm::proto::to_json(smolvm::proto::Resize{rows, cols}))) {
    return set_error(err, SMOLVM_EIO, ex.conn->error());
  }
  return 0;
}

void exec_free(Agent, void* exec_ptr) {
  auto* ex = static_cast<Exec*>(exec_ptr);
  if (!ex) return;
  if (!ex->done) {
    // A stream dropped before its exit: kill the command, forget the stream.
    ex->conn->send(Type::kSignal, 0, ex->id,
                   smolvm::proto::to_json(smolvm::proto::SignalMsg{SIGKILL}));
    ex->conn->close_stream(ex->id);
  }
  delete ex;
}

// Writes a guest file from source, a chunk at a time, within timeout_ms (0:
// none) for the whole write, sends and the guest's answer alike (the SDK
// serves file_write through it). A write
// ended early is cancelled with an ERROR frame (the agent drops its hidden
// temporary file; the final name is only ever renamed into); if even that
// cannot be sent, the connection is shut down and the supervisor cancels it.
int file_write_bounded(Agent, void* conn_ptr, const char* guest_path, smolvm_bytes_source source,
                       void* ctx, uint32_t mode, uint32_t timeout_ms, smolvm_plugin_error* err) {
  auto& conn = *static_cast<Client*>(conn_ptr);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto left = [&]() -> int32_t { return timeout_ms > 0 ? smolvm::proto::ms_until(deadline) : -1; };
  const uint32_t id = conn.open_stream();
  auto cancel = [&](int status, const std::string& why) {
    set_error(err, status, why);
    conn.send_within(
        Type::kError, 0, id,
        smolvm::proto::to_json(smolvm::proto::ErrorMsg{"EIO", "write stopped by the client"}), 0);
    conn.close_stream(id);
    return status;
  };
  auto timed_out = [&]() {
    return cancel(SMOLVM_ETIMEOUT, std::string("writing ") + guest_path + " took longer than " +
                                       std::to_string(timeout_ms) + " ms");
  };
  int rc =
      conn.send_within(Type::kFileWrite, 0, id,
                       smolvm::proto::to_json(smolvm::proto::FileWrite{guest_path, mode}), left());
  std::string chunk(kChunk, '\0');
  for (;;) {
    if (rc == SMOLVM_ETIMEOUT) return timed_out();
    if (rc != 0) {
      conn.close_stream(id);
      return set_error(err, rc, conn.error());
    }
    size_t n = 0;
    const int src = source(ctx, reinterpret_cast<uint8_t*>(chunk.data()), chunk.size(), &n);
    if (src != 0) return cancel(src, std::string("reading the data for ") + guest_path + " failed");
    if (n > chunk.size()) {
      return cancel(SMOLVM_EINVAL, "the source gave more bytes than it was asked for");
    }
    if (timeout_ms > 0 && left() == 0) return timed_out();
    // An empty chunk is the end, sent with the end flag.
    rc = conn.send_within(Type::kData, n == 0 ? smolvm::proto::kFlagEnd : 0, id,
                          std::string_view(chunk.data(), n), left());
    if (n == 0 && rc == 0) break;
  }
  Frame f;
  for (;;) {
    rc = next_frame(conn, id, f, left(), err);
    if (rc == SMOLVM_ETIMEOUT) return timed_out();
    if (rc != 0) {
      conn.close_stream(id);
      return rc;
    }
    if (f.type == Type::kDone) break;
    if (f.type == Type::kError) {
      conn.close_stream(id);
      return error_frame(f, err, std::string("cannot write ") + guest_path + ": ");
    }
  }
  conn.close_stream(id);
  return 0;
}

int file_read_bounded(Agent, void* conn_ptr, const char* guest_path, smolvm_bytes_sink sink,
                      void* ctx, uint32_t timeout_ms, smolvm_plugin_error* err) {
  std::string error;
  const int rc = static_cast<Client*>(conn_ptr)->read_file(
      guest_path, [&](const uint8_t* d, size_t n) { return sink(ctx, d, n); }, timeout_ms, error);
  return rc == 0 ? 0 : set_error(err, rc, error);
}

}  // namespace

SMOLVM_PLUGIN_DEFINE_CXX(executor, agent, SMOLVM_PLUGIN_VERSION,
                         "the SmolVM guest agent, over the VM's supervisor socket", Agent)
