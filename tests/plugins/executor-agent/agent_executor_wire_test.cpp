// The agent executor plugin (plugins/executor-agent) loaded with dlopen as
// the host loads it, speaking to a real Unix socket. The test plays the
// supervisor's side with the real frame code, so what the plugin sends is
// read as the supervisor reads it, and each answer a supervisor or guest can
// give (refusals, errors, malformed frames, a dropped connection) is made
// for real on the socket.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <smolvm/plugin.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "protocol/messages.h"
#include "tests/support/frame_peer.h"
#include "tests/support/temp_dir.h"

namespace {

namespace proto = smolvm::proto;
using proto::Type;
using smolvm::test::FramePeer;

const smolvm_executor_vtable& vt() {
  static const smolvm_executor_vtable* table = [] {
    const std::string path = std::string(SMOLVM_PLUGIN_BUILD_DIR) + "/smolvm-executor-agent.so";
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      ADD_FAILURE() << dlerror();
      return static_cast<const smolvm_executor_vtable*>(nullptr);
    }
    auto entry = reinterpret_cast<smolvm_plugin_entry_fn>(dlsym(h, SMOLVM_PLUGIN_ENTRY_SYMBOL));
    return static_cast<const smolvm_executor_vtable*>(entry()->vtable);
  }();
  return *table;
}

std::string hello_ok() { return proto::to_json(proto::HelloOk{proto::kVersion, "stand-in", 0}); }

class AgentExecutorWire : public ::testing::Test {
 protected:
  // Serves one connection: `script` runs after the plugin's HELLO arrived
  // (and is recorded in hello_).
  void serve(std::function<void(FramePeer&)> script) {
    server_ = std::make_unique<smolvm::test::OneConnectionServer>(
        socket_, [this, script = std::move(script)](FramePeer& peer) {
          auto hello = peer.recv();
          if (!hello || hello->type != Type::kHello) return;
          std::string err;
          proto::parse(hello->payload, hello_, err);
          script(peer);
        });
  }
  // Connects as the runtime would; the plugin's status.
  int connect(uint32_t timeout_ms = 2000) {
    smolvm_executor_target target{};
    target.struct_size = sizeof target;
    target.vm_id = "vm-w";
    target.supervisor_socket = socket_.c_str();
    target.token = "tok-123";
    err_ = {};
    return vt().connect(&conn_, &target, timeout_ms, &err_);
  }
  void* start(const char* command) {
    smolvm_executor_request req{};
    req.struct_size = sizeof req;
    req.command = command;
    req.timeout_ms = 0;
    void* exec = nullptr;
    EXPECT_EQ(vt().exec_start(&exec, conn_, &req, &err_), 0) << err_.message;
    return exec;
  }
  void TearDown() override {
    if (conn_) vt().disconnect(conn_);
    server_.reset();
  }

  smolvm::test::TempDir dir_;
  std::string socket_ = dir_ / "s.sock";
  std::unique_ptr<smolvm::test::OneConnectionServer> server_;
  void* conn_ = nullptr;
  smolvm_plugin_error err_{};
  proto::Hello hello_;
};

TEST_F(AgentExecutorWire, ConnectSendsTheTokenAndWaitsForHelloOk) {
  serve([](FramePeer& peer) {
    peer.send(Type::kHelloOk, 0, hello_ok());
    peer.hold_open(5000);
  });
  ASSERT_EQ(connect(), 0) << err_.message;
  EXPECT_EQ(hello_.token, "tok-123");
  EXPECT_EQ(hello_.client, "executor-agent");
  EXPECT_EQ(hello_.version, proto::kVersion);
}

TEST_F(AgentExecutorWire, ARefusedHelloKeepsTheSupervisorsCodeAndMessage) {
  serve([](FramePeer& peer) {
    peer.send(Type::kError, 0, proto::to_json(proto::ErrorMsg{"EPERM", "bad token"}));
  });
  EXPECT_EQ(connect(), SMOLVM_EPERM);
  EXPECT_STREQ(err_.message, "the supervisor refused the connection: bad token");
}

TEST_F(AgentExecutorWire, NoSupervisorIsEstateNamingTheSocket) {
  EXPECT_EQ(connect(), SMOLVM_ESTATE);
  EXPECT_NE(std::string(err_.message).find("cannot reach the VM's supervisor at " + socket_),
            std::string::npos)
      << err_.message;
}

TEST_F(AgentExecutorWire, ASilentSupervisorTimesOutTheHello) {
  serve([](FramePeer& peer) { peer.hold_open(5000); });
  EXPECT_EQ(connect(300), SMOLVM_ETIMEOUT);
  EXPECT_STREQ(err_.message, "no HELLO_OK from the supervisor within 300 ms");
}

