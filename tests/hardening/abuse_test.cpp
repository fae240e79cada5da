// A guest that misbehaves for real, inside a real VM ("abuse", 1 vCPU, 256
// MiB), while a second VM ("bystander") and the host are checked after each
// abuse. The two VMs are shared by the tests of this suite, in order: the
// fork bomb comes last because it may leave its VM wedged, and the VMs end
// in the fault tests that kill or delete them.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "protocol/fd_io.h"
#include "protocol/frame.h"
#include "protocol/messages.h"
#include "tests/hardening/hardening.h"

namespace hardening {
namespace {

namespace proto = smolvm::proto;
using vmtest::info;
using vmtest::run;

class Abuse : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    abuse_ = make_vm("abuse", 1, true);
    bystander_ = make_vm("bystander", 1, true);
  }
  static void TearDownTestSuite() {
    for (smolvm_vm* vm : {abuse_, bystander_}) {
      if (!vm) continue;
      smolvm_vm_delete(vm);  // ENOTFOUND when a test deleted it already
      smolvm_vm_free(vm);
    }
  }
  void SetUp() override {
    if (!abuse_ || !bystander_) GTEST_SKIP() << "the shared VMs did not start";
  }
  // After every abuse: the other VM and the host did not notice.
  static void expect_others_fine() {
    EXPECT_TRUE(answers(bystander_));
    EXPECT_TRUE(host_unaffected());
  }
  static smolvm_vm* abuse_;
  static smolvm_vm* bystander_;
};

smolvm_vm* Abuse::abuse_ = nullptr;
smolvm_vm* Abuse::bystander_ = nullptr;

// Speaks HELLO to a supervisor socket; returns the first frame's type and
// error code.
std::pair<proto::Type, std::string> hello(const std::string& sock, const std::string& token) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  sock.copy(addr.sun_path, sizeof addr.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return {proto::Type::kError, "connect failed"};
  }
  std::string out;
  proto::append_frame(out, proto::Type::kHello, 0, 0,
                      proto::to_json(proto::Hello{proto::kVersion, token, "hardening-test"}));
  proto::write_all(fd, out);
  proto::Decoder dec;
  proto::Frame f;
  char buf[4096];
  long n;
  while (dec.next(f) != proto::Decoder::Result::kFrame &&
         (n = proto::read_some(fd, buf, sizeof buf)) > 0) {
    dec.feed(buf, static_cast<size_t>(n));
  }
  close(fd);
  proto::ErrorMsg e;
  std::string err;
  if (f.type == proto::Type::kError) proto::parse(f.payload, e, err);
  return {f.type, e.code};
}

