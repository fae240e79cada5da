// VM lifetimes under abuse, with real VMs: the owner of a `run --rm` VM
// killed by SIGTERM, SIGHUP or SIGKILL mid-command (the supervisor must
// delete the VM), a stop that arrives while the VM boots, and many one-shot
// VMs booting two at a time (no boot may fail on a race).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tests/hardening/hardening.h"
#include "tests/support/temp_dir.h"

namespace hardening {
namespace {

using vmtest::cli;
using vmtest::info;
using vmtest::pid_alive;
using vmtest::state_dir;

// Bound on "owner died" -> "nothing of the VM left" (measured: 20-40 ms
// under TCG; the supervisor forces the VMM off at once).
constexpr int kGoneWithinMs = 15000;

// The CLI in a child process of its own (fork + exec, so it can be signalled),
// its output kept in `log_path` for the failure message.
pid_t spawn_cli(const std::vector<std::string>& args, const std::string& log_path) {
  std::vector<std::string> all = {SMOLVM_CLI};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  state_dir();  // sets SMOLVM_STATE_DIR for the child
  const pid_t pid = fork();
  if (pid == 0) {
    const int devnull = open("/dev/null", O_RDONLY);
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    dup2(devnull, 0);
    dup2(log, 1);
    dup2(log, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

bool vm_exists(const std::string& id) {
  smolvm_vm* vm = nullptr;
  const int rc = smolvm_vm_open(&vm, vmtest::runtime(), id.c_str());
  smolvm_vm_free(vm);
  return rc != SMOLVM_ENOTFOUND;
}

// What a test keeps of a running VM. Copied out of smolvm_vm_info: its
// strings belong to the handle and die with smolvm_vm_free.
struct RunningVm {
  int64_t supervisor_pid = 0;
  int64_t vmm_pid = 0;
  std::string vm_dir;
  std::string limits_json;
};

// Waits until the VM runs and a command is under way in it; false at once
// when its owner, the CLI process `owner`, has ended (`owner` is then -1).
bool wait_running(const std::string& id, pid_t& owner, RunningVm& out, int timeout_ms) {
  const int64_t end = now_ms() + timeout_ms;
  while (now_ms() < end) {
    if (waitpid(owner, nullptr, WNOHANG) == owner) {
      owner = -1;
      return false;
    }
    smolvm_vm* vm = nullptr;
    if (smolvm_vm_open(&vm, vmtest::runtime(), id.c_str()) == 0) {
      const smolvm_vm_info i = info(vm);
      const bool running = i.state == SMOLVM_STATE_RUNNING;
      if (running) {
        out.supervisor_pid = i.supervisor_pid;
        out.vmm_pid = i.vmm_pid;
        out.vm_dir = i.state_dir ? i.state_dir : "";
        out.limits_json = i.limits ? i.limits : "{}";
      }
      smolvm_vm_free(vm);
      if (running) {
        usleep(500000);  // the CLI's command starts right after
        return true;
      }
    }
    usleep(50000);
  }
  return false;
}

// The VM's cgroup folders: "path" (v2) or one per controller in "paths" (v1).
std::vector<std::string> cgroups_of(const RunningVm& vm) {
  const auto j = nlohmann::json::parse(vm.limits_json, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_object() || !j.contains("cgroup")) return out;
  const auto& c = j["cgroup"];
  if (c.contains("path") && c["path"].is_string()) out.push_back(c["path"]);
  if (c.contains("paths") && c["paths"].is_object()) {
    for (const auto& [controller, path] : c["paths"].items()) {
      if (path.is_string()) out.push_back(path);
    }
  }
  return out;
}

bool path_exists(const std::string& p) {
  struct stat st {};
  return !p.empty() && stat(p.c_str(), &st) == 0;
}

TEST(Lifetime, AKilledRunRmOwnerTakesItsVmWithItWhateverTheSignal) {
  struct Owner {
    int sig = 0;
    std::string id;
    pid_t pid = -1;
    std::string log;
    RunningVm at_start;
    std::vector<std::string> cgroups;
  };
  std::vector<Owner> owners(3);
  owners[0].sig = SIGTERM, owners[0].id = "lt-term";
  owners[1].sig = SIGHUP, owners[1].id = "lt-hup";
  owners[2].sig = SIGKILL, owners[2].id = "lt-kill";
  // An owner left by a failed assertion is ended, so its VM goes too.
  struct EndOwners {
    std::vector<Owner>& owners;
    ~EndOwners() {
      for (auto& o : owners) {
        if (o.pid > 0 && kill(o.pid, SIGTERM) == 0) waitpid(o.pid, nullptr, 0);
      }
    }
  } end_owners{owners};
  // Booted together: three owners, one round of boots.
  for (auto& o : owners) {
    o.log = state_dir() + "/" + o.id + ".cli.log";
    o.pid = spawn_cli({"run", "--rm", "--id", o.id, "--mem", "256", "--", "sleep 300"}, o.log);
  }
  for (auto& o : owners) {
    ASSERT_TRUE(wait_running(o.id, o.pid, o.at_start, 120000))
        << o.id << " did not start; its CLI said: " << smolvm::test::read_file(o.log);
    ASSERT_FALSE(o.at_start.vm_dir.empty()) << o.id << " has no state folder";
    o.cgroups = cgroups_of(o.at_start);
  }
  // Not their owner: this process may not detach them.
  smolvm_vm* other = nullptr;
  ASSERT_EQ(smolvm_vm_open(&other, vmtest::runtime(), "lt-term"), 0);
  EXPECT_EQ(smolvm_vm_detach(other), SMOLVM_ESTATE);
  EXPECT_NE(std::string(smolvm_last_error()).find("only that process can detach it"),
            std::string::npos)
      << smolvm_last_error();
  smolvm_vm_free(other);

  for (auto& o : owners) {
    SCOPED_TRACE(o.id + " owner killed by signal " + std::to_string(o.sig));
    const int64_t t0 = now_ms();
    ASSERT_EQ(kill(o.pid, o.sig), 0);
    int status = 0;
    waitpid(o.pid, &status, 0);
    o.pid = -1;
    // The row goes first, then the folder (as in `smolvm rm`).
    while ((vm_exists(o.id) || path_exists(o.at_start.vm_dir)) && now_ms() - t0 < kGoneWithinMs) {
      usleep(20000);
    }
    EXPECT_FALSE(vm_exists(o.id)) << "the store row is left";
    EXPECT_TRUE(
        nothing_left(o.at_start.vm_dir, o.at_start.supervisor_pid, o.at_start.vmm_pid, true));
    for (const auto& g : o.cgroups) EXPECT_FALSE(path_exists(g)) << g << " is left";
    std::printf("[ figure ] owner killed by signal %d -> VM %s gone in %lld ms\n", o.sig,
                o.id.c_str(), static_cast<long long>(now_ms() - t0));
  }
  EXPECT_TRUE(host_unaffected());
}

// Starts `vm` and has the CLI stop it `delay_ms` after the start began:
// whatever the order, the CLI's word and the final state agree, and a start
// the stop ended says so.
void stop_during_start(smolvm_vm* vm, const std::string& id, int delay_ms, bool must_land) {
  SCOPED_TRACE("stop " + std::to_string(delay_ms) + " ms into the start of " + id);
  int start_rc = 1;
  std::string start_error;
  std::thread starter([&] {
    start_rc = smolvm_vm_start(vm);
    start_error = smolvm_last_error();
  });
  const int64_t end = now_ms() + 10000;
  while ((info(vm).state == SMOLVM_STATE_CREATED || info(vm).state == SMOLVM_STATE_STOPPED) &&
         now_ms() < end) {
    usleep(2000);
  }
  usleep(delay_ms * 1000);
  const auto stop = cli("stop " + id);
  starter.join();
  const smolvm_vm_info after = info(vm);
  EXPECT_EQ(stop.status, 0) << stop.out;
  EXPECT_NE(stop.out.find("stopped"), std::string::npos) << stop.out;
  EXPECT_STREQ(after.state_name, "stopped") << after.last_error;
  std::printf("[ figure ] stop %d ms into the start of %s (%s boot): start returned %d (%s)\n",
              delay_ms, id.c_str(), after.boot, start_rc, start_error.c_str());
  if (must_land) {
    EXPECT_NE(start_rc, 0);
  }
  if (start_rc != 0) {
    EXPECT_EQ(start_rc, SMOLVM_ESTATE);
    EXPECT_NE(start_error.find("was stopped while it was starting"), std::string::npos)
        << start_error;
  }
  EXPECT_EQ(after.supervisor_pid, 0);
  EXPECT_TRUE(nothing_left(after.state_dir, 0, 0, false));
}

TEST(Lifetime, AStopDuringStartEndsStoppedAndStartSaysSo) {
  // A cold boot takes ~1 s here: a stop sent at once always lands in it
  // (the supervisor may not even be registered); one 400 ms later lands
  // while QEMU boots.
  smolvm_vm* cold = make_vm("lt-stop", 1, false, nullptr, 0, "cold");
  ASSERT_NE(cold, nullptr);
  stop_during_start(cold, "lt-stop", 0, true);
  stop_during_start(cold, "lt-stop", 400, true);
  // A start from the image's template (or one that makes the template) is
  // shorter: the stop lands in the restore, in the making of the template,
  // in the setup after it, or after the start.
  smolvm_vm* warm = make_vm("lt-stop-t", 1, false);
  ASSERT_NE(warm, nullptr);
  for (int delay_ms : {0, 150, 400}) stop_during_start(warm, "lt-stop-t", delay_ms, false);
  // Still working VMs.
  for (smolvm_vm* vm : {cold, warm}) {
    ASSERT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
    EXPECT_TRUE(answers(vm));
    EXPECT_EQ(smolvm_vm_delete(vm), 0) << smolvm_last_error();
    smolvm_vm_free(vm);
  }
}

TEST(Lifetime, OneShotVmsBootingTwoAtATimeNeverFail) {
  // The 100-run figure is in the README; the suite keeps a short loop.
  constexpr int kRounds = 4;
  auto one_shot_rows = [] {
    std::string out;
    sh(std::string("SMOLVM_STATE_DIR='") + state_dir() + "' '" SMOLVM_CLI "' ls -q", &out);
    int n = 0;
    for (size_t pos = 0; (pos = out.find("vm-", pos)) != std::string::npos; ++pos) ++n;
    return n;
  };
  const int rows_before = one_shot_rows();
  int failures = 0;
  std::string why;
  for (int round = 0; round < kRounds; ++round) {
    vmtest::CliResult r[2];
    std::thread t([&] { r[1] = cli("run --rm --mem 256 -- true"); });
    r[0] = cli("run --rm --mem 256 -- true");
    t.join();
    for (const auto& x : r) {
      if (x.status != 0) {
        ++failures;
        why += x.out;
      }
    }
  }
  EXPECT_EQ(failures, 0) << why;
  EXPECT_EQ(one_shot_rows(), rows_before);  // every one-shot VM deleted
}

}  // namespace
}  // namespace hardening
