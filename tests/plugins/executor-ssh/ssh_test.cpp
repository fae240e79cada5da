// executor-ssh on one really booted VM with executor=ssh, inside the
// network namespace run_in_netns.sh made for this run: the agent
// executor's tests where they apply, plus what only SSH has (keys, host-key
// pinning, reconnecting, `smolvm ssh`).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "tests/support/escapers.h"
#include "tests/support/vm_fixture.h"

namespace vmtest {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const char* network() {
  const char* p = std::getenv("SMOLVM_TEST_NETWORK");
  return p ? p : "nftables";
}

using smolvm::test::output_of;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// "SHA256:..." of a public key line, as OpenSSH prints it.
std::string fingerprint_of(const std::string& key_line) {
  const std::string f = state_dir() + "/fp.pub";
  std::ofstream(f) << key_line << "\n";
  const std::string out = output_of("ssh-keygen -lf '" + f + "'");
  const auto a = out.find("SHA256:");
  return a == std::string::npos ? "?" : out.substr(a, out.find(' ', a) - a);
}

std::string store_query(const std::string& sql) {
  return trim(output_of("sqlite3 '" + state_dir() + "/smolvm.db' \"" + sql + "\""));
}

// The command's cgroup folder, from the "0::/smolvm-exec/ssh-..." line it
// printed first; "" if it was in none of its own.
std::string cgroup_dir(const std::string& out) {
  const std::string key = "0::/smolvm-exec/ssh-";
  const auto at = out.find(key);
  if (at == std::string::npos) return "";
  return "/sys/fs/cgroup" + out.substr(at + 3, out.find('\n', at) - at - 3);
}

std::string exists_in(smolvm_vm* vm, const std::string& dir) {
  return trim(run(vm, "test -d '" + dir + "' && echo present || echo gone").out);
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

class Ssh : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    smolvm_vm_options o;
    smolvm_vm_options_init(&o);
    o.vm_id = "ssh";
    o.mem_size_mib = 256;
    o.executor = "ssh";
    o.network = network();
    if (smolvm_vm_create(&vm_, runtime(), &o) != 0) {
      ADD_FAILURE() << "create: " << smolvm_last_error();
      return;
    }
    dir_ = info(vm_).state_dir;
    const auto t0 = Clock::now();
    if (smolvm_vm_start(vm_) != 0) {
      ADD_FAILURE() << "start: " << smolvm_last_error();
      return;
    }
    start_ms_ = ms_since(t0);
    // The first command right after start: sshd must already be usable,
    // found by polling, not by a sleep on our side.
    const auto t1 = Clock::now();
    first_ = run(vm_, "echo ready");
    first_ms_ = ms_since(t1);
    // A command that ends normally leaves its group; the last test checks
    // that a later command swept it.
    finished_group_ = cgroup_dir(run(vm_, "cat /proc/self/cgroup").out);
    finished_at_ = Clock::now();
    std::printf(
        "[ ssh ] start (to agent ready + host key pinned): %.0f ms; first command over "
        "SSH (connect + exec): %.0f ms\n",
        start_ms_, first_ms_);
  }
  static void TearDownTestSuite() {
    if (!vm_) return;
    EXPECT_EQ(smolvm_vm_delete(vm_), 0) << smolvm_last_error();
    smolvm_vm_free(vm_);
    EXPECT_FALSE(fs::exists(dir_ + "/ssh_key")) << "delete left the private key behind";
    EXPECT_FALSE(fs::exists(dir_)) << "delete left the VM's folder behind";
  }
  void SetUp() override { ASSERT_TRUE(vm_ && start_ms_ > 0) << "the test VM did not start"; }

  static smolvm_vm* vm_;
  static std::string dir_;
  static Result first_;
  static double start_ms_, first_ms_;
  static std::string finished_group_;
  static Clock::time_point finished_at_;
};
smolvm_vm* Ssh::vm_ = nullptr;
std::string Ssh::dir_;
Result Ssh::first_;
double Ssh::start_ms_ = 0, Ssh::first_ms_ = 0;
std::string Ssh::finished_group_;
Clock::time_point Ssh::finished_at_;