TEST_F(Abuse, TheSupervisorSocketIsPrivateAndAWrongTokenIsRefused) {
  const smolvm_vm_info i = info(abuse_);
  const std::string dir = i.state_dir;
  struct stat st {};
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u) << dir;
  ASSERT_EQ(stat((dir + "/supervisor.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(hello(dir + "/supervisor.sock", "not-the-token"),
            std::make_pair(proto::Type::kError, std::string("EPERM")));
  EXPECT_EQ(hello(dir + "/supervisor.sock", "").second, "EPERM");
  // Another VM's token does not open this VM either.
  const std::string other_sock = std::string(info(bystander_).state_dir) + "/supervisor.sock";
  EXPECT_EQ(hello(other_sock, "not-the-token").second, "EPERM");
  EXPECT_TRUE(answers(abuse_));  // the refused clients did not disturb it
}

TEST_F(Abuse, QemuRunsSandboxedAndTheSupervisorWithoutCapabilities) {
  const smolvm_vm_info i = info(abuse_);
  EXPECT_EQ(status_field(i.vmm_pid, "Seccomp"), "2");  // -sandbox on: filter mode
  EXPECT_EQ(status_field(i.vmm_pid, "NoNewPrivs"), "1");
  EXPECT_EQ(status_field(i.supervisor_pid, "NoNewPrivs"), "1");
  if (geteuid() == 0) {  // network=none: only CAP_KILL, for its QEMU of another uid
    EXPECT_EQ(status_field(i.vmm_pid, "CapBnd"), "0000000000000000");
    EXPECT_EQ(status_field(i.supervisor_pid, "CapEff"), "0000000000000020");
    EXPECT_EQ(status_field(i.supervisor_pid, "CapBnd"), "0000000000000020");
  }
  const auto limits = nlohmann::json::parse(i.limits);
  EXPECT_EQ(limits["privileges"]["no_new_privs"], true);
  const auto& cg = limits["cgroup"];
  if (cg.value("enabled", false)) {
    EXPECT_EQ(cg["cpu_max"], "100000 100000");
    EXPECT_EQ(cg["memory_max"], (256u + 192u) << 20);
    // v2: one folder; v1: one per hierarchy (cpu, memory, pids).
    std::vector<std::string> dirs;
    if (cg.contains("path")) dirs.push_back(cg["path"]);
    const auto paths = cg.value("paths", nlohmann::json::object());
    for (const auto& [controller, dir] : paths.items()) dirs.push_back(dir);
    EXPECT_FALSE(dirs.empty()) << cg.dump();
    for (const auto& dir : dirs) {
      std::string procs;
      sh("cat " + dir + "/cgroup.procs", &procs);
      EXPECT_NE(procs.find(std::to_string(i.vmm_pid)), std::string::npos) << dir;
    }
  } else {
    EXPECT_NE(cg.value("reason", ""), "");
    std::printf("[ SKIPPED  ] cgroup limits not applied on this host: %s\n",
                cg.value("reason", "").c_str());
  }
}

TEST_F(Abuse, AMemoryHogIsKilledInsideTheGuest) {
  const std::string hog = memory_hog(abuse_);
  const long rss_kb = status_kb(info(abuse_).vmm_pid, "VmRSS");
  std::printf("memory hog: %s; QEMU RSS afterwards %ld MiB for a 256 MiB guest\n",
              hog.substr(0, hog.size() - 1).c_str(), rss_kb / 1024);
  EXPECT_LT(rss_kb, (256 + 192) * 1024L) << "QEMU grew past guest RAM + overhead";
  EXPECT_TRUE(answers(abuse_));
  expect_others_fine();
}

TEST_F(Abuse, OneGibOnStdoutIsFlowControlled) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command = "head -c 1G /dev/zero";
  o.timeout_ms = 8000;
  smolvm_exec* ex = nullptr;
  ASSERT_EQ(smolvm_exec_start(&ex, abuse_, &o), 0) << smolvm_last_error();
  const int64_t sup = info(abuse_).supervisor_pid;
  const long sup_before = status_kb(sup, "VmRSS");
  // Do not read for a while: the guest must be held back, not buffered.
  usleep(2000 * 1000);
  const long sup_stalled = status_kb(sup, "VmRSS");
  uint64_t bytes = 0;
  smolvm_exec_event ev;
  int timed_out = -1, exit_code = -1;
  const int64_t t0 = now_ms();
  for (;;) {
    const int rc = smolvm_exec_next_event(&ev, ex, 30000);
    if (rc != 0) {
      ADD_FAILURE() << "next_event: " << rc << " " << smolvm_last_error();
      break;
    }
    if (ev.type == SMOLVM_EVENT_STDOUT) bytes += ev.len;
    if (ev.type == SMOLVM_EVENT_EXIT) {
      timed_out = ev.timed_out;
      exit_code = ev.exit_code;
      break;
    }
  }
  const int64_t ms = now_ms() - t0;
  const long sup_after = status_kb(sup, "VmHWM");
  smolvm_exec_free(ex);
  std::printf(
      "1 GiB stdout: %llu MiB in %lld ms (%.1f MiB/s), exit %d, timed_out %d; "
      "supervisor RSS %ld -> %ld kB while unread, peak %ld kB\n",
      static_cast<unsigned long long>(bytes >> 20), static_cast<long long>(ms),
      ms ? (bytes >> 20) * 1000.0 / ms : 0.0, exit_code, timed_out, sup_before, sup_stalled,
      sup_after);
  // Either all of it arrived, or the timeout stopped it (TCG is slow).
  EXPECT_TRUE((exit_code == 0 && bytes == (1ull << 30)) || timed_out == 1);
  EXPECT_LT(sup_stalled - sup_before, 32 * 1024) << "the supervisor buffered unread output";
  EXPECT_LT(sup_after, 64 * 1024) << "supervisor peak RSS";
  EXPECT_TRUE(answers(abuse_));
  expect_others_fine();
}