TEST_F(AgentExecutorWire, ATooLongSocketPathIsEinval) {
  socket_ = "/tmp/" + std::string(120, 'x');
  EXPECT_EQ(connect(), SMOLVM_EINVAL);
  EXPECT_NE(std::string(err_.message).find("too long"), std::string::npos) << err_.message;
}

// Events of two commands interleaved on one connection reach each its own.
TEST_F(AgentExecutorWire, StreamsAreDemultiplexed) {
  std::atomic<uint32_t> first{0}, second{0};
  serve([&](FramePeer& peer) {
    peer.send(Type::kHelloOk, 0, hello_ok());
    auto a = peer.recv_type(Type::kExec);
    auto b = peer.recv_type(Type::kExec);
    if (!a || !b) return;
    first = a->stream;
    second = b->stream;
    peer.send(Type::kStdout, b->stream, "from b");
    peer.send(Type::kStderr, a->stream, "from a");
    peer.send(Type::kExit, b->stream, proto::to_json(proto::ExitStatus{2, 0, false, 5}));
    peer.send(Type::kExit, a->stream, proto::to_json(proto::ExitStatus{0, 0, false, 6}));
    peer.hold_open(5000);
  });
  ASSERT_EQ(connect(), 0) << err_.message;
  void* a = start("echo a");
  void* b = start("echo b");
  smolvm_executor_event ev{};
  ASSERT_EQ(vt().exec_next_event(a, &ev, 5000, &err_), 0) << err_.message;
  EXPECT_EQ(ev.type, SMOLVM_EVENT_STDERR);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ev.data), ev.len), "from a");
  ASSERT_EQ(vt().exec_next_event(a, &ev, 5000, &err_), 0);
  EXPECT_EQ(ev.type, SMOLVM_EVENT_EXIT);
  EXPECT_EQ(ev.exit_code, 0);
  ASSERT_EQ(vt().exec_next_event(b, &ev, 5000, &err_), 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ev.data), ev.len), "from b");
  ASSERT_EQ(vt().exec_next_event(b, &ev, 5000, &err_), 0);
  EXPECT_EQ(ev.type, SMOLVM_EVENT_EXIT);
  EXPECT_EQ(ev.exit_code, 2);
  EXPECT_EQ(ev.duration_us, 5u);
  EXPECT_EQ(vt().exec_next_event(b, &ev, 0, &err_), SMOLVM_EDONE);
  EXPECT_NE(first.load(), second.load());
  vt().exec_free(a);
  vt().exec_free(b);
}

TEST_F(AgentExecutorWire, ExecSendsTheRequestAsTheAgentReadsIt) {
  proto::ExecRequest seen;
  std::atomic<bool> got{false};
  serve([&](FramePeer& peer) {
    peer.send(Type::kHelloOk, 0, hello_ok());
    auto e = peer.recv_type(Type::kExec);
    std::string err;
    if (e && proto::parse(e->payload, seen, err)) got = true;
    peer.hold_open(5000);
  });
  ASSERT_EQ(connect(), 0) << err_.message;
  const char* env[] = {"A=1", "B=two"};
  smolvm_executor_request req{};
  req.struct_size = sizeof req;
  req.command = "echo $A";
  req.env = env;
  req.env_count = 2;
  req.cwd = "/tmp";
  req.timeout_ms = 1234;
  req.shell = "raw";
  void* exec = nullptr;
  ASSERT_EQ(vt().exec_start(&exec, conn_, &req, &err_), 0) << err_.message;
  vt().exec_free(exec);
  vt().disconnect(conn_);  // the peer sees EOF and returns
  conn_ = nullptr;
  server_.reset();
  ASSERT_TRUE(got.load());
  EXPECT_EQ(seen.shell, "echo $A");
  EXPECT_EQ(seen.shell_mode, "raw");
  EXPECT_EQ(seen.env, (std::vector<std::string>{"A=1", "B=two"}));
  EXPECT_EQ(seen.cwd, "/tmp");
  EXPECT_EQ(seen.timeout_ms, 1234u);
  EXPECT_GT(seen.window, 0u);
}

// Output consumed is granted back, a megabyte at a time, on the stream.
TEST_F(AgentExecutorWire, ConsumedOutputIsCreditedBack) {
  std::atomic<uint32_t> credited{0};
  serve([&](FramePeer& peer) {
    peer.send(Type::kHelloOk, 0, hello_ok());
    auto e = peer.recv_type(Type::kExec);
    if (!e) return;
    const std::string chunk(256 << 10, 'x');
    for (int i = 0; i < 4; ++i) peer.send(Type::kStdout, e->stream, chunk);
    auto c = peer.recv_type(Type::kCredit);
    uint32_t n = 0;
    if (c && c->stream == e->stream && proto::read_u32_le(c->payload, n)) credited = n;
    peer.send(Type::kExit, e->stream, proto::to_json(proto::ExitStatus{}));
    peer.hold_open(5000);
  });
  ASSERT_EQ(connect(), 0) << err_.message;
  void* exec = start("yes");
  smolvm_executor_event ev{};
  size_t bytes = 0;
  do {
    ASSERT_EQ(vt().exec_next_event(exec, &ev, 5000, &err_), 0) << err_.message;
    if (ev.type == SMOLVM_EVENT_STDOUT) bytes += ev.len;
  } while (ev.type != SMOLVM_EVENT_EXIT);
  EXPECT_EQ(bytes, 1u << 20);
  EXPECT_EQ(credited.load(), 1u << 20);
  vt().exec_free(exec);
}