TEST(SshCreate, RefusesAVmWithoutNetwork) {
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.vm_id = "ssh-nonet";
  o.executor = "ssh";
  o.network = "none";
  smolvm_vm* vm = nullptr;
  EXPECT_EQ(smolvm_vm_create(&vm, runtime(), &o), SMOLVM_EINVAL);
  const std::string msg = smolvm_last_error();
  EXPECT_NE(msg.find("executor='ssh'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("network='none'"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(state_dir() + "/vms/ssh-nonet"));
}

TEST_F(Ssh, ReadyWithinTheBoot) {
  EXPECT_EQ(first_.rc, 0) << first_.err;
  EXPECT_EQ(first_.out, "ready\n");
  // Connect + key exchange + exec under TCG take about a second or two;
  // what must not happen is waiting on a fixed sleep or a retry backoff.
  EXPECT_LT(first_ms_, 10000);
}

TEST_F(Ssh, KeyPairIsPrivateAndHostKeyIsPinned) {
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/ssh_key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string pinned = store_query(
      "select json_extract(runtime_json, '$.executor_data.host_key') from vms where id = 'ssh'");
  EXPECT_EQ(pinned.rfind("ssh-ed25519 AAAA", 0), 0u) << pinned;
  // The pin is the guest's own key (made at first boot, not in the image).
  Result r = run(vm_, "cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub");
  EXPECT_EQ(r.out, pinned + "\n");
  std::ifstream kh(dir_ + "/known_hosts");
  std::string line;
  std::getline(kh, line);
  EXPECT_EQ(line, std::string(info(vm_).ip) + " " + pinned);
  // Commands really arrive over SSH, as root, with our key only.
  EXPECT_NE(run(vm_, "echo $SSH_CONNECTION").out.find(info(vm_).ip), std::string::npos);
  EXPECT_EQ(
      run(vm_, "wc -l < /root/.ssh/authorized_keys; stat -c %a /root/.ssh/authorized_keys").out,
      "1\n600\n");
}

TEST_F(Ssh, ExitCodesAndOutputStreams) {
  Result r = run(vm_, "echo out; echo err >&2; exit 3");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(run(vm_, "true").exit_code, 0);
  EXPECT_EQ(run(vm_, "false").exit_code, 1);
}

TEST_F(Ssh, ArgvIsNotReinterpretedByAShell) {
  Result r = exec_argv(vm_, {"printf", "%s|", "a b", "$HOME", "*", "it's"});
  EXPECT_EQ(r.out, "a b|$HOME|*|it's|");
}

TEST_F(Ssh, MissingProgramIs127WithAMessage) {
  Result r = exec_argv(vm_, {"/no/such/program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("/no/such/program"), std::string::npos) << r.err;
}

TEST_F(Ssh, DeathBySignalIsReported) {
  Result r = run(vm_, "kill -9 $$");
  EXPECT_EQ(r.signal, 9);
  EXPECT_EQ(r.exit_code, 128 + 9);
}

TEST_F(Ssh, TimeoutKillsTheWholeProcessGroup) {
  Result r = run(vm_, "sleep 300 & echo $! > /tmp/bg.pid; sleep 300", 1000);
  EXPECT_EQ(r.timed_out, 1);
  EXPECT_EQ(r.signal, 9);
  EXPECT_EQ(r.exit_code, 137);
  EXPECT_LT(r.duration_us, 20u * 1000 * 1000);
  Result alive = run(vm_, "kill -0 $(cat /tmp/bg.pid) 2>/dev/null && echo alive || echo gone");
  EXPECT_EQ(alive.out, "gone\n");
}

TEST_F(Ssh, TimeoutKillsProcessesThatLeftTheProcessGroup) {
  const auto t0 = Clock::now();
  Result r = run(vm_, std::string("cat /proc/self/cgroup; ") + kEscapers, 3000);
  std::printf("[ ssh ] escapers timed out (3000 ms) and killed: %.0f ms\n", ms_since(t0));
  EXPECT_EQ(r.timed_out, 1);
  EXPECT_EQ(r.signal, 9);
  const std::string dir = cgroup_dir(r.out);
  ASSERT_FALSE(dir.empty()) << "the command ran in no cgroup of its own: " << r.out;
  EXPECT_NE(r.out.find("started\n"), std::string::npos) << r.out;
  EXPECT_EQ(escapers_left(vm_), 0) << run(vm_, "ps -eo pid,pgid,sid,args").out;
  EXPECT_EQ(exists_in(vm_, dir), "gone") << "the timed-out command's group was not removed";
}

TEST_F(Ssh, KillReachesProcessesThatLeftTheProcessGroup) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  const std::string cmd = std::string("cat /proc/self/cgroup; ") + kEscapers;
  o.command = cmd.c_str();
  smolvm_exec* raw_ex = nullptr;
  ASSERT_EQ(smolvm_exec_start(&raw_ex, vm_, &o), 0) << smolvm_last_error();
  // Freed (which kills the command) on every way out of the test.
  std::unique_ptr<smolvm_exec, void (*)(smolvm_exec*)> owner(raw_ex, smolvm_exec_free);
  smolvm_exec_event ev{};
  std::string out;
  while (out.find("started") == std::string::npos &&
         smolvm_exec_next_event(&ev, owner.get(), 20000) == 0 && ev.type == SMOLVM_EVENT_STDOUT) {
    out.append(reinterpret_cast<const char*>(ev.data), ev.len);
  }
  ASSERT_NE(out.find("started\n"), std::string::npos) << out;
  const std::string dir = cgroup_dir(out);
  ASSERT_FALSE(dir.empty()) << "the command ran in no cgroup of its own: " << out;
  ASSERT_GE(std::stoi("0" + run(vm_, kFindEscapers).out), 3) << "the escapers did not start";
  ASSERT_EQ(smolvm_exec_kill(owner.get(), SIGKILL), 0) << smolvm_last_error();
  int rc;
  while ((rc = smolvm_exec_next_event(&ev, owner.get(), 20000)) == 0 &&
         ev.type != SMOLVM_EVENT_EXIT) {
  }
  EXPECT_EQ(rc, 0) << smolvm_last_error();
  EXPECT_EQ(ev.signal, SIGKILL);
  owner.reset();
  EXPECT_EQ(escapers_left(vm_), 0) << run(vm_, "ps -eo pid,pgid,sid,args").out;
  EXPECT_EQ(exists_in(vm_, dir), "gone") << "the killed command's group was not removed";
}

TEST_F(Ssh, EnvCwdAndStdin) {
  Result r = exec_argv(vm_, {"sh", "-c", "echo $FOO; pwd; cat"}, "from stdin", {"FOO=bar"}, "/tmp");
  EXPECT_EQ(r.out, "bar\n/tmp\nfrom stdin");
  EXPECT_NE(run(vm_, "echo $PATH").out.find("/usr/bin"), std::string::npos);
  EXPECT_EQ(run(vm_, "pwd").out, "/\n") << "the default folder is /, as with the agent";
  Result bad = exec_argv(vm_, {"true"}, "", {}, "/no/such/dir");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("/no/such/dir"), std::string::npos) << bad.err;
}

TEST_F(Ssh, BinaryOutputIsIntact) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  Result r = exec_argv(vm_, {"cat"}, all);
  EXPECT_EQ(r.out, all);
  // Bytes that look like the wrapper's marker pass through too.
  Result m = run(vm_, "printf '\\036smolvm-pgid 1\\n' >&2");
  EXPECT_EQ(m.err, "\x1esmolvm-pgid 1\n");
}

TEST_F(Ssh, EightMiBOfOutputArrivesIntact) {
  const auto t0 = Clock::now();
  Result r = run(vm_,
                 "head -c 8388608 /dev/urandom | tee /tmp/rand | md5sum | cut -c1-32 >&2; "
                 "cat /tmp/rand");
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(r.out.size(), 8u << 20);
  std::printf("[ ssh ] 8 MiB of output in %.0f ms\n", ms_since(t0));
  const std::string f = state_dir() + "/rand";
  std::ofstream(f, std::ios::binary)
      .write(r.out.data(), static_cast<std::streamsize>(r.out.size()));
  EXPECT_EQ(output_of("md5sum '" + f + "' | cut -c1-32"), r.err);
}

TEST_F(Ssh, ConcurrentCommandsShareOneConnection) {
  // Eight streams on one handle: eight channels of the one SSH session.
  constexpr int kStreams = 8;
  std::vector<smolvm_exec*> execs(kStreams, nullptr);
  std::vector<std::string> outs(kStreams);
  std::vector<bool> done(kStreams, false);
  const auto t0 = Clock::now();
  for (int i = 0; i < kStreams; ++i) {
    const std::string cmd = "sleep 1; echo " + std::to_string(i);
    smolvm_exec_options o;
    smolvm_exec_options_init(&o);
    o.command = cmd.c_str();
    ASSERT_EQ(smolvm_exec_start(&execs[i], vm_, &o), 0) << smolvm_last_error();
    ASSERT_EQ(smolvm_exec_close_stdin(execs[i]), 0);
  }
  for (int left = kStreams; left > 0 && ms_since(t0) < 60000;) {
    for (int i = 0; i < kStreams; ++i) {
      smolvm_exec_event ev;
      while (!done[i] && smolvm_exec_next_event(&ev, execs[i], 5) == 0) {
        if (ev.type == SMOLVM_EVENT_STDOUT) outs[i].append((const char*)ev.data, ev.len);
        if (ev.type == SMOLVM_EVENT_EXIT) {
          done[i] = true;
          --left;
        }
      }
    }
  }
  const double ms = ms_since(t0);
  for (int i = 0; i < kStreams; ++i) {
    EXPECT_EQ(outs[i], std::to_string(i) + "\n");
    smolvm_exec_free(execs[i]);
  }
  EXPECT_LT(ms, kStreams * 1000.0) << "commands ran one after another, not concurrently";
}

TEST_F(Ssh, SeparateHandlesInThreads) {
  constexpr int kThreads = 3;
  std::vector<std::thread> threads;
  std::vector<std::string> outs(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &outs] {
      smolvm_vm* h = nullptr;
      if (smolvm_vm_open(&h, runtime(), "ssh") != 0) return;
      outs[t] = run(h, "echo " + std::to_string(t)).out;
      smolvm_vm_free(h);
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(outs[t], std::to_string(t) + "\n");
}

TEST_F(Ssh, StreamingEventsArriveBeforeTheCommandEnds) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command = "echo first; sleep 1; echo second >&2";
  smolvm_exec* ex = nullptr;
  ASSERT_EQ(smolvm_exec_start(&ex, vm_, &o), 0) << smolvm_last_error();
  ASSERT_EQ(smolvm_exec_close_stdin(ex), 0);
  smolvm_exec_event ev;
  ASSERT_EQ(smolvm_exec_next_event(&ev, ex, 10000), 0) << smolvm_last_error();
  EXPECT_EQ(ev.type, SMOLVM_EVENT_STDOUT);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ev.data), ev.len), "first\n");
  EXPECT_EQ(smolvm_exec_next_event(&ev, ex, 100), SMOLVM_ETIMEOUT);
  ASSERT_EQ(smolvm_exec_next_event(&ev, ex, 10000), 0);
  EXPECT_EQ(ev.type, SMOLVM_EVENT_STDERR);
  ASSERT_EQ(smolvm_exec_next_event(&ev, ex, 10000), 0);
  EXPECT_EQ(ev.type, SMOLVM_EVENT_EXIT);
  EXPECT_EQ(ev.exit_code, 0);
  EXPECT_EQ(smolvm_exec_next_event(&ev, ex, 0), SMOLVM_EDONE);
  smolvm_exec_free(ex);
}

