// Pause and resume of a real VM (QEMU): the guest stands still while paused
// (a guest loop's counter, the guest's clock, QEMU's CPU time), commands are
// refused naming the state, the VM outlives the client that paused it and
// gc, and stop and delete of a paused VM leave nothing.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/vm_fixture.h"

namespace vmtest {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// How long the tests keep a VM paused: long enough that a guest loop
// ticking every 100 ms would count 30 if it ran.
constexpr auto kPauseWindow = std::chrono::seconds(3);

// utime + stime of a process, in ms (/proc/PID/stat fields 14 and 15).
int64_t cpu_ms(int64_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), {});
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream rest(stat.substr(paren + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return (utime + stime) * 1000 / sysconf(_SC_CLK_TCK);
}

int64_t number_in(const Result& r) {
  try {
    return std::stoll(r.out);
  } catch (const std::exception&) {
    ADD_FAILURE() << "not a number: '" << r.out << "' (" << r.err << ")";
    return -1;
  }
}

// The guest's monotonic clock in ms (/proc/uptime).
int64_t guest_uptime_ms(smolvm_vm* vm) {
  const Result r = run(vm, "cut -d' ' -f1 /proc/uptime");
  try {
    return static_cast<int64_t>(std::stod(r.out) * 1000);
  } catch (const std::exception&) {
    ADD_FAILURE() << "uptime: '" << r.out << "' (" << r.err << ")";
    return -1;
  }
}

void expect_no_sockets(const std::string& vm_dir) {
  for (const auto& f : files_in(vm_dir)) {
    EXPECT_EQ(f.find(".sock"), std::string::npos) << vm_dir << "/" << f << " left behind";
  }
}

TEST(Pause, TheGuestStandsStillWhilePausedAndCarriesOnAfterResume) {
  smolvm_vm* vm = create_and_start("pause");
  ASSERT_NE(vm, nullptr);
  const std::string id = smolvm_vm_id(vm);
  // A loop that outlives the command that started it, counting every 100 ms.
  ASSERT_EQ(run(vm,
                "setsid sh -c 'echo $$ > /tmp/loop.pid; i=0; while :; do i=$((i+1)); "
                "echo $i > /tmp/count; sleep 0.1; done' </dev/null >/dev/null 2>&1 &"
                " sleep 0.5; echo kept > /root/before")
                .rc,
            0);
  const std::string loop_pid = run(vm, "cat /tmp/loop.pid").out;
  ASSERT_FALSE(loop_pid.empty());
  const smolvm_vm_info running = info(vm);
  const int64_t sup = running.supervisor_pid, vmm = running.vmm_pid;

  const int64_t count_before = number_in(run(vm, "cat /tmp/count"));
  const int64_t uptime_before = guest_uptime_ms(vm);
  const auto host_before = Clock::now();

  // Paused by a client that then exits (the CLI).
  const auto pause_began = Clock::now();
  const CliResult paused = cli("pause " + id);
  const auto pause_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - pause_began).count();
  ASSERT_EQ(paused.status, 0) << paused.out;
  EXPECT_EQ(paused.out, id + " paused\n");
  std::printf("smolvm pause (CLI process, end to end): %lld ms\n",
              static_cast<long long>(pause_ms));
  EXPECT_STREQ(info(vm).state_name, "paused");
  EXPECT_EQ(info(vm).state, SMOLVM_STATE_PAUSED);
  EXPECT_NE(cli("inspect " + id).out.find("\"state\": \"paused\""), std::string::npos);
  EXPECT_NE(cli("ls").out.find("paused"), std::string::npos);

  // QEMU's vCPUs stand still: its CPU time stays (nearly) flat.
  const int64_t cpu_before = cpu_ms(vmm);
  std::this_thread::sleep_for(kPauseWindow);
  const int64_t cpu_paused = cpu_ms(vmm) - cpu_before;
  std::printf("QEMU CPU time while paused for %lld ms: %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(kPauseWindow).count()),
              static_cast<long long>(cpu_paused));
  EXPECT_LT(cpu_paused, 150) << "QEMU kept using CPU while paused";

  // Refused, naming the state and what to do: by the supervisor on the
  // connection this handle opened before the pause, and by the runtime for a
  // handle opened now.
  const std::string refusal = "vm '" + id + "' is paused: resume it first";
  const Result refused = run(vm, "true");
  EXPECT_EQ(refused.rc, SMOLVM_ESTATE);
  EXPECT_NE(refused.err.find(refusal), std::string::npos) << refused.err;
  smolvm_vm* fresh = nullptr;
  ASSERT_EQ(smolvm_vm_open(&fresh, runtime(), id.c_str()), 0) << last_error();
  const Result refused_fresh = run(fresh, "true");
  EXPECT_EQ(refused_fresh.rc, SMOLVM_ESTATE);
  EXPECT_EQ(refused_fresh.err, refusal);
  smolvm_buf b{nullptr, 0};
  EXPECT_EQ(smolvm_vm_read_file(&b, fresh, "/root/before"), SMOLVM_ESTATE);
  EXPECT_EQ(last_error(), refusal);
  smolvm_vm_free(fresh);
  EXPECT_EQ(smolvm_vm_pause(vm), SMOLVM_ESTATE);
  EXPECT_EQ(last_error(), "vm '" + id + "' is paused: only a running VM can be paused");
  const CliResult again = cli("pause " + id);
  EXPECT_NE(again.status, 0);
  EXPECT_NE(again.out.find("is paused: only a running VM can be paused"), std::string::npos)
      << again.out;

  // gc finds nothing to repair: the supervisor and QEMU live on.
  uint32_t fixed = 99;
  ASSERT_EQ(smolvm_runtime_gc(&fixed, runtime()), 0) << last_error();
  EXPECT_EQ(fixed, 0u);
  EXPECT_STREQ(info(vm).state_name, "paused");
  EXPECT_TRUE(pid_alive(sup));
  EXPECT_TRUE(pid_alive(vmm));

  const auto resume_began = Clock::now();
  const CliResult resumed = cli("resume " + id);
  const auto resume_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - resume_began).count();
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  std::printf("smolvm resume (CLI process, end to end): %lld ms\n",
              static_cast<long long>(resume_ms));
  EXPECT_STREQ(info(vm).state_name, "running");

  // The loop counted on from where it stood; the guest's clock skipped the
  // pause.
  const int64_t count_after = number_in(run(vm, "cat /tmp/count"));
  const int64_t uptime_after = guest_uptime_ms(vm);
  const int64_t host_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - host_before).count();
  std::printf("guest loop: %lld ticks across the pause; guest clock %lld ms, host %lld ms\n",
              static_cast<long long>(count_after - count_before),
              static_cast<long long>(uptime_after - uptime_before),
              static_cast<long long>(host_ms));
  EXPECT_LT(count_after - count_before, 15) << "the guest loop ran while paused";
  EXPECT_GE(count_after, count_before);
  const int64_t window_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(kPauseWindow).count();
  EXPECT_GT(host_ms - (uptime_after - uptime_before), window_ms / 2)
      << "the guest's clock ran while paused";

  // Same processes, same files, and it counts again.
  EXPECT_EQ(run(vm, "cat /tmp/loop.pid").out, loop_pid);
  EXPECT_EQ(run(vm, "kill -0 $(cat /tmp/loop.pid) && echo alive").out, "alive\n");
  EXPECT_EQ(run(vm, "cat /root/before").out, "kept\n");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_GT(number_in(run(vm, "cat /tmp/count")), count_after);
  EXPECT_EQ(info(vm).supervisor_pid, sup);
  EXPECT_EQ(info(vm).vmm_pid, vmm);

  EXPECT_EQ(smolvm_vm_resume(vm), SMOLVM_ESTATE);
  EXPECT_EQ(last_error(), "vm '" + id + "' is running: only a paused VM can be resumed");

  ASSERT_EQ(smolvm_vm_delete(vm), 0) << last_error();
  smolvm_vm_free(vm);
}

