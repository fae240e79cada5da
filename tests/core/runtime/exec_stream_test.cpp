// A started command's deadlines (ExecStream, core/runtime/guest_session):
// the real agent executor plugin, loaded as the runtime loads it, connected
// to a real Unix socket. The far end is played by the test with the real
// frame code: a guest that ignores SIGKILL, or answers late, cannot be made
// to order without a VM, so the peer stands in for that guest and says so.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "core/common/error.h"
#include "core/plugins/loader.h"
#include "core/runtime/guest_session.h"
#include "protocol/messages.h"
#include "tests/support/failure.h"
#include "tests/support/frame_peer.h"
#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

using proto::Type;
using test::FramePeer;
using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

const smolvm_executor_vtable& agent_executor() {
  static PluginRegistry plugins(SMOLVM_PLUGIN_BUILD_DIR);
  return plugins.get(SMOLVM_PLUGIN_EXECUTOR, "agent").vtable<smolvm_executor_vtable>();
}

// What the guest side saw of one command.
struct GuestSide {
  std::atomic<int> kill_signal{0};
  std::atomic<int64_t> kill_at_ms{-1};  // since the EXEC arrived
};

// Plays the supervisor and agent: HELLO, then one EXEC; `then` decides what
// the guest does with it.
class ExecStreamTest : public ::testing::Test {
 protected:
  void serve(const std::function<void(FramePeer&, uint32_t stream)>& then) {
    server_ = std::make_unique<test::OneConnectionServer>(dir_ / "s.sock", [this,
                                                                            then](FramePeer& peer) {
      auto hello = peer.recv();
      if (!hello || hello->type != Type::kHello) return;
      peer.send(Type::kHelloOk, 0, proto::to_json(proto::HelloOk{proto::kVersion, "stand-in", 0}));
      auto exec = peer.recv_type(Type::kExec);
      if (!exec) return;
      exec_at_ = Clock::now();
      then(peer, exec->stream);
    });
    smolvm_executor_target target{};
    target.struct_size = sizeof target;
    target.vm_id = "vm-x";
    target.supervisor_socket = socket_path_.c_str();
    target.token = "t";
    smolvm_plugin_error err{};
    ASSERT_EQ(vt().connect(&conn_, &target, 2000, &err), 0) << err.message;
  }
  // The guest ignores the kill: it records the SIGNAL and never answers.
  void serve_guest_ignoring_kill() {
    serve([this](FramePeer& peer, uint32_t stream) {
      await_kill(peer, stream);
      peer.hold_open(10000);
    });
  }
  // Waits for the guest's SIGNAL and records it.
  void await_kill(FramePeer& peer, uint32_t stream) {
    auto sig = peer.recv_type(Type::kSignal, 10000);
    if (!sig || sig->stream != stream) return;
    proto::SignalMsg m;
    std::string err;
    if (!proto::parse(sig->payload, m, err)) return;
    guest_.kill_at_ms = ms_since(exec_at_);
    guest_.kill_signal = m.signal;
  }
  std::unique_ptr<ExecStream> start(uint32_t timeout_ms) {
    const char* argv[] = {"sleep", "100"};
    smolvm_executor_request req{};
    req.struct_size = sizeof req;
    req.argv = argv;
    req.argc = 2;
    req.timeout_ms = timeout_ms;
    void* exec = nullptr;
    smolvm_plugin_error err{};
    EXPECT_EQ(vt().exec_start(&exec, conn_, &req, &err), 0) << err.message;
    return std::make_unique<ExecStream>(vt(), exec, timeout_ms);
  }
  void TearDown() override {
    stream_.reset();
    if (conn_) vt().disconnect(conn_);
    server_.reset();
  }
  static const smolvm_executor_vtable& vt() { return agent_executor(); }

  test::TempDir dir_;
  std::string socket_path_ = dir_ / "s.sock";
  std::unique_ptr<test::OneConnectionServer> server_;
  void* conn_ = nullptr;
  std::unique_ptr<ExecStream> stream_;
  GuestSide guest_;
  Clock::time_point exec_at_;
};

TEST_F(ExecStreamTest, OutputThenExitThenDone) {
  serve([](FramePeer& peer, uint32_t stream) {
    peer.send(Type::kStdout, stream, "hello\n");
    peer.send(Type::kExit, stream, proto::to_json(proto::ExitStatus{3, 0, false, 42}));
    peer.hold_open(5000);
  });
  stream_ = start(0);
  smolvm_executor_event ev{};
  ASSERT_EQ(stream_->next(ev, 5000), 0);
  EXPECT_EQ(ev.type, SMOLVM_EVENT_STDOUT);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ev.data), ev.len), "hello\n");
  ASSERT_EQ(stream_->next(ev, 5000), 0);
  EXPECT_EQ(ev.type, SMOLVM_EVENT_EXIT);
  EXPECT_EQ(ev.exit_code, 3);
  EXPECT_EQ(ev.timed_out, 0);
  EXPECT_EQ(ev.duration_us, 42u);
  EXPECT_FALSE(stream_->unconfirmed());
  EXPECT_EQ(stream_->next(ev, 5000), SMOLVM_EDONE);
}