TEST_F(Ssh, KillSignalsTheCommand) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command = "trap 'echo got TERM; exit 7' TERM; echo ready; while true; do sleep 0.1; done";
  smolvm_exec* ex = nullptr;
  ASSERT_EQ(smolvm_exec_start(&ex, vm_, &o), 0);
  smolvm_exec_event ev;
  ASSERT_EQ(smolvm_exec_next_event(&ev, ex, 10000), 0);  // "ready"
  ASSERT_EQ(smolvm_exec_kill(ex, SIGTERM), 0) << smolvm_last_error();
  std::string out;
  int code = -1;
  while (smolvm_exec_next_event(&ev, ex, 10000) == 0) {
    if (ev.type == SMOLVM_EVENT_STDOUT) out.append(reinterpret_cast<const char*>(ev.data), ev.len);
    if (ev.type == SMOLVM_EVENT_EXIT) code = ev.exit_code;
  }
  EXPECT_EQ(out, "got TERM\n");
  EXPECT_EQ(code, 7);
  EXPECT_EQ(smolvm_exec_kill(ex, 0), SMOLVM_EINVAL);
  smolvm_exec_free(ex);
}

TEST_F(Ssh, FreeingARunningStreamKillsItsCommand) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command = "echo $$ > /tmp/dropped.pid; sleep 300";
  smolvm_exec* ex = nullptr;
  ASSERT_EQ(smolvm_exec_start(&ex, vm_, &o), 0);
  std::string pid;
  for (int i = 0; i < 200 && pid.empty(); ++i) {
    pid = trim(run(vm_, "cat /tmp/dropped.pid 2>/dev/null").out);
  }
  ASSERT_FALSE(pid.empty());
  smolvm_exec_free(ex);
  EXPECT_EQ(run(vm_, "kill -0 " + pid + " 2>/dev/null && echo alive || echo gone").out, "gone\n");
}