// The agent's peak RSS (it is PID 1), in kB: over the VM's whole life, so
// it bounds what any one test made it hold.
long agent_peak_kb(smolvm_vm* vm) {
  const vmtest::Result r = run(vm, "awk '/^VmHWM:/ {print $2}' /proc/1/status");
  return r.rc == 0 ? std::atol(r.out.c_str()) : -1;
}

TEST_F(Abuse, OneGibOnStdinIsFlowControlled) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command = "cat >/dev/null; echo done";
  o.shell = "raw";
  o.timeout_ms = 120000;
  smolvm_exec* ex = nullptr;
  ASSERT_EQ(smolvm_exec_start(&ex, abuse_, &o), 0) << smolvm_last_error();
  const int64_t sup = info(abuse_).supervisor_pid;
  const long sup_before = status_kb(sup, "VmRSS");
  const std::string chunk(1 << 20, 's');
  uint64_t sent = 0;
  const int64_t t0 = now_ms();
  // At most a minute of it: fewer bytes prove the bound as well.
  while (sent < (1ull << 30) && now_ms() - t0 < 60000) {
    ASSERT_EQ(
        smolvm_exec_write_stdin(ex, reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()),
        0)
        << smolvm_last_error();
    sent += chunk.size();
  }
  const int64_t ms = now_ms() - t0;
  ASSERT_EQ(smolvm_exec_close_stdin(ex), 0) << smolvm_last_error();
  smolvm_exec_event ev;
  std::string out;
  int exit_code = -1;
  while (smolvm_exec_next_event(&ev, ex, 30000) == 0) {
    if (ev.type == SMOLVM_EVENT_STDOUT) out.append(reinterpret_cast<const char*>(ev.data), ev.len);
    if (ev.type == SMOLVM_EVENT_EXIT) {
      exit_code = ev.exit_code;
      break;
    }
  }
  smolvm_exec_free(ex);
  const long sup_peak = status_kb(sup, "VmHWM");
  const long agent_peak = agent_peak_kb(abuse_);
  std::printf(
      "stdin to cat: %llu MiB in %lld ms (%.1f MiB/s), exit %d; supervisor RSS %ld kB before, "
      "peak %ld kB; agent peak %ld kB\n",
      static_cast<unsigned long long>(sent >> 20), static_cast<long long>(ms),
      ms ? (sent >> 20) * 1000.0 / ms : 0.0, exit_code, sup_before, sup_peak, agent_peak);
  EXPECT_EQ(exit_code, 0);
  EXPECT_EQ(out, "done\n");
  EXPECT_GE(sent, 64ull << 20) << "too little went through to prove anything";
  EXPECT_LT(sup_peak, 64 * 1024) << "supervisor peak RSS";
  EXPECT_GT(agent_peak, 0);
  EXPECT_LT(agent_peak, 48 * 1024) << "agent peak RSS";
  expect_others_fine();
}

