// The launch plan (firecracker's and the jailer's argv, socket and file
// names) and the API request bodies: pure functions of the config.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plugins/vmm-firecracker/fc_launch.h"
#include "plugins/vmm-firecracker/fc_requests.h"

namespace {

using Strings = std::vector<std::string>;

smolvm_vmm_config config(const char* mode = "isolated") {
  smolvm_vmm_config c{};
  c.struct_size = sizeof c;
  c.vm_id = "vm-1";
  c.vcpu_count = 2;
  c.mem_size_mib = 512;
  c.kernel_path = "/img/vmlinux";
  c.rootfs_path = "/img/rootfs.ext4";
  c.disk_mode = mode;
  c.disk_path = std::string(mode) == "isolated" ? "/state/vm-1/disk.raw" : nullptr;
  c.accel = "kvm";
  c.boot_args = "init=/sbin/smolvm-init";
  c.vm_dir = "/state/vm-1";
  c.console_log = "/state/vm-1/console.log";
  return c;
}

smolvm_fc::LaunchSettings direct() {
  smolvm_fc::LaunchSettings s;
  s.firecracker = "/usr/local/bin/firecracker";
  return s;
}

smolvm_fc::LaunchSettings jailed(int cgroup_version) {
  smolvm_fc::LaunchSettings s = direct();
  s.jailer = "/usr/local/bin/jailer";
  s.uid = 123;
  s.gid = 456;
  s.cgroup_version = cgroup_version;
  return s;
}

nlohmann::json body(const std::vector<smolvm_fc::ApiRequest>& reqs, const std::string& path) {
  for (const auto& r : reqs) {
    if (r.path == path) return nlohmann::json::parse(r.body);
  }
  ADD_FAILURE() << "no request for " << path;
  return {};
}

TEST(LaunchPlan, RunsFirecrackerDirectly) {
  std::string problem;
  const auto p = smolvm_fc::plan_launch(config(), direct(), problem);
  ASSERT_EQ(problem, "");
  EXPECT_EQ(p.argv,
            (Strings{"/usr/local/bin/firecracker", "--api-sock", "/state/vm-1/fc-api.sock", "--id",
                     "vm-1", "--log-path", "/state/vm-1/vmm.log", "--level", "Info"}));
  EXPECT_EQ(p.api_socket, "/state/vm-1/fc-api.sock");
  EXPECT_EQ(p.vsock_socket, "/state/vm-1/fc-vsock.sock");
  EXPECT_EQ(p.log_file, "/state/vm-1/vmm.log");
  EXPECT_EQ(p.files.kernel, "/img/vmlinux");
  EXPECT_EQ(p.files.disk, "/state/vm-1/disk.raw");
  EXPECT_FALSE(p.files.disk_read_only);
  EXPECT_EQ(p.files.vsock_uds, "/state/vm-1/fc-vsock.sock");
  EXPECT_EQ(p.jail_root, "");
  EXPECT_TRUE(p.staged.empty());
}

TEST(LaunchPlan, SharedModeBootsTheBaseReadOnly) {
  std::string problem;
  const auto p = smolvm_fc::plan_launch(config("shared"), direct(), problem);
  ASSERT_EQ(problem, "");
  EXPECT_EQ(p.files.disk, "/img/rootfs.ext4");
  EXPECT_TRUE(p.files.disk_read_only);
}

TEST(LaunchPlan, JailerWithCgroupV2) {
  std::string problem;
  const auto p = smolvm_fc::plan_launch(config(), jailed(2), problem);
  ASSERT_EQ(problem, "");
  EXPECT_EQ(p.argv, (Strings{"/usr/local/bin/jailer", "--id", "vm-1", "--exec-file",
                             "/usr/local/bin/firecracker", "--uid", "123", "--gid", "456",
                             "--chroot-base-dir", "/state/vm-1/jail", "--cgroup-version", "2",
                             // (2 vCPUs + 1 for the VMM thread) x 100 ms per 100 ms period.
                             "--cgroup", "cpu.max=300000 100000",
                             // (512 + 64) MiB.
                             "--cgroup", "memory.max=603979776", "--", "--api-sock", "/api.sock",
                             "--log-path", "/vmm.log", "--level", "Info"}));
  const std::string root = "/state/vm-1/jail/firecracker/vm-1/root";
  EXPECT_EQ(p.jail_base, "/state/vm-1/jail");
  EXPECT_EQ(p.jail_root, root);
  EXPECT_EQ(p.api_socket, root + "/api.sock");
  EXPECT_EQ(p.vsock_socket, root + "/fc-vsock.sock");
  // Firecracker, chrooted, sees paths inside the jail.
  EXPECT_EQ(p.files.kernel, "/kernel");
  EXPECT_EQ(p.files.disk, "/disk.raw");
  EXPECT_EQ(p.files.vsock_uds, "/fc-vsock.sock");
  ASSERT_EQ(p.staged.size(), 3u);
  EXPECT_EQ(p.staged[0].from, "/img/vmlinux");
  EXPECT_EQ(p.staged[0].to, root + "/kernel");
  EXPECT_FALSE(p.staged[0].must_link);
  EXPECT_FALSE(p.staged[0].chown);
  // The VM's own disk must be the same inode, and writable by the jail uid.
  EXPECT_EQ(p.staged[1].from, "/state/vm-1/disk.raw");
  EXPECT_EQ(p.staged[1].to, root + "/disk.raw");
  EXPECT_TRUE(p.staged[1].must_link);
  EXPECT_TRUE(p.staged[1].chown);
  EXPECT_EQ(p.staged[2].from, "/state/vm-1/vmm.log");
  EXPECT_EQ(p.staged[2].to, root + "/vmm.log");
  EXPECT_TRUE(p.staged[2].must_link);
  EXPECT_EQ(p.cgroup_dirs, Strings{"/sys/fs/cgroup/firecracker/vm-1"});
}

TEST(LaunchPlan, JailerWithCgroupV1) {
  std::string problem;
  smolvm_vmm_config c = config("shared");
  c.vcpu_count = 1;
  c.mem_size_mib = 128;
  const auto p = smolvm_fc::plan_launch(c, jailed(1), problem);
  ASSERT_EQ(problem, "");
  const Strings want_tail = {"--cgroup-version",
                             "1",
                             "--cgroup",
                             "cpu.cfs_period_us=100000",
                             "--cgroup",
                             "cpu.cfs_quota_us=200000",
                             "--cgroup",
                             "memory.limit_in_bytes=201326592",
                             "--",
                             "--api-sock",
                             "/api.sock",
                             "--log-path",
                             "/vmm.log",
                             "--level",
                             "Info"};
  ASSERT_GE(p.argv.size(), want_tail.size());
  EXPECT_EQ(Strings(p.argv.end() - static_cast<long>(want_tail.size()), p.argv.end()), want_tail);
  // The shared base is linked or copied read-only, and never chowned.
  EXPECT_EQ(p.files.disk, "/rootfs.img");
  EXPECT_TRUE(p.files.disk_read_only);
  EXPECT_FALSE(p.staged[1].must_link);
  EXPECT_FALSE(p.staged[1].chown);
  EXPECT_EQ(p.cgroup_dirs, (Strings{"/sys/fs/cgroup/cpu/firecracker/vm-1",
                                    "/sys/fs/cgroup/memory/firecracker/vm-1"}));
}

TEST(LaunchPlan, RefusesWhatFirecrackerCannotRun) {
  struct Case {
    const char* what;
    std::function<void(smolvm_vmm_config&, smolvm_fc::LaunchSettings&)> change;
    const char* message;
  };
  const std::string long_dir = "/state/" + std::string(90, 'd');
  const Case cases[] = {
      {"tcg", [](auto& c, auto&) { c.accel = "tcg"; }, "Firecracker runs only with hardware KVM"},
      {"mode", [](auto& c, auto&) { c.disk_mode = "cow"; }, "disk_mode='cow'"},
      {"no disk", [](auto& c, auto&) { c.disk_path = nullptr; }, "prepare_disk was not run"},
      {"no kernel", [](auto& c, auto&) { c.kernel_path = nullptr; }, "kernel_path"},
      {"id", [](auto& c, auto&) { c.vm_id = "vm_1"; }, "Firecracker ids"},
      {"acpi kernel", [](auto& c, auto&) { c.kernel_acpi = 1; },
       "finds its devices through ACPI, which Firecracker does not offer"},
      {"long path", [&](auto& c, auto&) { c.vm_dir = long_dir.c_str(); },
       "over the Unix socket limit"},
      {"exec name",
       [](auto&, auto& s) {
         s = jailed(2);
         s.firecracker = "/opt/fc-1.7";
       },
       "contains \"firecracker\""},
  };
  for (const Case& k : cases) {
    smolvm_vmm_config c = config();
    smolvm_fc::LaunchSettings s = direct();
    k.change(c, s);
    std::string problem;
    const auto p = smolvm_fc::plan_launch(c, s, problem);
    EXPECT_NE(problem.find(k.message), std::string::npos) << k.what << ": " << problem;
    EXPECT_TRUE(p.argv.empty()) << k.what;
  }
}

TEST(Requests, KernelCommandLine) {
  const std::string line = smolvm_fc::kernel_cmdline(config());
  EXPECT_EQ(line,
            "console=ttyS0 reboot=k panic=1 pci=off quiet loglevel=4 smolvm.channel=vsock:1024 "
            "init=/sbin/smolvm-init");
  // Firecracker adds root= itself from the root drive.
  EXPECT_EQ(line.find("root="), std::string::npos);
}

TEST(Requests, ConfigureThenStart) {
  std::string problem;
  smolvm_vmm_config c = config();
  const auto plan = smolvm_fc::plan_launch(c, direct(), problem);
  const auto reqs = smolvm_fc::config_requests(c, plan.files, problem);
  ASSERT_EQ(problem, "");
  Strings paths;
  for (const auto& r : reqs) {
    EXPECT_EQ(r.method, "PUT");
    paths.push_back(r.path);
  }
  EXPECT_EQ(paths,
            (Strings{"/machine-config", "/boot-source", "/drives/rootfs", "/vsock", "/entropy"}));
  EXPECT_EQ(body(reqs, "/machine-config"),
            nlohmann::json::parse(R"({"vcpu_count":2,"mem_size_mib":512,"smt":false})"));
  EXPECT_EQ(body(reqs, "/boot-source")["kernel_image_path"], "/img/vmlinux");
  EXPECT_EQ(body(reqs, "/boot-source")["boot_args"], smolvm_fc::kernel_cmdline(c));
  EXPECT_EQ(body(reqs, "/drives/rootfs"), nlohmann::json::parse(R"({"drive_id":"rootfs",
      "path_on_host":"/state/vm-1/disk.raw","is_root_device":true,"is_read_only":false})"));
  EXPECT_EQ(body(reqs, "/vsock"),
            nlohmann::json::parse(R"({"guest_cid":3,"uds_path":"/state/vm-1/fc-vsock.sock"})"));
  EXPECT_EQ(smolvm_fc::instance_start().body, R"({"action_type":"InstanceStart"})");
  EXPECT_EQ(smolvm_fc::send_ctrl_alt_del().body, R"({"action_type":"SendCtrlAltDel"})");
}

TEST(Requests, NetworkInterfaceWithATap) {
  std::string problem;
  smolvm_vmm_config c = config("shared");
  c.tap_name = "smolvm-tap3";
  c.mac = "06:00:ac:10:00:03";
  const auto plan = smolvm_fc::plan_launch(c, direct(), problem);
  const auto reqs = smolvm_fc::config_requests(c, plan.files, problem);
  ASSERT_EQ(problem, "");
  EXPECT_EQ(body(reqs, "/network-interfaces/eth0"),
            nlohmann::json::parse(R"({"iface_id":"eth0","host_dev_name":"smolvm-tap3",
                                      "guest_mac":"06:00:ac:10:00:03"})"));
  EXPECT_EQ(body(reqs, "/drives/rootfs")["is_read_only"], true);
}

TEST(Requests, RefusesWhatTheApiCannotCarry) {
  std::string problem;
  smolvm_vmm_config c = config();
  smolvm_fc::GuestFiles files{"/k", "/d", false, "/v.sock"};
  c.vcpu_count = 33;
  EXPECT_TRUE(smolvm_fc::config_requests(c, files, problem).empty());
  EXPECT_NE(problem.find("vcpu_count=33"), std::string::npos) << problem;
  c = config();
  problem.clear();
  files.disk = "/bad-\xff-utf8";
  EXPECT_TRUE(smolvm_fc::config_requests(c, files, problem).empty());
  EXPECT_NE(problem.find("not valid UTF-8"), std::string::npos) << problem;
}

}  // namespace