TEST_F(AgentExecutorWire, ErrorOnTheStreamKeepsTheGuestsCode) {
  serve([](FramePeer& peer) {
    peer.send(Type::kHelloOk, 0, hello_ok());
    auto e = peer.recv_type(Type::kExec);
    if (!e) return;
    peer.send(Type::kError, e->stream,
              proto::to_json(proto::ErrorMsg{"ENOTFOUND", "no such program: nope"}));
    peer.hold_open(5000);
  });
  ASSERT_EQ(connect(), 0) << err_.message;
  void* exec = start("nope");
  smolvm_executor_event ev{};
  EXPECT_EQ(vt().exec_next_event(exec, &ev, 5000, &err_), SMOLVM_ENOTFOUND);
  EXPECT_STREQ(err_.message, "command failed: no such program: nope");
  EXPECT_EQ(vt().exec_next_event(exec, &ev, 0, &err_), SMOLVM_EDONE);
  vt().exec_free(exec);
}

// What the guest sends is untrusted: a bad EXIT is refused, not believed.
TEST_F(AgentExecutorWire, AMalformedExitIsEproto) {
  serve([](FramePeer& peer) {
    peer.send(Type::kHelloOk, 0, hello_ok());
    auto e = peer.recv_type(Type::kExec);
    if (!e) return;
    peer.send(Type::kExit, e->stream, R"({"exit_code":"zero"})");
    peer.hold_open(5000);
  });
  ASSERT_EQ(connect(), 0) << err_.message;
  void* exec = start("true");
  smolvm_executor_event ev{};
  EXPECT_EQ(vt().exec_next_event(exec, &ev, 5000, &err_), SMOLVM_EPROTO);
  EXPECT_EQ(std::string(err_.message).rfind("malformed EXIT from the agent: ", 0), 0u)
      << err_.message;
  vt().exec_free(exec);
}

TEST_F(AgentExecutorWire, ALostConnectionIsEioNotAHang) {
  serve([](FramePeer& peer) {
    peer.send(Type::kHelloOk, 0, hello_ok());
    peer.recv_type(Type::kExec);
    peer.close();
  });
  ASSERT_EQ(connect(), 0) << err_.message;
  void* exec = start("sleep 100");
  smolvm_executor_event ev{};
  EXPECT_EQ(vt().exec_next_event(exec, &ev, 5000, &err_), SMOLVM_EIO);
  vt().exec_free(exec);
}

TEST_F(AgentExecutorWire, KillSendsTheSignalOnTheStream) {
  std::atomic<int> signal{0};
  serve([&](FramePeer& peer) {
    peer.send(Type::kHelloOk, 0, hello_ok());
    auto e = peer.recv_type(Type::kExec);
    auto s = peer.recv_type(Type::kSignal);
    proto::SignalMsg m;
    std::string err;
    if (e && s && s->stream == e->stream && proto::parse(s->payload, m, err)) signal = m.signal;
    peer.hold_open(5000);
  });
  ASSERT_EQ(connect(), 0) << err_.message;
  void* exec = start("sleep 100");
  EXPECT_EQ(vt().exec_kill(exec, SIGTERM, &err_), 0) << err_.message;
  vt().exec_free(exec);  // a SIGKILL follows; the peer keeps the first
  vt().disconnect(conn_);
  conn_ = nullptr;
  server_.reset();
  EXPECT_EQ(signal.load(), SIGTERM);
}

struct Sink {
  std::string data;
};
int to_sink(void* ctx, const uint8_t* d, size_t n) {
  static_cast<Sink*>(ctx)->data.append(reinterpret_cast<const char*>(d), n);
  return 0;
}

TEST_F(AgentExecutorWire, FileReadGathersDataUntilEnd) {
  std::string asked;
  serve([&](FramePeer& peer) {
    peer.send(Type::kHelloOk, 0, hello_ok());
    auto r = peer.recv_type(Type::kFileRead);
    if (!r) return;
    proto::FileRead m;
    std::string err;
    if (proto::parse(r->payload, m, err)) asked = m.path;
    peer.send(Type::kData, r->stream, "hello ");
    peer.send(Type::kData, r->stream, "world", proto::kFlagEnd);
    peer.hold_open(5000);
  });
  ASSERT_EQ(connect(), 0) << err_.message;
  Sink sink;
  ASSERT_EQ(vt().file_read_bounded(conn_, "/etc/motd", to_sink, &sink, 5000, &err_), 0)
      << err_.message;
  EXPECT_EQ(sink.data, "hello world");
  vt().disconnect(conn_);
  conn_ = nullptr;
  server_.reset();
  EXPECT_EQ(asked, "/etc/motd");
}

