// The client hub over real socketpairs: the test plays the clients on one
// end and the VM side (what the hub asks of the supervisor) in TestVm.
#include "core/supervisor/client_hub.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "protocol/fd_io.h"
#include "protocol/messages.h"
#include "smolvm/smolvm.h"

namespace smolvm {
namespace {

using proto::Decoder;
using proto::Frame;
using proto::Type;

struct TestVm : ClientHub::Vm {
  bool running = true;
  bool agent = true;
  bool done = false;
  std::vector<Frame> to_agent;
  uint32_t stop_timeout = 0;
  bool stop_force = false;
  int stops = 0;

  bool accepts_streams() const override { return running && agent; }
  bool agent_connected() const override { return agent; }
  void send_to_agent(Type type, uint8_t flags, uint32_t stream, std::string_view payload) override {
    Frame f;
    f.type = type;
    f.flags = flags;
    f.stream = stream;
    f.payload = std::string(payload);
    to_agent.push_back(f);
  }
  void stop_requested(uint32_t timeout_ms, bool force) override {
    ++stops;
    stop_timeout = timeout_ms;
    stop_force = force;
  }
  int pause_requested(bool pause, std::string& message) override {
    if (is_paused == pause) {
      message = is_paused ? "vm 'vm1' is paused: only a running VM can be paused"
                          : "vm 'vm1' is running: only a paused VM can be resumed";
      return SMOLVM_ESTATE;
    }
    is_paused = pause;
    return 0;
  }
  int wake_for_stream(std::string& message) override {
    if (!is_paused) return 0;
    if (paused_by_idle) {
      is_paused = paused_by_idle = false;
      return 0;
    }
    message = "vm 'vm1' is paused: resume it first";
    return SMOLVM_ESTATE;
  }
  int snapshot_requested(uint64_t client, const proto::VmSnapshot& request,
                         std::string& message) override {
    if (request.dir.empty()) {
      message = "no folder";
      return SMOLVM_EINVAL;
    }
    snapshot_dirs.push_back(request.dir);
    snapshot_client = client;
    return 0;
  }
  bool streams_wait() const override { return waiting; }
  bool ended() const override { return done; }
  uint64_t snapshot_client = 0;
  bool waiting = false;
  std::vector<std::string> snapshot_dirs;
  bool is_paused = false;
  bool paused_by_idle = false;
};

// One client: its end of a socketpair, the hub's end registered in the hub.
class Client {
 public:
  Client(ClientHub& hub) : hub_(hub) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    fd_ = sv[0];
    id_ = hub.add_client(sv[1]);
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  uint64_t id() const { return id_; }

  // Sends a frame and lets the hub handle it.
  void send(Type type, uint32_t stream, const std::string& payload, uint8_t flags = 0) {
    std::string out;
    proto::append_frame(out, type, flags, stream, payload);
    ASSERT_TRUE(proto::write_all(fd_, out));
    hub_.on_client_event(id_, POLLIN);
  }
  void hello(const std::string& token) {
    send(Type::kHello, 0, proto::to_json(proto::Hello{proto::kVersion, token, "test"}));
  }
  // The next frame the hub wrote to this client.
  Frame receive() {
    Frame f;
    for (;;) {
      const auto res = decoder_.next(f);
      if (res == Decoder::Result::kFrame) return f;
      EXPECT_NE(res, Decoder::Result::kError);
      char buf[4096];
      const long n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) {
        ADD_FAILURE() << "the hub wrote nothing more";
        return {};
      }
      decoder_.feed(buf, static_cast<size_t>(n));
    }
  }
  std::string error_code(const Frame& f) {
    proto::ErrorMsg e;
    std::string err;
    EXPECT_EQ(f.type, Type::kError);
    EXPECT_TRUE(proto::parse(f.payload, e, err)) << err;
    return e.code;
  }
  void hang_up() {
    ::close(fd_);
    fd_ = -1;
    hub_.on_client_event(id_, POLLIN | POLLHUP);
  }

