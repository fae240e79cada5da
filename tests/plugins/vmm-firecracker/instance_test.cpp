// The launch, agent channel, kill and release of one instance, end to end
// through real processes and sockets. The VMM is standin_firecracker.py,
// because Firecracker itself cannot run on hosts without hardware KVM; it
// speaks Firecracker's API and hybrid vsock, so what is tested is the
// plugin's side: process, sockets, request order, faults, cleanup. The real
// boot is boot_test.cpp.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "plugins/vmm-firecracker/fc_instance.h"
#include "tests/support/temp_dir.h"
#include "tests/support/unix_socket.h"

namespace {

class EnvVar {
 public:
  EnvVar(const char* name, const std::string& value) : name_(name) {
    setenv(name, value.c_str(), 1);
  }
  ~EnvVar() { unsetenv(name_); }

 private:
  const char* name_;
};

struct Vm {
  smolvm::test::TempDir dir;
  std::string kernel = dir / "vmlinux", disk = dir / "disk.raw", console = dir / "console.log";
  smolvm_vmm_config cfg{};
  smolvm_fc::LaunchSettings settings;

  Vm() {
    smolvm::test::write_file(kernel, "kernel");
    smolvm::test::write_file(disk, "disk");
    cfg.struct_size = sizeof cfg;
    cfg.vm_id = "vm-standin";
    cfg.vcpu_count = 2;
    cfg.mem_size_mib = 256;
    cfg.kernel_path = kernel.c_str();
    cfg.rootfs_path = disk.c_str();
    cfg.disk_mode = "isolated";
    cfg.disk_path = disk.c_str();
    cfg.accel = "kvm";
    cfg.boot_args = "init=/sbin/smolvm-init";
    cfg.vm_dir = dir.path().c_str();
    cfg.console_log = console.c_str();
    settings.firecracker = STANDIN_FIRECRACKER;
  }

