// Starting a supervisor (core/runtime/launcher): real processes, double
// forked and detached, reporting on fd 3. Programs written by the test stand
// in for smolvm-supervisor (through $SMOLVM_SUPERVISOR, as an install can)
// so that each way a supervisor can report, stay silent or die is made for
// real; the real supervisor's own reports are covered by the VM suites and
// by run_supervisor_cleanup below.
#include "core/runtime/launcher.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "core/common/error.h"
#include "tests/support/failure.h"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

using Clock = std::chrono::steady_clock;

// Sets $SMOLVM_SUPERVISOR for one test.
class SupervisorOverride {
 public:
  explicit SupervisorOverride(const std::string& path) {
    if (const char* old = getenv("SMOLVM_SUPERVISOR")) old_ = old;
    setenv("SMOLVM_SUPERVISOR", path.c_str(), 1);
  }
  ~SupervisorOverride() {
    if (old_.empty()) {
      unsetenv("SMOLVM_SUPERVISOR");
    } else {
      setenv("SMOLVM_SUPERVISOR", old_.c_str(), 1);
    }
  }

 private:
  std::string old_;
};

class Launcher : public ::testing::Test {
 protected:
  // A stand-in supervisor: a shell script with this body.
  std::string stand_in(const std::string& body) {
    return dir_.write("supervisor.sh", "#!/bin/sh\n" + body + "\n", 0755);
  }
  LaunchRequest request(int timeout_ms = 5000) {
    LaunchRequest r;
    r.vm_id = "vm-one";
    r.state_dir = dir_.path();
    r.plugin_path = "/plugins";
    r.store = "sqlite";
    r.cache_dir = dir_ / "cache";
    r.log_path = dir_ / "supervisor.log";
    r.timeout_ms = timeout_ms;
    return r;
  }
  // Ends a stand-in left running.
  static void end(int64_t pid) {
    if (pid > 0) ::kill(static_cast<pid_t>(pid), SIGKILL);
    EXPECT_TRUE(test::wait_pid_gone(static_cast<pid_t>(pid), 5000));
  }

  test::TempDir dir_;
};

TEST_F(Launcher, SupervisorBinaryHonoursTheEnvironment) {
  SupervisorOverride o("/opt/somewhere/smolvm-supervisor");
  EXPECT_EQ(supervisor_binary(), "/opt/somewhere/smolvm-supervisor");
}

TEST_F(Launcher, ReadyReportStartsADetachedSupervisorWithTheRequestedArguments) {
  // Records its arguments, says READY, then lives on as a supervisor does.
  SupervisorOverride o(
      stand_in("echo \"$@\" > \"$(dirname \"$0\")/args\"\n"
               "printf 'READY\\n' >&3\nexec sleep 30"));
  const LaunchResult r = launch_supervisor(request());
  EXPECT_TRUE(r.ready) << r.error;
  EXPECT_EQ(r.error, "");
  ASSERT_GT(r.pid, 0);
  EXPECT_TRUE(test::pid_alive(r.pid));
  // Detached: another session than the caller's, and not its child.
  EXPECT_NE(::getsid(static_cast<pid_t>(r.pid)), ::getsid(0));
  EXPECT_NE(test::status_field(r.pid, "PPid"), std::to_string(::getpid()));
  EXPECT_EQ(test::read_file(dir_ / "args"), "--vm-id vm-one --state-dir " + dir_.path() +
                                                " --store sqlite --cache-dir " + (dir_ / "cache") +
                                                " --ready-fd 3 --plugin-path /plugins\n");
  end(r.pid);
}

TEST_F(Launcher, ErrorReportCarriesStatusAndMessage) {
  SupervisorOverride o(stand_in("printf 'ERROR ETIMEOUT the guest agent did not answer\\n' >&3"));
  const LaunchResult r = launch_supervisor(request());
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.status, SMOLVM_ETIMEOUT);
  EXPECT_EQ(r.error, "the guest agent did not answer");
  EXPECT_GT(r.pid, 0);
}

TEST_F(Launcher, ExitWithoutReportPointsAtTheLogAndQuotesItsTail) {
  SupervisorOverride o(stand_in("echo 'supervisor: cannot open the store' >&2\nexit 1"));
  const LaunchResult r = launch_supervisor(request());
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.status, SMOLVM_ERROR);
  EXPECT_NE(r.error.find("exited without a report (see " + (dir_ / "supervisor.log") + ")"),
            std::string::npos)
      << r.error;
  EXPECT_NE(r.error.find("supervisor: cannot open the store"), std::string::npos) << r.error;
}