 private:
  ClientHub& hub_;
  int fd_ = -1;
  uint64_t id_ = 0;
  Decoder decoder_;
};

struct ClientHubTest : ::testing::Test {
  TestVm vm;
  ClientHub hub{vm, "vm1", "secret"};
};

TEST_F(ClientHubTest, GreetsAClientWithTheRightTokenWithTheAgentVersion) {
  hub.set_agent_version("agent 1.2");
  Client c(hub);
  c.hello("secret");
  const Frame f = c.receive();
  ASSERT_EQ(f.type, Type::kHelloOk);
  proto::HelloOk ok;
  std::string err;
  ASSERT_TRUE(proto::parse(f.payload, ok, err)) << err;
  EXPECT_EQ(ok.agent, "agent 1.2");
  EXPECT_EQ(ok.version, proto::kVersion);
}

TEST_F(ClientHubTest, RefusesAWrongTokenAndClosesTheClient) {
  Client c(hub);
  c.hello("guess");
  EXPECT_EQ(c.error_code(c.receive()), "EPERM");
  hub.reap_closed_clients();
  EXPECT_EQ(hub.client_count(), 0u);
}

TEST_F(ClientHubTest, RefusesAVersionOneClientNamingBothVersions) {
  Client c(hub);
  c.send(Type::kHello, 0, proto::to_json(proto::Hello{1, "secret", "old"}));
  const Frame f = c.receive();
  EXPECT_EQ(c.error_code(f), "EUNSUPPORTED");
  EXPECT_NE(f.payload.find("version 1"), std::string::npos) << f.payload;
  EXPECT_NE(f.payload.find("version 2"), std::string::npos) << f.payload;
}

TEST_F(ClientHubTest, TheFirstFrameMustBeHello) {
  Client c(hub);
  c.send(Type::kPing, 0, "x");
  EXPECT_EQ(c.error_code(c.receive()), "EPROTO");
  EXPECT_TRUE(vm.to_agent.empty());
}

TEST_F(ClientHubTest, AnswersPingAndPassesAStopToTheVm) {
  Client c(hub);
  c.hello("secret");
  c.receive();
  c.send(Type::kPing, 0, "p");
  const Frame pong = c.receive();
  EXPECT_EQ(pong.type, Type::kPong);
  EXPECT_EQ(pong.payload, "p");
  c.send(Type::kVmStop, 0, proto::to_json(proto::VmStop{0, true}));
  EXPECT_EQ(c.receive().type, Type::kVmStopping);
  EXPECT_EQ(vm.stops, 1);
  EXPECT_EQ(vm.stop_timeout, 10000u);  // 0 means the default
  EXPECT_TRUE(vm.stop_force);
}

TEST_F(ClientHubTest, PassesPauseAndResumeToTheVmAndRefusesStreamsWhilePaused) {
  Client c(hub);
  c.hello("secret");
  c.receive();
  c.send(Type::kVmPause, 0, "{}");
  EXPECT_EQ(c.receive().type, Type::kVmPaused);
  EXPECT_TRUE(vm.is_paused);
  // A second pause: the VM's refusal, with its status, on the control stream.
  c.send(Type::kVmPause, 0, "{}");
  const Frame again = c.receive();
  EXPECT_EQ(again.stream, 0u);
  EXPECT_EQ(c.error_code(again), "ESTATE");
  c.send(Type::kExec, 1, "{}");
  const Frame refused = c.receive();
  EXPECT_EQ(refused.stream, 1u);
  proto::ErrorMsg e;
  std::string err;
  ASSERT_TRUE(proto::parse(refused.payload, e, err)) << err;
  EXPECT_EQ(e.code, "ESTATE");
  EXPECT_EQ(e.message, "vm 'vm1' is paused: resume it first");
  EXPECT_TRUE(vm.to_agent.empty());
  c.send(Type::kVmResume, 0, "{}");
  EXPECT_EQ(c.receive().type, Type::kVmResumed);
  c.send(Type::kExec, 1, "{}");
  EXPECT_EQ(vm.to_agent.size(), 1u);
}

TEST_F(ClientHubTest, AStreamWakesAVmItsIdlePolicyPaused) {
  Client c(hub);
  c.hello("secret");
  c.receive();
  vm.is_paused = vm.paused_by_idle = true;
  c.send(Type::kExec, 1, "{}");
  ASSERT_EQ(vm.to_agent.size(), 1u);
  EXPECT_EQ(vm.to_agent[0].type, Type::kExec);
  EXPECT_FALSE(vm.is_paused);
}

TEST_F(ClientHubTest, SnapshotRequestGoesToTheVmAndItsAnswerBack) {
  Client c(hub);
  c.hello("secret");
  c.receive();
  c.send(Type::kVmSnapshot, 0, proto::to_json(proto::VmSnapshot{"/tmp/snap-x", false}));
  EXPECT_EQ(vm.snapshot_client, c.id());
  // Answered once written (the supervisor writes it on a thread).
  proto::VmSnapshotted written;
  written.state_bytes = 7;
  hub.snapshot_answered(c.id(), 0, written, "");
  const Frame done = c.receive();
  ASSERT_EQ(done.type, Type::kVmSnapshotted);
  proto::VmSnapshotted sizes;
  std::string err;
  ASSERT_TRUE(proto::parse(done.payload, sizes, err)) << err;
  EXPECT_EQ(sizes.state_bytes, 7u);
  EXPECT_EQ(vm.snapshot_dirs, std::vector<std::string>{"/tmp/snap-x"});
  // A malformed request names what is wrong; the VM never sees it.
  c.send(Type::kVmSnapshot, 0, "{\"stop\":true}");
  const Frame bad = c.receive();
  EXPECT_EQ(c.error_code(bad), "EINVAL");
  EXPECT_EQ(vm.snapshot_dirs.size(), 1u);
}

TEST_F(ClientHubTest, AFailedSnapshotIsAnsweredWithItsStatusAndAGoneClientWithNothing) {
  Client c(hub);
  c.hello("secret");
  c.receive();
  c.send(Type::kVmSnapshot, 0, proto::to_json(proto::VmSnapshot{"/tmp/snap-y", false}));
  hub.snapshot_answered(c.id(), SMOLVM_EIO, {}, "disk full");
  const Frame failed = c.receive();
  EXPECT_EQ(failed.stream, 0u);
  EXPECT_EQ(c.error_code(failed), "EIO");
  hub.snapshot_answered(c.id() + 100, 0, {}, "");  // nobody there: nothing happens
  EXPECT_EQ(hub.client_count(), 1u);
}

TEST_F(ClientHubTest, AStreamAskedForWhileStreamsWaitIsHeldWithWhatFollowsUntilReleased) {
  Client a(hub), b(hub);
  a.hello("secret");
  a.receive();
  b.hello("secret");
  b.receive();
  vm.waiting = true;
  a.send(Type::kExec, 1, "{\"argv\":[\"true\"]}");
  a.send(Type::kStdin, 1, "in");
  EXPECT_TRUE(vm.to_agent.empty());
  // The waiting client is not read meanwhile; another one is answered.
  std::vector<pollfd> fds;
  std::vector<uint64_t> ids;
  hub.add_pollfds(fds, ids, false);
  for (size_t i = 0; i < fds.size(); ++i) {
    EXPECT_EQ((fds[i].events & POLLIN) != 0, ids[i] != a.id()) << "client " << ids[i];
  }
  b.send(Type::kPing, 0, "p");
  EXPECT_EQ(b.receive().type, Type::kPong);
  hub.release_held();  // still waiting: nothing moves
  EXPECT_TRUE(vm.to_agent.empty());
  vm.waiting = false;
  hub.release_held();
  ASSERT_EQ(vm.to_agent.size(), 2u);
  EXPECT_EQ(vm.to_agent[0].type, Type::kExec);
  EXPECT_EQ(vm.to_agent[1].type, Type::kStdin);
  EXPECT_EQ(vm.to_agent[1].payload, "in");
  fds.clear();
  ids.clear();
  hub.add_pollfds(fds, ids, false);
  for (const pollfd& p : fds) EXPECT_NE(p.events & POLLIN, 0);
}

TEST_F(ClientHubTest, RoutesStreamsBothWaysUnderTheClientsOwnNumbers) {
  Client a(hub), b(hub);
  a.hello("secret");
  a.receive();
  b.hello("secret");
  b.receive();
  a.send(Type::kExec, 1, "{}");
  b.send(Type::kExec, 1, "{}");  // same local number, another client
  ASSERT_EQ(vm.to_agent.size(), 2u);
  const uint32_t ga = vm.to_agent[0].stream, gb = vm.to_agent[1].stream;
  EXPECT_NE(ga, gb);
  EXPECT_EQ(hub.stream_count(), 2u);

  Frame out;
  out.type = Type::kStdout;
  out.stream = gb;
  out.payload = "for b";
  hub.from_agent(out);
  const Frame got = b.receive();
  EXPECT_EQ(got.type, Type::kStdout);
  EXPECT_EQ(got.stream, 1u);
  EXPECT_EQ(got.payload, "for b");

  a.send(Type::kStdin, 1, "input");
  ASSERT_EQ(vm.to_agent.size(), 3u);
  EXPECT_EQ(vm.to_agent[2].type, Type::kStdin);
  EXPECT_EQ(vm.to_agent[2].stream, ga);

  // A duplicate local number is refused on that stream.
  a.send(Type::kExec, 1, "{}");
  const Frame dup = a.receive();
  EXPECT_EQ(a.error_code(dup), "EINVAL");
  EXPECT_EQ(dup.stream, 1u);
}

TEST_F(ClientHubTest, RefusesNewStreamsWhileTheVmDoesNotTakeThem) {
  vm.running = false;
  Client c(hub);
  c.hello("secret");
  c.receive();
  c.send(Type::kExec, 3, "{}");
  const Frame f = c.receive();
  EXPECT_EQ(c.error_code(f), "ESTATE");
  EXPECT_EQ(f.stream, 3u);
  EXPECT_TRUE(vm.to_agent.empty());
}

TEST_F(ClientHubTest, ACommandDiesWithItsClient) {
  Client c(hub);
  c.hello("secret");
  c.receive();
  c.send(Type::kExec, 1, "{}");
  c.send(Type::kFileRead, 2, "{}");
  ASSERT_EQ(vm.to_agent.size(), 2u);
  const uint32_t exec = vm.to_agent[0].stream, read = vm.to_agent[1].stream;
  c.hang_up();
  EXPECT_EQ(hub.client_count(), 0u);
  ASSERT_EQ(vm.to_agent.size(), 4u);
  EXPECT_EQ(vm.to_agent[2].type, Type::kSignal);
  EXPECT_EQ(vm.to_agent[2].stream, exec);
  proto::SignalMsg sig;
  std::string err;
  ASSERT_TRUE(proto::parse(vm.to_agent[2].payload, sig, err)) << err;
  EXPECT_EQ(sig.signal, SIGKILL);
  EXPECT_EQ(vm.to_agent[3].type, Type::kError);  // the file read is cancelled
  EXPECT_EQ(vm.to_agent[3].stream, read);
}

TEST_F(ClientHubTest, FailsEveryStreamWhenTheAgentGoesAway) {
  Client c(hub);
  c.hello("secret");
  c.receive();
  c.send(Type::kExec, 5, "{}");
  hub.fail_all_streams("EIO", "the agent channel closed (closed)");
  const Frame f = c.receive();
  EXPECT_EQ(c.error_code(f), "EIO");
  EXPECT_EQ(f.stream, 5u);
  EXPECT_EQ(hub.stream_count(), 0u);
}

}  // namespace
}  // namespace smolvm
