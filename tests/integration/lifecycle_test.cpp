// The VM lifecycle and what is left after faults, with real VMs. Each test
// boots its own VM, so they are kept few.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/support/vm_fixture.h"

namespace vmtest {
namespace {

namespace fs = std::filesystem;

// Only the files a stopped VM keeps: its disk and logs, no sockets.
void expect_no_sockets(const std::string& vm_dir) {
  for (const auto& f : files_in(vm_dir)) {
    EXPECT_EQ(f.find(".sock"), std::string::npos) << vm_dir << "/" << f << " left behind";
  }
}

TEST(Lifecycle, StopStartKeepsTheIsolatedDiskAndDeleteRemovesEverything) {
  smolvm_vm* vm = create_and_start("life");
  ASSERT_NE(vm, nullptr);
  ASSERT_EQ(run(vm, "echo kept > /root/persist && sync").rc, 0);
  const smolvm_vm_info before = info(vm);
  const std::string dir = before.state_dir;
  const int64_t sup = before.supervisor_pid, vmm = before.vmm_pid;

  ASSERT_EQ(smolvm_vm_stop(vm, 10000), 0) << smolvm_last_error();
  EXPECT_STREQ(info(vm).state_name, "stopped");
  EXPECT_FALSE(pid_alive(sup));
  EXPECT_FALSE(pid_alive(vmm));
  expect_no_sockets(dir);
  EXPECT_EQ(run(vm, "true").rc, SMOLVM_ESTATE);
  EXPECT_EQ(smolvm_vm_stop(vm, 0), 0);  // stopping a stopped VM is a no-op

  ASSERT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
  EXPECT_EQ(run(vm, "cat /root/persist").out, "kept\n");
  EXPECT_EQ(smolvm_vm_start(vm), SMOLVM_ESTATE);
  EXPECT_NE(std::string(smolvm_last_error()).find("is running"), std::string::npos);

  const int64_t sup2 = info(vm).supervisor_pid, vmm2 = info(vm).vmm_pid;
  ASSERT_EQ(smolvm_vm_delete(vm), 0) << smolvm_last_error();
  EXPECT_FALSE(pid_alive(sup2));
  EXPECT_FALSE(pid_alive(vmm2));
  EXPECT_FALSE(fs::exists(dir));
  smolvm_vm* again = nullptr;
  EXPECT_EQ(smolvm_vm_open(&again, runtime(), "life"), SMOLVM_ENOTFOUND);
  smolvm_vm_free(vm);
}

TEST(Lifecycle, SharedDiskWritesAreThrownAwayOnStop) {
  smolvm_vm* vm = create("shdisk", "shared");
  ASSERT_NE(vm, nullptr);
  EXPECT_STREQ(info(vm).disk_path, "");
  ASSERT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
  ASSERT_EQ(run(vm, "echo x > /root/scratch && sync && cat /root/scratch").out, "x\n");
  ASSERT_EQ(smolvm_vm_stop(vm, 10000), 0);
  ASSERT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
  EXPECT_EQ(run(vm, "test -e /root/scratch && echo present || echo absent").out, "absent\n");
  EXPECT_EQ(smolvm_vm_delete(vm), 0);
  smolvm_vm_free(vm);
}

TEST(Faults, QemuKilledIsRecordedAndCleanedUp) {
  smolvm_vm* vm = create_and_start("killqemu");
  ASSERT_NE(vm, nullptr);
  const smolvm_vm_info i = info(vm);
  const std::string dir = i.state_dir;
  const int64_t sup = i.supervisor_pid;
  ASSERT_EQ(kill(static_cast<pid_t>(i.vmm_pid), SIGKILL), 0);
  EXPECT_EQ(wait_state_change(vm, "running", 10000), "failed");
  const smolvm_vm_info after = info(vm);
  EXPECT_NE(std::string(after.last_error).find("killed by signal 9"), std::string::npos)
      << after.last_error;
  EXPECT_EQ(after.vmm_pid, 0);
  for (int n = 0; n < 100 && pid_alive(sup); ++n) usleep(20000);
  EXPECT_FALSE(pid_alive(sup)) << "the supervisor outlived its VM";
  expect_no_sockets(dir);
  // A failed VM can be started again.
  ASSERT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
  EXPECT_EQ(run(vm, "echo back").out, "back\n");
  EXPECT_EQ(smolvm_vm_delete(vm), 0);
  smolvm_vm_free(vm);
}

TEST(Faults, SupervisorKilledTakesQemuWithItAndIsReconciled) {
  smolvm_vm* vm = create_and_start("killsup");
  ASSERT_NE(vm, nullptr);
  const smolvm_vm_info i = info(vm);
  const int64_t vmm = i.vmm_pid;
  const std::string dir = i.state_dir;
  ASSERT_EQ(kill(static_cast<pid_t>(i.supervisor_pid), SIGKILL), 0);
  // QEMU dies with its supervisor (PDEATHSIG): no VM is left unowned.
  for (int n = 0; n < 250 && pid_alive(vmm); ++n) usleep(20000);
  EXPECT_FALSE(pid_alive(vmm)) << "QEMU outlived its supervisor";
  // A look at the VM shows it failed, and only shows it: the repair is the
  // next call that acts on the VM (here a command).
  const smolvm_vm_info after = info(vm);
  EXPECT_STREQ(after.state_name, "failed");
  EXPECT_NE(std::string(after.last_error).find("supervisor"), std::string::npos);
  EXPECT_EQ(run(vm, "true").rc, SMOLVM_ESTATE);
  expect_no_sockets(dir);
  EXPECT_NE(std::string(info(vm).last_error).find("cleaned up"), std::string::npos);
  uint32_t fixed = 99;
  EXPECT_EQ(smolvm_runtime_gc(&fixed, runtime()), 0);
  EXPECT_EQ(fixed, 0u);  // already reconciled
  EXPECT_EQ(smolvm_vm_delete(vm), 0);
  smolvm_vm_free(vm);
}

TEST(Faults, ABrokenKernelFailsStartAndLeavesNothingRunning) {
  const std::string kernel = state_dir() + "/broken-vmlinux";
  std::ofstream(kernel) << "this is not a kernel";
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.vm_id = "broken";
  o.kernel_path = kernel.c_str();
  o.boot_timeout_s = 20;
  smolvm_vm* vm = nullptr;
  ASSERT_EQ(smolvm_vm_create(&vm, runtime(), &o), 0) << smolvm_last_error();
  EXPECT_NE(smolvm_vm_start(vm), 0);
  const std::string err = smolvm_last_error();
  EXPECT_NE(err.find("failed to start"), std::string::npos) << err;
  const smolvm_vm_info i = info(vm);
  EXPECT_STREQ(i.state_name, "failed");
  EXPECT_EQ(i.supervisor_pid, 0);
  EXPECT_EQ(i.vmm_pid, 0);
  EXPECT_STRNE(i.last_error, "");
  // Cold, and the default image's template (keyed without the kernel) is
  // neither used nor replaced by a VM that brings a kernel of its own.
  EXPECT_STREQ(i.boot, "cold");
  EXPECT_NE(std::string(i.boot_reason).find("boots a kernel of its own"), std::string::npos)
      << i.boot_reason;
  expect_no_sockets(i.state_dir);
  EXPECT_EQ(smolvm_vm_delete(vm), 0);
  smolvm_vm_free(vm);
}

TEST(Cli, OneShotRunCleansUpAndPassesTheExitCode) {
  CliResult r = cli("run --rm --mem 256 -- 'echo one-shot; exit 4'");
  EXPECT_EQ(r.out, "one-shot\n");
  EXPECT_EQ(r.status, 4);
  EXPECT_EQ(cli("ls -q").out.find("vm-"), std::string::npos) << "the one-shot VM was not deleted";
}

TEST(Cli, BadInputIsAClearErrorWithUsageExitCodes) {
  // The CLI knows the library's ranges (smolvm.h): a usage error.
  CliResult r = cli("create --mem 64");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--mem=64: must be 128..16384"), std::string::npos) << r.out;
  r = cli("create --kernel /no/such/file");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("kernel_path='/no/such/file': no such file"), std::string::npos) << r.out;
  r = cli("create --mem lots");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--mem=lots"), std::string::npos) << r.out;
  r = cli("frobnicate");
  EXPECT_EQ(r.status, 2);
  r = cli("run no-such-vm -- true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("no-such-vm"), std::string::npos);
  for (const char* cmd : {"create", "start", "run", "exec", "cp", "stop", "rm", "ls", "inspect",
                          "logs", "gc", "doctor", "image"}) {
    r = cli(std::string(cmd) + " --help");
    EXPECT_EQ(r.status, 0) << cmd;
    EXPECT_NE(r.out.find("usage: smolvm"), std::string::npos) << cmd;
  }
}

}  // namespace
}  // namespace vmtest