TEST_F(Ssh, FileRoundTrip) {
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) % 251);
  ASSERT_EQ(smolvm_vm_write_file(vm_, "/tmp/deep/er/blob",
                                 reinterpret_cast<const uint8_t*>(data.data()), data.size(), 0600),
            0)
      << smolvm_last_error();
  EXPECT_EQ(run(vm_, "stat -c %a /tmp/deep/er/blob").out, "600\n");
  smolvm_buf buf{};
  ASSERT_EQ(smolvm_vm_read_file(&buf, vm_, "/tmp/deep/er/blob"), 0) << smolvm_last_error();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data), buf.size), data);
  smolvm_buf_dispose(&buf);
  ASSERT_EQ(smolvm_vm_write_file(vm_, "/tmp/it's here", nullptr, 0, 0644), 0)
      << smolvm_last_error();
  EXPECT_EQ(run(vm_, "stat -c %a:%s \"/tmp/it's here\"").out, "644:0\n");
  EXPECT_EQ(smolvm_vm_read_file(&buf, vm_, "/no/such/file"), SMOLVM_ENOTFOUND);
  EXPECT_NE(std::string(smolvm_last_error()).find("/no/such/file"), std::string::npos);
  EXPECT_EQ(smolvm_vm_write_file(vm_, "relative/path", nullptr, 0, 0644), SMOLVM_EINVAL);
}