TEST_F(AgentExecutorWire, FileReadOfAMissingFileKeepsTheCode) {
  serve([](FramePeer& peer) {
    peer.send(Type::kHelloOk, 0, hello_ok());
    auto r = peer.recv_type(Type::kFileRead);
    if (!r) return;
    peer.send(Type::kError, r->stream,
              proto::to_json(proto::ErrorMsg{"ENOTFOUND", "/nope: no such file"}));
    peer.hold_open(5000);
  });
  ASSERT_EQ(connect(), 0) << err_.message;
  Sink sink;
  EXPECT_EQ(vt().file_read_bounded(conn_, "/nope", to_sink, &sink, 5000, &err_), SMOLVM_ENOTFOUND);
  EXPECT_STREQ(err_.message, "cannot read /nope: /nope: no such file");
}

// A guest that never sends the file: the read ends at its timeout and is
// cancelled in the guest with an ERROR on the stream.
TEST_F(AgentExecutorWire, FileReadTimesOutAndCancels) {
  std::atomic<bool> cancelled{false};
  serve([&](FramePeer& peer) {
    peer.send(Type::kHelloOk, 0, hello_ok());
    auto r = peer.recv_type(Type::kFileRead);
    if (!r) return;
    auto e = peer.recv_type(Type::kError, 5000);
    cancelled = e && e->stream == r->stream;
    peer.hold_open(5000);
  });
  ASSERT_EQ(connect(), 0) << err_.message;
  Sink sink;
  EXPECT_EQ(vt().file_read_bounded(conn_, "/slow", to_sink, &sink, 300, &err_), SMOLVM_ETIMEOUT);
  EXPECT_STREQ(err_.message, "reading /slow took longer than 300 ms");
  vt().disconnect(conn_);
  conn_ = nullptr;
  server_.reset();
  EXPECT_TRUE(cancelled.load());
}

struct Source {
  std::string data;
  size_t pos = 0;
};
int from_source(void* ctx, uint8_t* buf, size_t cap, size_t* out_len) {
  auto* s = static_cast<Source*>(ctx);
  const size_t n = std::min(cap, s->data.size() - s->pos);
  std::memcpy(buf, s->data.data() + s->pos, n);
  s->pos += n;
  *out_len = n;
  return 0;
}

TEST_F(AgentExecutorWire, FileWriteSendsPathModeAndDataThenWaitsForDone) {
  proto::FileWrite seen;
  std::string received;
  serve([&](FramePeer& peer) {
    peer.send(Type::kHelloOk, 0, hello_ok());
    auto w = peer.recv_type(Type::kFileWrite);
    if (!w) return;
    std::string err;
    proto::parse(w->payload, seen, err);
    for (;;) {
      auto d = peer.recv_type(Type::kData);
      if (!d) return;
      received += d->payload;
      if (d->end()) break;
    }
    peer.send(Type::kDone, w->stream, "");
    peer.hold_open(5000);
  });
  ASSERT_EQ(connect(), 0) << err_.message;
  Source src{std::string(600 << 10, 'z') + "tail"};
  ASSERT_EQ(vt().file_write_bounded(conn_, "/root/f", from_source, &src, 0600, 5000, &err_), 0)
      << err_.message;
  vt().disconnect(conn_);
  conn_ = nullptr;
  server_.reset();
  EXPECT_EQ(seen.path, "/root/f");
  EXPECT_EQ(seen.mode, 0600u);
  EXPECT_EQ(received, src.data);
}

TEST_F(AgentExecutorWire, FileWriteRefusedByTheGuestKeepsTheCode) {
  serve([](FramePeer& peer) {
    peer.send(Type::kHelloOk, 0, hello_ok());
    auto w = peer.recv_type(Type::kFileWrite);
    if (!w) return;
    peer.send(Type::kError, w->stream,
              proto::to_json(proto::ErrorMsg{"EPERM", "/proc/x: read-only file system"}));
    peer.hold_open(5000);
  });
  ASSERT_EQ(connect(), 0) << err_.message;
  Source src{"data"};
  EXPECT_EQ(vt().file_write_bounded(conn_, "/proc/x", from_source, &src, 0644, 5000, &err_),
            SMOLVM_EPERM);
  EXPECT_STREQ(err_.message, "cannot write /proc/x: /proc/x: read-only file system");
}

}  // namespace