TEST_F(Launcher, SilentSupervisorTimesOutWithoutWaitingLonger) {
  SupervisorOverride o(stand_in("exec sleep 30"));
  const auto t0 = Clock::now();
  const LaunchResult r = launch_supervisor(request(1000));
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.error, "the supervisor did not report within 1 s");
  EXPECT_GE(took, 950);
  EXPECT_LT(took, 3000);
  end(r.pid);
}

TEST_F(Launcher, OwnerLinkArrivesAsFd4) {
  int link[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, link), 0);
  // Writes through the owner link it was given, then reports.
  SupervisorOverride o(
      stand_in("case \" $* \" in *' --owner-fd 4 '*) ;; *) exit 2;; esac\n"
               "printf owner >&4\nprintf 'READY\\n' >&3\nexec sleep 30"));
  LaunchRequest req = request();
  req.owner_fd = link[1];
  const LaunchResult r = launch_supervisor(req);
  ::close(link[1]);
  EXPECT_TRUE(r.ready) << r.error;
  char buf[16] = {};
  EXPECT_EQ(::read(link[0], buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "owner");
  ::close(link[0]);
  end(r.pid);
}

TEST_F(Launcher, MissingSupervisorBinaryEndsWithoutAReport) {
  SupervisorOverride o(dir_ / "no-such-supervisor");
  const LaunchResult r = launch_supervisor(request(1000));
  // exec fails in the child: no report, and the log names nothing useful,
  // so the error still says where to look.
  EXPECT_FALSE(r.ready);
  EXPECT_NE(r.error.find("exited without a report"), std::string::npos) << r.error;
}

TEST_F(Launcher, CleanupPassesTheVmAndItsEnd) {
  SupervisorOverride o(stand_in("echo \"$@\" > \"$(dirname \"$0\")/args\""));
  CleanupRequest req;
  req.vm_id = "vm-two";
  req.state_dir = dir_.path();
  req.plugin_path = "/p";
  req.store = "sqlite";
  req.failed = false;
  req.error = "stopped by gc";
  run_supervisor_cleanup(req);
  EXPECT_EQ(test::read_file(dir_ / "args"), "--cleanup --vm-id vm-two --state-dir " + dir_.path() +
                                                " --plugin-path /p --store sqlite --end-state "
                                                "stopped --error stopped by gc\n");
}

TEST_F(Launcher, CleanupFailureIsEioWithItsOutput) {
  SupervisorOverride o(stand_in("echo 'no such vm: vm-two'\nexit 3"));
  CleanupRequest req;
  req.vm_id = "vm-two";
  const test::Failure f = test::failure_of([&] { run_supervisor_cleanup(req); });
  EXPECT_EQ(f.status, SMOLVM_EIO);
  EXPECT_EQ(f.message,
            "cleaning up after vm 'vm-two': smolvm-supervisor --cleanup exited with status 3: "
            "no such vm: vm-two");
}

TEST_F(Launcher, CleanupThatHangsIsEtimeout) {
  SupervisorOverride o(stand_in("exec sleep 30"));
  CleanupRequest req;
  req.vm_id = "vm-two";
  req.timeout_ms = 1000;
  const auto t0 = Clock::now();
  const test::Failure f = test::failure_of([&] { run_supervisor_cleanup(req); });
  EXPECT_EQ(f.status, SMOLVM_ETIMEOUT);
  EXPECT_NE(f.message.find("did not finish within 1 s"), std::string::npos) << f.message;
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count(), 5000);
}

// The real supervisor, asked to clean up a VM in a store that does not
// exist, fails and says so: the path through the real binary.
TEST_F(Launcher, RealSupervisorCleanupOfAnUnknownVmFails) {
  SupervisorOverride o(SMOLVM_SUPERVISOR_BUILD_PATH);
  CleanupRequest req;
  req.vm_id = "vm-none";
  req.state_dir = dir_.path();
  req.plugin_path = SMOLVM_PLUGIN_BUILD_DIR;
  req.store = "no-such-store";
  const test::Failure f = test::failure_of([&] { run_supervisor_cleanup(req); });
  EXPECT_EQ(f.status, SMOLVM_EIO) << f.message;
  EXPECT_NE(f.message.find("vm-none"), std::string::npos) << f.message;
}

}  // namespace
}  // namespace smolvm
