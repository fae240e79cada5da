// VmRuntime's JSON: a round trip keeps every field, and the documents
// earlier versions stored (literal copies below) read back, through the
// real SQLite store as on a user's machine.
#include "core/store/vm_record.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "core/plugins/loader.h"
#include "core/store/store.h"
#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

// A running, networked ephemeral VM as the version before typed records
// wrote it (create, start, the supervisor's READY, an ssh pin).
constexpr const char* kStoredRuntime = R"({
  "accel": "tcg", "agent_version": "0.3.0",
  "boot_args": "init=/sbin/smolvm-init smolvm.ip=172.16.0.2/16 smolvm.gw=172.16.0.1",
  "cgroup": {"cpu_max": "200000 100000", "enabled": true, "memory_max": 872415232,
             "path": "/sys/fs/cgroup/smolvm/old1", "pids_max": 1024, "version": 2},
  "console_log": "/s/vms/old1/console.log", "creator_pid": 0, "creator_start": 4711,
  "disk_path": "/s/vms/old1/disk.qcow2", "disk_size_mib": 2048, "dns": "192.168.1.1",
  "executor": "ssh", "gateway": "172.16.0.1", "ip": "172.16.0.2", "kernel_path": "/c/vmlinux",
  "last_error": "", "mac": "02:53:4d:00:00:02", "network": "nftables", "owner_pid": 321,
  "owner_start": 99, "prefix": 16, "privileges": {"dropped": true},
  "rootfs_path": "/c/rootfs.ext4", "setup_done": true,
  "ssh_host_key": "ssh-ed25519 AAAAC3Nz", "ssh_key_path": "/s/vms/old1/ssh_key",
  "started_at_ms": 1733500000123, "supervisor_pid": 4242,
  "supervisor_socket": "/s/vms/old1/supervisor.sock", "tap": "svm-2",
  "token": "0123456789abcdef0123456789abcdef", "vm_dir": "/s/vms/old1", "vmm": "qemu", "vmm_pid": 4243,
  "vmm_user": {"uid": 100001}, "stopped_at_ms": 1733400000000,
  "last_exit": "the guest shut down"})";

constexpr const char* kStoredSpec = R"({
  "accel": "auto", "boot_args": "", "boot_timeout_s": 60, "delete_with_owner": true,
  "disk_mode": "isolated", "disk_size_mib": 2048, "env": ["A=1"], "executor": "ssh",
  "kernel_path": "", "mem_size_mib": 1024, "network": "auto", "rootfs_path": "",
  "setup": ["true"], "vcpu_count": 4, "vm_id": "old1", "vmm": "auto"})";