namespace vmtest {
namespace {

TEST(Profiles, CreateFromAProfileAppliesEnvAndRunsSetupOnce) {
  const std::string path = state_dir() + "/runner.yaml";
  std::ofstream(path) << "apiVersion: smolvm/v1\n"
                         "kind: VMProfile\n"
                         "name: runner\n"
                         "resources: { vcpu_count: 1, mem_size_mib: 256 }\n"
                         "env: { GREETING: hello-from-profile }\n"
                         "setup:\n"
                         "  - echo ran >> /root/setup-count\n";
  CliResult r = cli("create --profile " + path + " --id prof --start");
  ASSERT_EQ(r.status, 0) << r.out;
  r = cli("run prof -- 'echo $GREETING; wc -l < /root/setup-count'");
  EXPECT_EQ(r.out, "hello-from-profile\n1\n");
  // Setup runs after the first boot only.
  ASSERT_EQ(cli("stop prof").status, 0);
  ASSERT_EQ(cli("start prof").status, 0);
  EXPECT_EQ(cli("run prof -- 'wc -l < /root/setup-count'").out, "1\n");
  EXPECT_EQ(cli("rm prof").status, 0);
}

// disk.size_mib end to end: profile -> CLI -> C ABI -> qemu-img -> the
// guest agent growing / at boot. The host file stays sparse.
TEST(Disk, ALargerDiskGrowsTheGuestRootAndTakesOnlyWhatIsWritten) {
  const std::string path = state_dir() + "/big.yaml";
  std::ofstream(path) << "apiVersion: smolvm/v1\n"
                         "kind: VMProfile\n"
                         "name: big\n"
                         "resources: { vcpu_count: 1, mem_size_mib: 256 }\n"
                         "disk: { mode: isolated, size_mib: 3072 }\n";
  CliResult r = cli("create --profile " + path + " --id bigdisk --start");
  ASSERT_EQ(r.status, 0) << r.out;
  smolvm_vm* vm = nullptr;
  ASSERT_EQ(smolvm_vm_open(&vm, runtime(), "bigdisk"), 0) << smolvm_last_error();
  const smolvm_vm_info i = info(vm);
  const uintmax_t image_mib = fs::file_size(i.rootfs_path) >> 20;
  ASSERT_LT(image_mib, 3072u) << "the test needs an image smaller than its disk";
  EXPECT_EQ(i.disk_size_mib, 3072u);

  // df's 1M-blocks: the file system, minus ext4's own metadata, now spans
  // the larger disk.
  const Result df = run(vm, "df -m --output=size / | tail -1");
  ASSERT_EQ(df.rc, 0);
  const long fs_mib = std::stol(df.out);
  EXPECT_GT(fs_mib, 2900) << "image " << image_mib << " MiB, / is " << fs_mib << " MiB";
  std::ifstream console(i.console_log);
  const std::string log((std::istreambuf_iterator<char>(console)), {});
  const auto grew = log.find("grew / from");
  ASSERT_NE(grew, std::string::npos) << log;
  std::printf("%s\n", log.substr(grew, log.find('\n', grew) - grew).c_str());

  // Room beyond the image's size, and the host file holds only what was
  // written.
  ASSERT_EQ(run(vm, "head -c 200M /dev/zero > /root/fill && sync && echo ok").out, "ok\n");
  const uintmax_t host_mib = fs::file_size(i.disk_path) >> 20;
  EXPECT_LT(host_mib, 400u) << "the qcow2 overlay grew to " << host_mib << " MiB";
  EXPECT_EQ(cli("inspect bigdisk").out.find("\"disk_size_mib\": 3072") != std::string::npos, true);

  // A second boot finds nothing to grow.
  ASSERT_EQ(smolvm_vm_stop(vm, 10000), 0);
  ASSERT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
  EXPECT_EQ(std::stol(run(vm, "df -m --output=size / | tail -1").out), fs_mib);
  EXPECT_EQ(smolvm_vm_delete(vm), 0);
  smolvm_vm_free(vm);
}

TEST(Disk, ASizeBelowTheImageIsRefusedAndCreatesNothing) {
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.vm_id = "small";
  o.disk_size_mib = 100;
  smolvm_vm* vm = nullptr;
  EXPECT_EQ(smolvm_vm_create(&vm, runtime(), &o), SMOLVM_EINVAL);
  EXPECT_NE(
      std::string(smolvm_last_error()).find("disk_size_mib=100: must be at least the image's size"),
      std::string::npos)
      << smolvm_last_error();
  EXPECT_EQ(smolvm_vm_open(&vm, runtime(), "small"), SMOLVM_ENOTFOUND);
  EXPECT_FALSE(fs::exists(state_dir() + "/vms/small"));

  o.disk_mode = "shared";
  o.disk_size_mib = 4096;
  EXPECT_EQ(smolvm_vm_create(&vm, runtime(), &o), SMOLVM_EINVAL);
  EXPECT_NE(std::string(smolvm_last_error()).find("disk_size_mib=4096: only an isolated disk"),
            std::string::npos)
      << smolvm_last_error();
  // The CLI passes --disk-size through and exits 1 with the library's words.
  const CliResult r = cli("create --disk-size 100");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("disk_size_mib=100"), std::string::npos) << r.out;
}

TEST(Profiles, ABadProfileNamesFileLineAndKeyAndCreatesNothing) {
  const std::string path = state_dir() + "/bad.yaml";
  std::ofstream(path) << "apiVersion: smolvm/v1\nkind: VMProfile\nname: bad\n"
                         "resources: { mem_size_mib: 64 }\n";
  CliResult r = cli("create --profile " + path);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("bad.yaml:4:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("resources.mem_size_mib=64: must be 128..16384"), std::string::npos)
      << r.out;
  EXPECT_EQ(cli("create --profile " + path + " --mem 512").status, 2);
}

}  // namespace
}  // namespace vmtest