TEST_F(Abuse, OneGibOnStdinToACommandThatNeverReadsHoldsTheWriter) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command = "sleep 600";
  o.timeout_ms = 5000;  // the end of the wait: the writer is let go when it dies
  smolvm_exec* ex = nullptr;
  ASSERT_EQ(smolvm_exec_start(&ex, abuse_, &o), 0) << smolvm_last_error();
  const int64_t sup = info(abuse_).supervisor_pid;
  const long sup_before = status_kb(sup, "VmRSS");
  std::atomic<uint64_t> taken{0};
  std::atomic<int64_t> held_until{0};
  const int64_t t0 = now_ms();
  std::thread writer([&] {
    const std::string chunk(1 << 20, 'n');
    for (uint64_t i = 0; i < 1024; ++i) {
      if (smolvm_exec_write_stdin(ex, reinterpret_cast<const uint8_t*>(chunk.data()),
                                  chunk.size()) != 0) {
        break;
      }
      if (now_ms() - t0 < 4000) taken += chunk.size();
    }
    held_until = now_ms() - t0;
  });
  usleep(3000 * 1000);
  const long sup_stalled = status_kb(sup, "VmRSS");
  const uint64_t taken_at_3s = taken;
  writer.join();  // the timeout kills the command at 5 s: the rest is dropped
  smolvm_exec_event ev;
  int timed_out = -1;
  while (smolvm_exec_next_event(&ev, ex, 30000) == 0) {
    if (ev.type == SMOLVM_EVENT_EXIT) {
      timed_out = ev.timed_out;
      break;
    }
  }
  smolvm_exec_free(ex);
  const long agent_peak = agent_peak_kb(abuse_);
  std::printf(
      "stdin to sleep: %llu MiB taken in 3 s, writer held %lld ms; supervisor RSS %ld -> %ld kB; "
      "agent peak %ld kB\n",
      static_cast<unsigned long long>(taken_at_3s >> 20), static_cast<long long>(held_until.load()),
      sup_before, sup_stalled, agent_peak);
  EXPECT_EQ(timed_out, 1);
  EXPECT_LE(taken_at_3s, 4ull << 20) << "a command that never reads took megabytes";
  EXPECT_GE(held_until.load(), 4500) << "the writer was not held until the command died";
  EXPECT_LT(sup_stalled - sup_before, 16 * 1024) << "the supervisor buffered unread stdin";
  EXPECT_LT(agent_peak, 48 * 1024) << "agent peak RSS";
  EXPECT_TRUE(answers(abuse_));
  expect_others_fine();
}

TEST_F(Abuse, ADiskFillerGetsEnospcAndTheHostFileStaysBounded) {
  const smolvm_vm_info i = info(abuse_);
  struct stat base {};
  ASSERT_EQ(stat(i.rootfs_path, &base), 0);
  const vmtest::Result r =
      run(abuse_, "dd if=/dev/zero of=/root/fill bs=1M 2>&1; echo status=$?; sync", 120000);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("No space left on device"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("status=0"), std::string::npos) << r.out;
  struct stat disk {};
  ASSERT_EQ(stat(i.disk_path, &disk), 0);
  std::printf("disk filler: host qcow2 %lld MiB (cap = image %lld MiB)\n",
              static_cast<long long>(disk.st_size >> 20),
              static_cast<long long>(base.st_size >> 20));
  // The overlay can never outgrow the image's virtual size plus qcow2
  // metadata (L1/L2 tables, refcounts: well under 16 MiB for 1 GiB).
  EXPECT_LE(disk.st_size, base.st_size + (16 << 20));
  // Give the space back to the host.
  EXPECT_EQ(run(abuse_, "rm /root/fill && sync && fstrim / >/dev/null; echo $?", 60000).out, "0\n");
  EXPECT_TRUE(answers(abuse_));
  expect_others_fine();
}

TEST_F(Abuse, AGuestThatNeverAnswersHitsTheTimeout) {
  // The whole guest frozen (SIGSTOP on its QEMU): its agent cannot answer.
  const int64_t vmm = info(abuse_).vmm_pid;
  ASSERT_EQ(kill(static_cast<pid_t>(vmm), SIGSTOP), 0);
  const int64_t t0 = now_ms();
  const vmtest::Result r = run(abuse_, "echo never", 1000);
  const int64_t took = now_ms() - t0;
  kill(static_cast<pid_t>(vmm), SIGCONT);
  EXPECT_EQ(r.rc, SMOLVM_ETIMEOUT) << r.err;
  EXPECT_NE(r.err.find("did not answer"), std::string::npos) << r.err;
  std::printf("frozen guest: exec with timeout 1000 ms failed after %lld ms\n",
              static_cast<long long>(took));
  EXPECT_LT(took, 10000);
  EXPECT_TRUE(answers(abuse_));  // thawed, it carries on
  expect_others_fine();
}

TEST_F(Abuse, AForkBombStaysInsideItsVm) {
  const vmtest::Result r = run(abuse_, "f() { f | f & }; f; sleep 60", 8000);
  std::printf("fork bomb: rc %d exit %d timed_out %d\n", r.rc, r.exit_code, r.timed_out);
  // The bomb's processes outlive the command: the guest may stay busy.
  const int64_t t0 = now_ms();
  for (int n = 0; n < 3; ++n) {
    EXPECT_TRUE(answers(bystander_));
    EXPECT_TRUE(host_unaffected());
  }
  const vmtest::Result after = run(abuse_, "echo ok", 3000);
  std::printf("fork bomb: bystander fine for %lld ms; the bombed VM %s\n",
              static_cast<long long>(now_ms() - t0),
              after.rc == 0 ? "still answers" : "is busy (timeout held)");
}