void expect_old1(const VmRuntime& rt) {
  EXPECT_EQ(rt.vm_dir, "/s/vms/old1");
  EXPECT_EQ(rt.kernel_path, "/c/vmlinux");
  EXPECT_EQ(rt.rootfs_path, "/c/rootfs.ext4");
  EXPECT_EQ(rt.disk_path, "/s/vms/old1/disk.qcow2");
  EXPECT_EQ(rt.disk_size_mib, 2048u);
  EXPECT_EQ(rt.console_log, "/s/vms/old1/console.log");
  EXPECT_EQ(rt.supervisor_socket, "/s/vms/old1/supervisor.sock");
  EXPECT_EQ(rt.token, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(rt.vmm, "qemu");
  EXPECT_EQ(rt.executor, "ssh");
  EXPECT_EQ(rt.network, "nftables");
  EXPECT_EQ(rt.accel, "tcg");
  EXPECT_NE(rt.boot_args.find("smolvm.gw=172.16.0.1"), std::string::npos);
  EXPECT_EQ(rt.supervisor_pid, 4242);
  EXPECT_EQ(rt.vmm_pid, 4243);
  EXPECT_EQ(rt.creator_pid, 0);
  EXPECT_EQ(rt.creator_start, 4711);
  EXPECT_EQ(rt.owner_pid, 321);
  EXPECT_EQ(rt.owner_start, 99);
  EXPECT_EQ(rt.lease.ip, "172.16.0.2");
  EXPECT_EQ(rt.lease.tap, "svm-2");
  EXPECT_EQ(rt.lease.mac, "02:53:4d:00:00:02");
  EXPECT_EQ(rt.lease.gateway, "172.16.0.1");
  EXPECT_EQ(rt.lease.prefix, 16u);
  EXPECT_EQ(rt.lease.dns, "192.168.1.1");
  EXPECT_EQ(rt.limits.cgroup.value("path", ""), "/sys/fs/cgroup/smolvm/old1");
  EXPECT_EQ(rt.limits.privileges, nlohmann::json({{"dropped", true}}));
  EXPECT_EQ(rt.limits.vmm_user, nlohmann::json({{"uid", 100001}}));
  // The SSH executor's fields, stored by core before executor data, are its
  // data now (plugins/executor-ssh reads these names).
  EXPECT_EQ(rt.executor_data, nlohmann::json({{"key_path", "/s/vms/old1/ssh_key"},
                                              {"host_key", "ssh-ed25519 AAAAC3Nz"}}));
  EXPECT_EQ(rt.started_at_ms, 1733500000123);
  EXPECT_EQ(rt.stopped_at_ms, 1733400000000);
  EXPECT_EQ(rt.agent_version, "0.3.0");
  EXPECT_EQ(rt.last_error, "");
  EXPECT_EQ(rt.last_exit, "the guest shut down");
  EXPECT_TRUE(rt.setup_done);
  EXPECT_TRUE(rt.unknown.empty()) << rt.unknown.dump();
}

TEST(VmRuntimeJson, TheStoredFormatOfThePreviousVersionReads) {
  const auto j = nlohmann::json::parse(kStoredRuntime);
  const VmRuntime rt = runtime_from_json(j);
  expect_old1(rt);
  // Written back, every key is there with its value but for the
  // executor's fields, which moved into executor_data: nothing else renamed,
  // nothing lost (keys added since, e.g. boot_timeout_ms, hold defaults).
  const nlohmann::json back = to_json(rt);
  for (const auto& [key, value] : j.items()) {
    if (key == "ssh_host_key" || key == "ssh_key_path") {
      EXPECT_FALSE(back.contains(key)) << key;
      continue;
    }
    EXPECT_EQ(back.value(key, nlohmann::json()), value) << key;
  }
  EXPECT_EQ(back.value("boot_timeout_ms", -1), 0);
  EXPECT_EQ(back["executor_data"], nlohmann::json({{"key_path", "/s/vms/old1/ssh_key"},
                                                   {"host_key", "ssh-ed25519 AAAAC3Nz"}}));
  expect_old1(runtime_from_json(back));
}

TEST(VmRuntimeJson, OnlyTheRecordsOwnExecutorsOldKeysBecomeItsData) {
  // An agent VM: agent_version is a field of core's, not executor data; a
  // stray ssh_ key is not the agent's and stays an unknown key.
  const VmRuntime agent = runtime_from_json(nlohmann::json::parse(
      R"({"executor": "agent", "agent_version": "0.3.0", "ssh_host_key": "x"})"));
  EXPECT_EQ(agent.agent_version, "0.3.0");
  EXPECT_TRUE(agent.executor_data.empty()) << agent.executor_data.dump();
  EXPECT_EQ(agent.unknown, nlohmann::json({{"ssh_host_key", "x"}}));
  // A record that has executor data already is never merged with old keys.
  const VmRuntime ssh = runtime_from_json(nlohmann::json::parse(
      R"({"executor": "ssh", "executor_data": {"host_key": "new"}, "ssh_host_key": "old"})"));
  EXPECT_EQ(ssh.executor_data, nlohmann::json({{"host_key", "new"}}));
  // Data that is not an object is ignored like any value of the wrong type.
  EXPECT_EQ(runtime_from_json(nlohmann::json::parse(R"({"executor_data": [1]})")).executor_data,
            nlohmann::json::object());
}

TEST(VmRuntimeJson, TheFirstReleasesShorterRecordTakesTheDefaults) {
  // What 3583338 (the first release) stored at create: no network, no
  // creator, no disk size.
  const VmRuntime rt = runtime_from_json(nlohmann::json::parse(R"({
    "vm_dir": "/s/vms/a", "kernel_path": "/k", "rootfs_path": "/r", "vmm": "qemu",
    "executor": "agent", "accel": "", "disk_path": "", "console_log": "/s/vms/a/console.log",
    "supervisor_socket": "/s/vms/a/supervisor.sock", "token": "t", "supervisor_pid": 0,
    "vmm_pid": 0, "started_at_ms": 0, "last_error": ""})"));
  EXPECT_EQ(rt.vm_dir, "/s/vms/a");
  EXPECT_EQ(rt.network, "none");
  EXPECT_EQ(rt.lease.prefix, 16u);
  EXPECT_EQ(rt.creator_pid, 0);
  EXPECT_EQ(rt.creator_start, -1);
  EXPECT_EQ(rt.owner_start, -1);
  EXPECT_TRUE(rt.limits.cgroup.is_null());
  EXPECT_FALSE(rt.setup_done);
  // Limits never reported stay absent when written back.
  EXPECT_FALSE(to_json(rt).contains("cgroup"));
}

TEST(VmRuntimeJson, RoundTripKeepsEveryFieldAndUnknownKeys) {
  VmRuntime rt = runtime_from_json(nlohmann::json::parse(kStoredRuntime));
  rt.vm_dir = "/s/vms/new";
  rt.unknown["from_a_newer_version"] = {{"x", 1}};
  const VmRuntime back = runtime_from_json(to_json(rt));
  EXPECT_EQ(to_json(back), to_json(rt));
  EXPECT_EQ(back.vm_dir, "/s/vms/new");
  EXPECT_EQ(back.unknown, nlohmann::json({{"from_a_newer_version", {{"x", 1}}}}));
  EXPECT_EQ(to_json(back)["from_a_newer_version"]["x"], 1);
}

TEST(VmRuntimeJson, AValueOfTheWrongTypeIsIgnoredLikeAMissingOne) {
  const VmRuntime rt = runtime_from_json(nlohmann::json::parse(
      R"({"vm_dir": 7, "supervisor_pid": "12", "prefix": -3, "setup_done": "yes",
          "disk_size_mib": 5000000000, "tap": "svm-9"})"));
  EXPECT_EQ(rt.vm_dir, "");
  EXPECT_EQ(rt.supervisor_pid, 0);
  EXPECT_EQ(rt.lease.prefix, 16u);
  EXPECT_FALSE(rt.setup_done);
  EXPECT_EQ(rt.disk_size_mib, 0u);
  EXPECT_EQ(rt.lease.tap, "svm-9");
  EXPECT_EQ(runtime_from_json(nlohmann::json::array()).network, "none");
}

// The literal row, put in a real SQLite store through the plugin as the
// previous version did, comes out of Store typed.
TEST(VmRuntimeJson, ARowOfThePreviousVersionLoadsFromTheStore) {
  const test::TempDir tmp;
  const std::string dir = tmp.path();
  const std::string path = dir + "/store.db";
  PluginRegistry plugins(SMOLVM_PLUGIN_BUILD_DIR);
  const auto& plugin = plugins.get(SMOLVM_PLUGIN_STORE, "sqlite");
  const auto& vt = plugin.vtable<smolvm_store_vtable>();
  void* h = nullptr;
  smolvm_plugin_error err{};
  ASSERT_EQ(vt.open(&h, path.c_str(), &err), 0) << err.message;
  const smolvm_store_vm row{"old1", "running", kStoredSpec, kStoredRuntime, 1000, 2000};
  ASSERT_EQ(vt.vm_insert(h, &row, &err), 0) << err.message;
  vt.close(h);

  Store store(plugin, path);
  const VmRecord rec = store.get("old1");
  EXPECT_EQ(rec.state, "running");
  expect_old1(rec.runtime);
  EXPECT_EQ(rec.spec.vcpu_count, 4u);
  EXPECT_EQ(rec.spec.mem_size_mib, 1024u);
  EXPECT_EQ(rec.spec.boot_timeout_s, 60u);
  EXPECT_TRUE(rec.spec.delete_with_owner);
  EXPECT_EQ(rec.spec.env, std::vector<std::string>{"A=1"});
  EXPECT_EQ(rec.created_at_ms, 1000);
}

TEST(VmSpecJson, AStoredSpecWithoutSizesTakesTheCApiDefaults) {
  const VmSpec s = spec_from_json(nlohmann::json::parse(R"({"vm_id": "a"})"));
  EXPECT_EQ(s.vcpu_count, uint32_t{SMOLVM_VCPU_DEFAULT});
  EXPECT_EQ(s.mem_size_mib, uint32_t{SMOLVM_MEM_MIB_DEFAULT});
  EXPECT_EQ(s.boot_timeout_s, kBootTimeoutDefault);
}

}  // namespace
}  // namespace smolvm