TEST_F(ExecStreamTest, CallersWaitEndsWithEtimeoutAndTheCommandGoesOn) {
  serve([this](FramePeer& peer, uint32_t stream) { await_kill(peer, stream); });
  stream_ = start(0);
  smolvm_executor_event ev{};
  const auto t0 = Clock::now();
  EXPECT_EQ(stream_->next(ev, 200), SMOLVM_ETIMEOUT);
  EXPECT_GE(ms_since(t0), 190);
  EXPECT_LT(ms_since(t0), 2000);
  EXPECT_EQ(guest_.kill_signal.load(), 0) << "a caller's wait is no timeout of the command";
}

// The guest never confirms the kill: the host ends the stream itself at
// timeout + SMOLVM_EXEC_GRACE_MS, with a made-up timed-out exit.
TEST_F(ExecStreamTest, GuestThatIgnoresTheKillIsGivenUpAfterTheGrace) {
  serve_guest_ignoring_kill();
  stream_ = start(300);
  smolvm_executor_event ev{};
  const auto t0 = Clock::now();
  ASSERT_EQ(stream_->next(ev, -1), 0);
  const int64_t took = ms_since(t0);
  EXPECT_EQ(ev.type, SMOLVM_EVENT_EXIT);
  EXPECT_EQ(ev.timed_out, 1);
  EXPECT_EQ(ev.signal, SIGKILL);
  EXPECT_EQ(ev.exit_code, 128 + SIGKILL);
  EXPECT_TRUE(stream_->unconfirmed());
  EXPECT_GE(took, 300 + SMOLVM_EXEC_GRACE_MS - 20);
  EXPECT_LT(took, 300 + SMOLVM_EXEC_GRACE_MS + 1500);
  EXPECT_GE(ev.duration_us, (300 + SMOLVM_EXEC_GRACE_MS - 20) * 1000u);
  // The host killed it at the timeout, not the guest's own timer.
  EXPECT_EQ(guest_.kill_signal.load(), SIGKILL);
  EXPECT_GE(guest_.kill_at_ms.load(), 280);
  EXPECT_LT(guest_.kill_at_ms.load(), 300 + 1000);
  EXPECT_EQ(stream_->next(ev, 0), SMOLVM_EDONE);
}

// The guest confirms within the grace: its exit is the one reported, marked
// timed out because the host killed it at the deadline.
TEST_F(ExecStreamTest, KillConfirmedByTheGuestIsATimedOutExit) {
  serve([this](FramePeer& peer, uint32_t stream) {
    await_kill(peer, stream);
    peer.send(Type::kExit, stream, proto::to_json(proto::ExitStatus{137, SIGKILL, false, 7}));
    peer.hold_open(5000);
  });
  stream_ = start(300);
  smolvm_executor_event ev{};
  const auto t0 = Clock::now();
  ASSERT_EQ(stream_->next(ev, -1), 0);
  EXPECT_LT(ms_since(t0), 300 + SMOLVM_EXEC_GRACE_MS);
  EXPECT_EQ(ev.type, SMOLVM_EVENT_EXIT);
  EXPECT_EQ(ev.timed_out, 1);
  EXPECT_EQ(ev.signal, SIGKILL);
  EXPECT_EQ(ev.duration_us, 7u);
  EXPECT_FALSE(stream_->unconfirmed());
}

// A caller polling with short waits still gets the kill at the deadline.
TEST_F(ExecStreamTest, ShortWaitsDoNotPostponeTheDeadline) {
  serve_guest_ignoring_kill();
  stream_ = start(300);
  smolvm_executor_event ev{};
  const auto t0 = Clock::now();
  int rc = SMOLVM_ETIMEOUT;
  while (rc == SMOLVM_ETIMEOUT && ms_since(t0) < 10000) rc = stream_->next(ev, 50);
  ASSERT_EQ(rc, 0);
  EXPECT_TRUE(stream_->unconfirmed());
  EXPECT_LT(ms_since(t0), 300 + SMOLVM_EXEC_GRACE_MS + 1500);
  EXPECT_EQ(guest_.kill_signal.load(), SIGKILL);
}

TEST(ExecRequestCheck, RefusalsNameTheFieldAndValue) {
  auto message = [](const ExecRequest& r) {
    const test::Failure f = test::failure_of([&] { check_exec_request(r); });
    EXPECT_EQ(f.status, f.message.empty() ? 0 : SMOLVM_EINVAL);
    return f.message;
  };
  ExecRequest both;
  both.argv = {"ls"};
  both.command = "ls";
  EXPECT_EQ(message(both), "exec: exactly one of argv (non-empty) and command must be set");
  EXPECT_EQ(message(ExecRequest{}),
            "exec: exactly one of argv (non-empty) and command must be set");
  ExecRequest shell;
  shell.command = "ls";
  shell.shell = "zsh";
  EXPECT_EQ(message(shell), "shell='zsh': must be \"login\" or \"raw\"");
  ExecRequest env;
  env.argv = {"env"};
  env.env = {"=x"};
  EXPECT_EQ(message(env), "env entry '=x': must be KEY=VALUE with a non-empty KEY");
  env.env = {"NOEQUALS"};
  EXPECT_EQ(message(env), "env entry 'NOEQUALS': must be KEY=VALUE with a non-empty KEY");
  ExecRequest good;
  good.command = "ls";
  good.shell = "raw";
  good.env = {"A=", "B=c=d"};
  EXPECT_EQ(message(good), "");
}

}  // namespace
}  // namespace smolvm