// Deleting the bombed (maybe wedged) VM from two processes at once.
TEST_F(Abuse, TwoProcessesDeletingTheSameVmAtOnce) {
  const smolvm_vm_info i = info(abuse_);
  const std::string dir = i.state_dir;
  const int64_t sup = i.supervisor_pid, vmm = i.vmm_pid;
  std::string out;
  const std::string cli = "SMOLVM_STATE_DIR='" + vmtest::state_dir() + "' '" SMOLVM_CLI "'";
  const std::string rm = "(" + cli + " rm abuse 2>&1; echo rc=$?)";
  sh(rm + " & " + rm + " & wait", &out);
  std::printf("two deletes: %s", out.c_str());
  size_t ok = 0, pos = 0;
  while ((pos = out.find("rc=0", pos)) != std::string::npos) ++ok, ++pos;
  EXPECT_EQ(ok, 1u) << out;
  EXPECT_NE(out.find("no VM with id 'abuse'"), std::string::npos) << out;
  EXPECT_TRUE(nothing_left(dir, sup, vmm, true));
  smolvm_vm* again = nullptr;
  EXPECT_EQ(smolvm_vm_open(&again, vmtest::runtime(), "abuse"), SMOLVM_ENOTFOUND);
  expect_others_fine();
}

TEST_F(Abuse, SupervisorKilledDuringAnExec) {
  const smolvm_vm_info i = info(bystander_);
  const std::string dir = i.state_dir;
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command = "echo started; sleep 60";
  smolvm_exec* ex = nullptr;
  ASSERT_EQ(smolvm_exec_start(&ex, bystander_, &o), 0) << smolvm_last_error();
  smolvm_exec_event ev;
  ASSERT_EQ(smolvm_exec_next_event(&ev, ex, 20000), 0);
  ASSERT_EQ(kill(static_cast<pid_t>(i.supervisor_pid), SIGKILL), 0);
  const int64_t t0 = now_ms();
  const int rc = smolvm_exec_next_event(&ev, ex, 20000);
  std::printf("supervisor killed mid-exec: the stream ended with %d (%s) after %lld ms\n", rc,
              smolvm_last_error(), static_cast<long long>(now_ms() - t0));
  EXPECT_EQ(rc, SMOLVM_EIO);
  smolvm_exec_free(ex);
  // Documented: QEMU dies with its supervisor; a look at the VM shows it
  // failed, and gc records it and removes what the supervisor left (its
  // sockets and QEMU's) with the supervisor's own teardown code. The
  // stream ends as the kernel closes the supervisor's files, a moment
  // before the process is gone: wait for that.
  for (int n = 0; n < 250 && vmtest::pid_alive(i.supervisor_pid); ++n) usleep(20000);
  EXPECT_STREQ(info(bystander_).state_name, "failed");
  uint32_t fixed = 99;
  EXPECT_EQ(smolvm_runtime_gc(&fixed, vmtest::runtime()), 0);
  EXPECT_EQ(fixed, 1u);
  EXPECT_TRUE(nothing_left(dir, i.supervisor_pid, i.vmm_pid, false));
  // Recorded by `smolvm-supervisor --cleanup`, which gc ran.
  const smolvm_vm_info after = info(bystander_);
  EXPECT_STREQ(after.state_name, "failed");
  EXPECT_NE(std::string(after.last_error).find("is gone; the VM was cleaned up"), std::string::npos)
      << after.last_error;
  EXPECT_EQ(after.supervisor_pid, 0);
  EXPECT_EQ(after.vmm_pid, 0);
  EXPECT_EQ(smolvm_vm_delete(bystander_), 0) << smolvm_last_error();
  EXPECT_TRUE(nothing_left(dir, 0, 0, true));
  smolvm_vm_free(bystander_);
  bystander_ = nullptr;
  EXPECT_TRUE(host_unaffected());
}

}  // namespace
}  // namespace hardening