TEST(Pause, StopAndDeleteOfAPausedVmWorkAndLeaveNothing) {
  smolvm_vm* vm = create_and_start("pausestop");
  ASSERT_NE(vm, nullptr);
  const std::string id = smolvm_vm_id(vm);
  ASSERT_EQ(run(vm, "echo kept > /root/persist && sync").rc, 0);
  smolvm_vm_info before = info(vm);
  const std::string dir = before.state_dir;

  // A graceful stop: the guest runs again to shut down, its disk intact.
  ASSERT_EQ(smolvm_vm_pause(vm), 0) << last_error();
  ASSERT_EQ(smolvm_vm_stop(vm, 10000), 0) << last_error();
  smolvm_vm_info stopped = info(vm);
  EXPECT_STREQ(stopped.state_name, "stopped");
  EXPECT_STREQ(stopped.last_error, "");
  EXPECT_FALSE(pid_alive(before.supervisor_pid));
  EXPECT_FALSE(pid_alive(before.vmm_pid));
  expect_no_sockets(dir);
  // Neither pause nor resume of a stopped VM.
  EXPECT_EQ(smolvm_vm_pause(vm), SMOLVM_ESTATE);
  EXPECT_EQ(last_error(), "vm '" + id + "' is stopped: only a running VM can be paused");
  EXPECT_EQ(smolvm_vm_resume(vm), SMOLVM_ESTATE);
  EXPECT_EQ(last_error(), "vm '" + id + "' is stopped: only a paused VM can be resumed");

  ASSERT_EQ(smolvm_vm_start(vm), 0) << last_error();
  EXPECT_EQ(run(vm, "cat /root/persist").out, "kept\n");
  before = info(vm);
  ASSERT_EQ(smolvm_vm_pause(vm), 0) << last_error();
  ASSERT_EQ(smolvm_vm_delete(vm), 0) << last_error();
  EXPECT_FALSE(pid_alive(before.supervisor_pid));
  EXPECT_FALSE(pid_alive(before.vmm_pid));
  EXPECT_FALSE(fs::exists(dir));
  smolvm_vm* again = nullptr;
  EXPECT_EQ(smolvm_vm_open(&again, runtime(), id.c_str()), SMOLVM_ENOTFOUND);
  smolvm_vm_free(vm);
}

}  // namespace
}  // namespace vmtest