TEST_F(Ssh, BoundedReadStopsAtTheLimitAndTheDeadline) {
  // file_read_bounded over SSH: cat is stopped at max_bytes, and a read
  // that never ends (a FIFO nobody writes) at the deadline.
  ASSERT_EQ(run(vm_, "head -c 8388608 /dev/zero > /tmp/z8 && mkfifo /tmp/never && echo ok").out,
            "ok\n");
  smolvm_transfer_options o;
  smolvm_transfer_options_init(&o);
  o.max_bytes = 1 << 20;
  smolvm_buf buf{};
  EXPECT_EQ(smolvm_vm_read_file_ex(&buf, vm_, "/tmp/z8", &o), SMOLVM_EIO);
  EXPECT_NE(std::string(smolvm_last_error()).find("max_bytes=1048576"), std::string::npos)
      << smolvm_last_error();
  o.timeout_ms = 2000;
  const auto t0 = Clock::now();
  EXPECT_EQ(smolvm_vm_read_file_ex(&buf, vm_, "/tmp/never", &o), SMOLVM_ETIMEOUT);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));
  EXPECT_NE(std::string(smolvm_last_error()).find("timeout_ms=2000"), std::string::npos)
      << smolvm_last_error();
  // The connection still serves the next read.
  o.max_bytes = 0;
  o.timeout_ms = 0;
  ASSERT_EQ(smolvm_vm_read_file_ex(&buf, vm_, "/tmp/z8", &o), 0) << smolvm_last_error();
  EXPECT_EQ(buf.size, 8u << 20);
  smolvm_buf_dispose(&buf);
  run(vm_, "rm -f /tmp/z8 /tmp/never");
}

TEST_F(Ssh, FolderRoundTrip) {
  const fs::path src = fs::path(state_dir()) / "src";
  fs::create_directories(src / "sub");
  std::ofstream(src / "a.txt") << "alpha";
  std::ofstream(src / "sub" / "b.bin") << std::string("\0\1\2", 3);
  ASSERT_EQ(smolvm_vm_put(vm_, src.c_str(), "/work/in"), 0) << smolvm_last_error();
  EXPECT_EQ(run(vm_, "cat /work/in/a.txt; wc -c < /work/in/sub/b.bin").out, "alpha3\n");
  const fs::path dst = fs::path(state_dir()) / "dst";
  ASSERT_EQ(smolvm_vm_get(vm_, "/work/in", dst.c_str()), 0) << smolvm_last_error();
  EXPECT_EQ(fs::file_size(dst / "sub" / "b.bin"), 3u);
  EXPECT_EQ(fs::file_size(dst / "a.txt"), 5u);
  // A single file goes through file_write_bounded, within max_bytes.
  smolvm_transfer_options o;
  smolvm_transfer_options_init(&o);
  o.max_bytes = 4;
  EXPECT_EQ(smolvm_vm_put_ex(vm_, (src / "a.txt").c_str(), "/work/one", &o), SMOLVM_EIO);
  EXPECT_NE(std::string(smolvm_last_error()).find("max_bytes=4"), std::string::npos)
      << smolvm_last_error();
  o.max_bytes = 0;
  ASSERT_EQ(smolvm_vm_put_ex(vm_, (src / "a.txt").c_str(), "/work/one", &o), 0)
      << smolvm_last_error();
  EXPECT_EQ(run(vm_, "cat /work/one").out, "alpha");
}

