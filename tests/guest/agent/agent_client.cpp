#include "tests/guest/agent/agent_client.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "protocol/fd_io.h"

extern char** environ;

namespace smolvm::test {
namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point end) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

}  // namespace

const char* agent_path() { return SMOLVM_AGENT_PATH; }

AgentProcess::AgentProcess(const std::vector<std::string>& extra_env) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    ADD_FAILURE() << "socketpair: " << std::strerror(errno);
    return;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string path = agent_path(), mode = "--stdio";
  char* argv[] = {path.data(), mode.data(), nullptr};
  const int rc = posix_spawn(&pid_, path.c_str(), &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(sv[1]);
  fd_ = sv[0];
  if (rc != 0) {
    ADD_FAILURE() << "spawning " << path << ": " << std::strerror(rc);
    pid_ = -1;
    return;
  }
  proto::set_nonblocking(fd_, true);
}

AgentProcess::~AgentProcess() {
  close_channel();
  if (pid_ > 0 && !wait_exit(5000)) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void AgentProcess::close_channel() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::optional<int> AgentProcess::wait_exit(int timeout_ms) {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  const auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = st;
      return status_;
    }
    if (Clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void AgentProcess::pump(int timeout_ms) {
  if (fd_ < 0) return;
  pollfd p{fd_, static_cast<short>(POLLIN | (outq_.empty() ? 0 : POLLOUT)), 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return;
  if (!outq_.empty() && (p.revents & POLLOUT)) {
    const long n = proto::write_some(fd_, outq_);
    if (n > 0) outq_.erase(0, static_cast<size_t>(n));
    if (n < 0) outq_.clear();  // the agent is gone; recv will report EOF
  }
  if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
    char buf[256 * 1024];
    const long n = proto::read_some(fd_, buf, sizeof buf);
    if (n > 0) {
      decoder_.feed(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      eof_ = true;
    }
  }
}

void AgentProcess::send_raw(std::string_view bytes) {
  outq_.append(bytes);
  const auto end = Clock::now() + std::chrono::seconds(20);
  while (!outq_.empty() && fd_ >= 0 && !eof_ && Clock::now() < end) pump(100);
  if (!outq_.empty() && !eof_) ADD_FAILURE() << "agent did not take " << outq_.size() << " bytes";
}

void AgentProcess::send(proto::Type type, uint32_t stream, std::string_view payload,
                        uint8_t flags) {
  std::string frame;
  proto::append_frame(frame, type, flags, stream, payload);
  send_raw(frame);
}

void AgentProcess::send_credit(uint32_t stream, uint32_t bytes) {
  send(proto::Type::kCredit, stream, proto::u32_le(bytes));
}

std::optional<proto::Frame> AgentProcess::recv(int timeout_ms) {
  const auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
  proto::Frame f;
  for (;;) {
    const auto r = decoder_.next(f);
    if (r == proto::Decoder::Result::kFrame) return f;
    if (r == proto::Decoder::Result::kError) {
      ADD_FAILURE() << "agent sent a bad frame: " << decoder_.error();
      return std::nullopt;
    }
    if (eof_ || fd_ < 0) return std::nullopt;
    const int left = ms_left(end);
    if (left == 0) return std::nullopt;
    pump(left);
  }
}

std::optional<proto::Frame> AgentProcess::hello(uint32_t version) {
  proto::Hello h{version, "token", "agent_tests"};
  send(proto::Type::kHello, 0, proto::to_json(h));
  return recv();
}

void Collector::track(uint32_t stream, uint32_t window, bool auto_credit) {
  auto& s = streams_[stream];
  s.granted = window ? window : proto::kDefaultWindow;
  s.credit_every = s.granted / 4 ? s.granted / 4 : 1;
  auto_credit_[stream] = auto_credit;
}

bool Collector::step(int timeout_ms) {
  auto f = agent_.recv(timeout_ms);
  if (!f) return false;
  auto it = streams_.find(f->stream);
  if (f->stream == 0 || it == streams_.end()) {
    stray.push_back(std::move(*f));
    return true;
  }
  StreamResult& s = it->second;
  EXPECT_FALSE(s.ended()) << "frame " << proto::type_name(f->type) << " after the end of stream "
                          << f->stream;
  std::string err;
  switch (f->type) {
    case proto::Type::kStdout:
    case proto::Type::kStderr:
    case proto::Type::kData:
      (f->type == proto::Type::kStderr ? s.err : s.out) += f->payload;
      s.received += f->payload.size();
      EXPECT_LE(s.received, s.granted) << "agent overran the window on stream " << f->stream;
      if (f->type == proto::Type::kData && f->end()) s.data_end = true;
      s.uncredited += f->payload.size();
      if (auto_credit_[f->stream] && s.uncredited >= s.credit_every && !s.data_end) {
        agent_.send_credit(f->stream, static_cast<uint32_t>(s.uncredited));
        s.granted += s.uncredited;
        s.uncredited = 0;
      }
      break;
    case proto::Type::kExit: {
      proto::ExitStatus st;
      EXPECT_TRUE(proto::parse(f->payload, st, err)) << err;
      s.exit = st;
      break;
    }
    case proto::Type::kError: {
      proto::ErrorMsg m;
      EXPECT_TRUE(proto::parse(f->payload, m, err)) << err;
      s.error = m;
      break;
    }
    case proto::Type::kDone:
      s.done = true;
      break;
    case proto::Type::kCredit: {
      uint32_t n = 0;
      EXPECT_TRUE(proto::read_u32_le(f->payload, n))
          << "CREDIT of " << f->payload.size() << " bytes";
      s.stdin_credit += n;
      break;
    }
    default:
      ADD_FAILURE() << "unexpected " << proto::type_name(f->type) << " on stream " << f->stream;
  }
  return true;
}

bool Collector::wait_all(int timeout_ms) {
  const auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    bool all = true;
    for (auto& [id, s] : streams_) all = all && s.ended();
    if (all) return true;
    const int left = ms_left(end);
    if (left == 0 || !step(left)) return false;
  }
}

StreamResult run(AgentProcess& agent, const proto::ExecRequest& req, uint32_t stream,
                 std::optional<std::string> input, int timeout_ms) {
  Collector c(agent);
  c.track(stream, req.window);
  agent.send(proto::Type::kExec, stream, proto::to_json(req));
  if (input) send_stdin(agent, c, stream, *input, true, timeout_ms);
  EXPECT_TRUE(c.wait_all(timeout_ms)) << "stream " << stream << " did not end";
  return c[stream];
}

bool send_stdin(AgentProcess& agent, Collector& c, uint32_t stream, std::string_view rest, bool end,
                int timeout_ms) {
  const auto until = Clock::now() + std::chrono::milliseconds(timeout_ms);
  do {
    StreamResult& s = c[stream];
    if (s.ended()) return false;
    const size_t n = std::min<size_t>({rest.size(), 256 * 1024, s.stdin_credit});
    if (n == 0 && !rest.empty()) {
      const int left = ms_left(until);
      if (left == 0 || !c.step(left)) return false;
      continue;
    }
    s.stdin_credit -= n;
    agent.send(proto::Type::kStdin, stream, rest.substr(0, n),
               end && n == rest.size() ? proto::kFlagEnd : 0);
    rest.remove_prefix(n);
  } while (!rest.empty());
  return true;
}

StreamResult run_shell(AgentProcess& agent, const std::string& cmd, uint32_t stream) {
  proto::ExecRequest req;
  req.shell = cmd;
  return run(agent, req, stream);
}

uint64_t fnv1a(std::string_view data, uint64_t h) {
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string random_bytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed;
  for (size_t i = 0; i < n; i += 8) {
    // splitmix64
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(z >> (8 * j));
  }
  return out;
}

}  // namespace smolvm::test