  std::vector<nlohmann::json> recorded() const {
    std::vector<nlohmann::json> out;
    std::ifstream f(dir / "requests.jsonl");
    std::string line;
    while (std::getline(f, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }
};

// The supervisor's part: reap the VMM after kill.
int reap(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

TEST(Instance, LaunchesConfiguresConnectsAndCleansUp) {
  Vm vm;
  EnvVar record("STANDIN_RECORD", vm.dir / "requests.jsonl");
  EnvVar refuse("STANDIN_REFUSE_VSOCK", "3");
  smolvm_fc::Instance* inst = nullptr;
  std::string error;
  ASSERT_EQ(smolvm_fc::launch_instance(&inst, vm.cfg, vm.settings, error), 0) << error;
  ASSERT_NE(inst, nullptr);
  EXPECT_GT(inst->pid, 0);

  // Configured in order, then started.
  std::vector<std::string> paths;
  for (const auto& r : vm.recorded()) paths.push_back(r["path"]);
  EXPECT_EQ(paths, (std::vector<std::string>{"/machine-config", "/boot-source", "/drives/rootfs",
                                             "/vsock", "/entropy", "/actions"}));
  EXPECT_EQ(nlohmann::json::parse(vm.recorded().back()["body"].get<std::string>()),
            nlohmann::json::parse(R"({"action_type":"InstanceStart"})"));

  // The agent's bytes come first on the channel, after three refusals.
  int fd = -1;
  ASSERT_EQ(smolvm_fc::connect_agent(*inst, 10000, &fd, error), 0) << error;
  char buf[5];
  ASSERT_EQ(read(fd, buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "AGENT");
  close(fd);

  // stdout is the console; Firecracker's own log goes to vmm.log.
  EXPECT_NE(smolvm::test::read_file(vm.console).find("stand-in guest console: booted"),
            std::string::npos);
  EXPECT_NE(
      smolvm::test::read_file(vm.dir / "vmm.log").find("--api-sock " + vm.dir / "fc-api.sock"),
      std::string::npos);

  ASSERT_EQ(smolvm_fc::kill_instance(*inst, error), 0) << error;
  const int status = reap(inst->pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_EQ(smolvm_fc::kill_instance(*inst, error), 0) << "kill must be idempotent: " << error;
  smolvm_fc::release_instance(inst);
  EXPECT_NE(access((vm.dir / "fc-api.sock").c_str(), F_OK), 0);
  EXPECT_NE(access((vm.dir / "fc-vsock.sock").c_str(), F_OK), 0);
}

TEST(Instance, FaultNamesTheEndpointAndLeavesNothingRunning) {
  Vm vm;
  EnvVar fail("STANDIN_FAIL", "/drives/rootfs");
  smolvm_fc::Instance* inst = nullptr;
  std::string error;
  EXPECT_EQ(smolvm_fc::launch_instance(&inst, vm.cfg, vm.settings, error), SMOLVM_EIO);
  EXPECT_EQ(inst, nullptr);
  EXPECT_EQ(error.rfind("Firecracker refused PUT /drives/rootfs: HTTP 400: stand-in refuses "
                        "/drives/rootfs",
                        0),
            0u)
      << error;
  // The log's tail explains it.
  EXPECT_NE(error.find("vmm.log ends with:"), std::string::npos) << error;
  EXPECT_NE(error.find("stand-in: refusing PUT /drives/rootfs"), std::string::npos) << error;
  // The child was killed and reaped in launch: no child is left.
  const pid_t waited = waitpid(-1, nullptr, WNOHANG);
  const int wait_errno = errno;
  EXPECT_EQ(waited, -1);
  EXPECT_EQ(wait_errno, ECHILD);
  EXPECT_NE(access((vm.dir / "fc-api.sock").c_str(), F_OK), 0);
}

// Launches the stand-in; the test's body gets the instance, then it is
// killed, reaped and released.
template <class Body>
void with_instance(Vm& vm, Body body) {
  smolvm_fc::Instance* inst = nullptr;
  std::string error;
  ASSERT_EQ(smolvm_fc::launch_instance(&inst, vm.cfg, vm.settings, error), 0) << error;
  body(*inst);
  EXPECT_EQ(smolvm_fc::kill_instance(*inst, error), 0) << error;
  reap(inst->pid);
  smolvm_fc::release_instance(inst);
}

TEST(Instance, PausesAndResumesThroughPatchVm) {
  Vm vm;
  EnvVar record("STANDIN_RECORD", vm.dir / "requests.jsonl");
  with_instance(vm, [](smolvm_fc::Instance& inst) {
    std::string error;
    EXPECT_EQ(smolvm_fc::set_paused(inst, true, error), 0) << error;
    EXPECT_EQ(smolvm_fc::set_paused(inst, false, error), 0) << error;
  });
  const auto sent = vm.recorded();
  ASSERT_GE(sent.size(), 2u);
  const auto& paused = sent[sent.size() - 2];
  const auto& resumed = sent.back();
  EXPECT_EQ(paused["method"], "PATCH");
  EXPECT_EQ(paused["path"], "/vm");
  EXPECT_EQ(nlohmann::json::parse(paused["body"].get<std::string>()),
            nlohmann::json::parse(R"({"state":"Paused"})"));
  EXPECT_EQ(resumed["method"], "PATCH");
  EXPECT_EQ(nlohmann::json::parse(resumed["body"].get<std::string>()),
            nlohmann::json::parse(R"({"state":"Resumed"})"));
}

TEST(Instance, ARefusedPauseNamesTheEndpoint) {
  Vm vm;
  EnvVar fail("STANDIN_FAIL", "/vm");
  with_instance(vm, [](smolvm_fc::Instance& inst) {
    std::string error;
    EXPECT_EQ(smolvm_fc::set_paused(inst, true, error), SMOLVM_EIO);
    EXPECT_NE(error.find("PATCH /vm: HTTP 400: stand-in refuses /vm"), std::string::npos) << error;
  });
}

TEST(Instance, ExitBeforeTheApiSocketIsReported) {
  Vm vm;
  EnvVar exit_now("STANDIN_EXIT", "1");
  smolvm_fc::Instance* inst = nullptr;
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(smolvm_fc::launch_instance(&inst, vm.cfg, vm.settings, error), SMOLVM_EIO);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_NE(error.find("firecracker exited with status 1 before opening its API socket"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("stand-in: exiting before the API socket"), std::string::npos) << error;
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
}

TEST(Instance, AgentConnectStopsWhenTheVmmDies) {
  Vm vm;
  EnvVar refuse("STANDIN_REFUSE_VSOCK", "1000000");  // the guest never listens
  smolvm_fc::Instance* inst = nullptr;
  std::string error;
  ASSERT_EQ(smolvm_fc::launch_instance(&inst, vm.cfg, vm.settings, error), 0) << error;
  kill(inst->pid, SIGKILL);
  int fd = -1;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(smolvm_fc::connect_agent(*inst, 30000, &fd, error), SMOLVM_EIO);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_NE(error.find("firecracker was killed by signal 9"), std::string::npos) << error;
  // still_running did not reap it: the supervisor's waitpid still sees it.
  const int status = reap(inst->pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  smolvm_fc::release_instance(inst);
}

// Alive and not a zombie (a container's PID 1 may never reap orphans).
bool alive(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), {});
  const auto paren = stat.rfind(')');
  return !stat.empty() && paren != std::string::npos && paren + 2 < stat.size() &&
         stat[paren + 2] != 'Z';
}

TEST(Instance, DiesWithItsSupervisor) {
  Vm vm;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t supervisor = fork();
  ASSERT_GE(supervisor, 0);
  if (supervisor == 0) {
    // The child plays the supervisor: launches, reports the VMM pid, waits.
    close(fds[0]);
    smolvm_fc::Instance* inst = nullptr;
    std::string error;
    pid_t pid = -1;
    if (smolvm_fc::launch_instance(&inst, vm.cfg, vm.settings, error) == 0) pid = inst->pid;
    (void)!write(fds[1], &pid, sizeof pid);
    for (;;) pause();
  }
  close(fds[1]);
  pid_t vmm = -1;
  ASSERT_EQ(read(fds[0], &vmm, sizeof vmm), static_cast<ssize_t>(sizeof vmm));
  close(fds[0]);
  ASSERT_GT(vmm, 0);
  EXPECT_TRUE(alive(vmm));
  kill(supervisor, SIGKILL);
  reap(supervisor);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (alive(vmm) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(alive(vmm)) << "the VMM outlived its supervisor";
}

TEST(Instance, RefusesTcg) {
  Vm vm;
  vm.cfg.accel = "tcg";
  smolvm_fc::Instance* inst = nullptr;
  std::string error;
  EXPECT_EQ(smolvm_fc::launch_instance(&inst, vm.cfg, vm.settings, error), SMOLVM_EINVAL);
  EXPECT_NE(error.find("hardware KVM"), std::string::npos) << error;
}

}  // namespace
