// smolvm snapshot create|ls|inspect|rm, and what `create --from-snapshot`
// and `fork` share: a VM restored from a snapshot.
#include <cstdio>
#include <iostream>

#include "cli/common.h"

namespace smolvm_cli {
namespace {

// A JSON document the library returned, freed after use.
nlohmann::json take_json(char* text) {
  const auto j = nlohmann::json::parse(text ? text : "null");
  smolvm_free(text);
  return j;
}

std::string one_snapshot(const Args& a, const char* cmd) {
  if (a.positional.size() != 1) {
    throw UsageError(std::string("snapshot ") + cmd + " takes exactly one snapshot id or name");
  }
  return a.positional[0];
}

int snapshot_create(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {"--name"}, {"--stop"});
  if (a.positional.size() != 1) throw UsageError("snapshot create takes exactly one VM id");
  Runtime rt;
  Vm vm(rt, a.positional[0]);
  smolvm_snapshot_options o = SMOLVM_SNAPSHOT_OPTIONS_INIT;
  const std::string name = a.get("--name");
  if (a.has("--name")) o.name = name.c_str();
  o.stop = a.has("--stop") ? 1 : 0;
  char* id = nullptr;
  check(smolvm_vm_snapshot(&id, vm.vm, &o));
  std::cout << id << "\n";
  smolvm_free(id);
  return 0;
}

int snapshot_ls(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {}, {"--json"});
  Runtime rt;
  char* text = nullptr;
  check(smolvm_snapshot_list(&text, rt.rt));
  const auto list = take_json(text);
  if (a.has("--json")) {
    std::cout << list.dump(2) << "\n";
    return 0;
  }
  std::printf("%-14s %-16s %-14s %-5s %-6s %-9s %-9s %s\n", "ID", "NAME", "SOURCE", "VCPUS", "MEM",
              "STATE", "DISK", "USED BY");
  for (const auto& s : list) {
    std::printf("%-14s %-16s %-14s %-5u %-6u %-9s %-9s %zu\n", s["id"].get<std::string>().c_str(),
                s["name"].get<std::string>().c_str(), s["source_vm"].get<std::string>().c_str(),
                s["vcpu_count"].get<unsigned>(), s["mem_size_mib"].get<unsigned>(),
                (std::to_string(s["state_bytes"].get<uint64_t>() >> 20) + "M").c_str(),
                (std::to_string(s["disk_bytes"].get<uint64_t>() >> 20) + "M").c_str(),
                s["used_by"].size());
  }
  return 0;
}

int snapshot_inspect(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {}, {});
  Runtime rt;
  char* text = nullptr;
  check(smolvm_snapshot_inspect(&text, rt.rt, one_snapshot(a, "inspect").c_str()));
  std::cout << take_json(text).dump(2) << "\n";
  return 0;
}

int snapshot_rm(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {}, {});
  if (a.positional.empty()) throw UsageError("snapshot rm takes one or more snapshot ids or names");
  Runtime rt;
  for (const auto& s : a.positional) check(smolvm_snapshot_delete(rt.rt, s.c_str()));
  return 0;
}

// fork -n: restores from one snapshot, each a VM with its own RAM.
constexpr unsigned long kMaxForks = 64;

}  // namespace

const char* const kForkUsage =
    "usage: smolvm fork ID [-n N] [--ttl SPAN] [--on-ttl delete|stop]\n"
    "                   [--idle-timeout SPAN] [--on-idle pause|stop|delete|hibernate]\n"
    "Snapshots the running VM ID (it runs on) and starts N (default 1, at most 64) new VMs\n"
    "restored from that snapshot; prints their ids. The snapshot stays (smolvm snapshot ls)\n"
    "and can be removed once the forks are deleted. The forks have the lifetimes given\n"
    "(as `smolvm create`'s), not the source's.";

const char* const kSnapshotUsage =
    "usage: smolvm snapshot create ID [--name NAME] [--stop]\n"
    "       smolvm snapshot ls [--json]\n"
    "       smolvm snapshot inspect SNAPSHOT\n"
    "       smolvm snapshot rm SNAPSHOT...\n"
    "create: syncs the guest's file systems, pauses the VM, saves its memory, devices\n"
    "and disk, and lets it run on (--stop: stops it instead); prints the snapshot's id.\n"
    "Only a running or paused VM with an isolated disk can be saved.\n"
    "`smolvm create --from-snapshot SNAPSHOT [--start]` makes a new VM that runs on\n"
    "from that moment (its RNG reseeded and its clock set from the host); each one\n"
    "has its own id, disk, cgroup and uid, and, if the source had a network, a\n"
    "network of the same plugin with its own address, MAC and TAP. rm is refused\n"
    "while VMs use the snapshot.\n"
    "SNAPSHOT is an id (snap-...) or a name.";

int cmd_snapshot(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "--help") {
    std::cout << kSnapshotUsage << "\n";
    return argv.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "create") return snapshot_create(rest);
  if (argv[0] == "ls") return snapshot_ls(rest);
  if (argv[0] == "inspect") return snapshot_inspect(rest);
  if (argv[0] == "rm") return snapshot_rm(rest);
  throw UsageError("snapshot " + argv[0] + ": unknown (create, ls, inspect or rm)");
}

int cmd_fork(const std::vector<std::string>& argv) {
  std::set<std::string> values = kLifetimeFlags;
  values.insert("-n");
  const Args a = parse_args(argv, values, {});
  if (a.positional.size() != 1) throw UsageError("fork takes exactly one VM id");
  const auto n = a.number("-n", 1, 1, kMaxForks);
  Runtime rt;
  Vm vm(rt, a.positional[0]);
  char* snap = nullptr;
  check(smolvm_vm_snapshot(&snap, vm.vm, nullptr));
  const std::string snapshot = snap;
  smolvm_free(snap);
  std::cerr << "snapshot " << snapshot << "\n";
  for (unsigned long i = 0; i < n; ++i) {
    Vm forked(restore_vm(rt, snapshot, a));
    // An ordinary VM that outlives this command, like `create --start`'s.
    check(smolvm_vm_detach(forked.vm));
    check(smolvm_vm_start(forked.vm));
    std::cout << smolvm_vm_id(forked.vm) << "\n";
  }
  return 0;
}

smolvm_vm* restore_vm(Runtime& rt, const std::string& snapshot, const Args& a) {
  smolvm_restore_options o;
  check(smolvm_restore_options_init(&o));
  const std::string id = a.get("--id");
  if (a.has("--id")) o.vm_id = id.c_str();
  o.vcpu_count = static_cast<uint32_t>(a.number("--vcpus", 0, SMOLVM_VCPU_MIN, SMOLVM_VCPU_MAX));
  o.mem_size_mib =
      static_cast<uint32_t>(a.number("--mem", 0, SMOLVM_MEM_MIB_MIN, SMOLVM_MEM_MIB_MAX));
  std::vector<std::string> keep;
  fill_lifetime(a, o, keep);
  smolvm_vm* raw = nullptr;
  check(smolvm_vm_create_from_snapshot(&raw, rt.rt, snapshot.c_str(), &o));
  return raw;
}

}  // namespace smolvm_cli