TEST_F(Ssh, HostKeyMismatchFailsLoudly) {
  const std::string real = store_query(
      "select json_extract(runtime_json, '$.executor_data.host_key') from vms where id = 'ssh'");
  const std::string other_file = state_dir() + "/other_key";
  output_of("ssh-keygen -q -t ed25519 -N '' -f '" + other_file + "' >/dev/null");
  std::ifstream in(other_file + ".pub");
  std::string other;
  std::getline(in, other);
  other = other.substr(0, other.rfind(' '));
  ASSERT_NE(other, real);
  const std::string set =
      "update vms set runtime_json = json_set(runtime_json, "
      "'$.executor_data.host_key', '%s') where id = 'ssh'";
  char sql[1024];
  std::snprintf(sql, sizeof sql, set.c_str(), other.c_str());
  store_query(sql);

  smolvm_vm* h = nullptr;
  ASSERT_EQ(smolvm_vm_open(&h, runtime(), "ssh"), 0);
  smolvm_exec_result* r = nullptr;
  EXPECT_EQ(smolvm_vm_run(&r, h, "echo must not run", 0), SMOLVM_EPERM);
  const std::string msg = smolvm_last_error();
  smolvm_vm_free(h);
  std::snprintf(sql, sizeof sql, set.c_str(), real.c_str());
  store_query(sql);
  EXPECT_NE(msg.find("host key mismatch for vm 'ssh'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected " + fingerprint_of(other)), std::string::npos) << msg;
  EXPECT_NE(msg.find("got " + fingerprint_of(real)), std::string::npos) << msg;
  // With the right pin back, a new connection works.
  ASSERT_EQ(smolvm_vm_open(&h, runtime(), "ssh"), 0);
  EXPECT_EQ(run(h, "echo ok").out, "ok\n");
  smolvm_vm_free(h);
}

TEST_F(Ssh, ReconnectsAfterSshdRestarts) {
  const std::string before = run(vm_, "echo $SSH_CLIENT").out;
  ASSERT_FALSE(before.empty());
  // Detached from the SSH session it kills: every sshd dies, a new one
  // starts.
  ASSERT_EQ(run(vm_,
                "setsid -f sh -c 'sleep 0.3; pkill -x sshd; sleep 0.3; /usr/sbin/sshd' "
                ">/dev/null 2>&1 </dev/null")
                .exit_code,
            0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const auto t0 = Clock::now();
  Result r = run(vm_, "echo $SSH_CLIENT");
  std::printf("[ ssh ] command after sshd restart (reconnect included): %.0f ms\n", ms_since(t0));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out, before) << "expected a new connection (another source port)";
  EXPECT_EQ(run(vm_, "echo again").out, "again\n");
}

TEST_F(Ssh, CliShellUsesTheVmKeyAndPinnedHostKey) {
  CliResult r = cli("ssh ssh -- 'echo via openssh; exit 4'");
  EXPECT_EQ(r.out, "via openssh\n");
  EXPECT_EQ(r.status, 4);
  // A tampered known_hosts makes OpenSSH refuse, as it should.
  const std::string kh = dir_ + "/known_hosts";
  const std::string saved = output_of("cat '" + kh + "'");
  output_of("ssh-keygen -q -t ed25519 -N '' -f '" + state_dir() +
            "/cli_key' >/dev/null; (printf '" + std::string(info(vm_).ip) +
            " '; cut -d' ' -f1,2 '" + state_dir() + "/cli_key.pub') > '" + kh + "'");
  CliResult bad = cli("ssh ssh -- true");
  std::ofstream(kh) << saved;
  EXPECT_EQ(bad.status, 255);
  EXPECT_NE(bad.out.find("HOST IDENTIFICATION HAS CHANGED"), std::string::npos) << bad.out;
}

// Last in the suite, so that the group it checks has long been empty.
TEST_F(Ssh, GroupsOfFinishedCommandsAreSweptByALaterCommand) {
  ASSERT_FALSE(finished_group_.empty()) << "the first command ran in no cgroup of its own";
  // Sweeping spares groups under 10 s old (one may be about to be joined).
  std::this_thread::sleep_until(finished_at_ + std::chrono::seconds(11));
  EXPECT_EQ(run(vm_, "true").exit_code, 0);
  EXPECT_EQ(exists_in(vm_, finished_group_), "gone");
}

}  // namespace
}  // namespace vmtest
