// Lifecycle benchmark: every phase of a SmolVM VM beside a baseline measured
// in the same run, interleaved run by run (the order rotates) so both see the
// same machine conditions:
//  - boot phases beside bare QEMU booting the same kernel and rootfs with the
//    same machine and devices to the same marker ("smolvm-agent: ready" on
//    the console), and Firecracker where the host can run it;
//  - exec and file phases beside bare QEMU with /bin/sh as init doing the
//    same work over the same virtio-serial port (no SmolVM code anywhere);
//  - pause and resume beside QMP stop and cont sent to that bare QEMU the
//    way vmm-qemu sends them (a fresh connection each);
//  - stop+delete beside SIGTERM of that bare QEMU;
//  - a restore from a snapshot of the same VM up to its first answer beside
//    the cold create+start+first command of that run;
//  - a VM started from the template (the default) up to its first answer,
//    its whole one-command lifecycle, and its QEMU's PSS when idle, beside
//    the cold-booted VM of that run (which boots with boot=cold);
//  - a fork of 10 (what `smolvm fork ID -n 10` does: a snapshot of a running
//    VM, then 10 VMs restored from it one after another, each up to its
//    first answer) beside 10 cold create+start+first command in the same
//    run.
// Prints a markdown table and writes JSON.
//
// usage: lifecycle_bench [--runs N] [--execs M] [--fork-runs F] [--json FILE]
//        lifecycle_bench --ssh NETWORK [--runs N] [--execs M] [--json FILE]
// --ssh: SSH readiness instead (executor ssh, a network plugin): run it inside
// a network namespace of its own (bench/run.sh makes one), never in the
// host's.
#include <smolvm/smolvm.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "bench_common.h"

using namespace bench;

namespace {

constexpr const char* kTool = "lifecycle_bench";
constexpr size_t kMiB = 1 << 20;
constexpr size_t kFileBytes = 10 * kMiB;
constexpr int kForks = 10;  // the "fork of 10"

void fail(const std::string& what) { die(kTool, what); }

double pss_mib(int64_t pid) { return static_cast<double>(pss_kib({pid})) / 1024; }

smolvm_exec_result* run(smolvm_vm* vm, const char* cmd) {
  smolvm_exec_result* r = nullptr;
  if (smolvm_vm_run(&r, vm, cmd, 0) != 0) fail(std::string("run '") + cmd + "'");
  if (r->exit_code != 0) {
    std::fprintf(stderr, "%s: '%s' exited %d\n", kTool, cmd, r->exit_code);
    std::exit(1);
  }
  return r;
}

// Whether an SSH executor exists: asking for one without a network is
// refused as bad input when it does, as a missing plugin when it does not.
// Returns "" when it exists, else why not.
std::string ssh_skip_reason(smolvm_runtime* rt) {
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.executor = "ssh";
  smolvm_vm* vm = nullptr;
  const int rc = smolvm_vm_create(&vm, rt, &o);
  if (rc == SMOLVM_EPLUGIN || rc == SMOLVM_ENOTFOUND) {
    return std::string("executor=ssh is not available in this build: ") + smolvm_last_error();
  }
  if (rc == 0) {  // (a build that allows ssh without a network)
    smolvm_vm_delete(vm);
    smolvm_vm_free(vm);
  }
  return "";
}

struct Phase {
  const char* key;
  const char* name;
  const char* base_key;
  const char* base_name;
};

// The table: SmolVM phase, and the baseline measured beside it.
const Phase kPhases[] = {
    {"create", "create (record + qcow2 disk)", nullptr, nullptr},
    {"create_start", "create+start (returns at agent ready)", "bare_qemu_ready",
     "bare QEMU boot to the agent marker"},
    {"ready_first_exec", "ready: create+start+first command answered", "bare_qemu_ready",
     "bare QEMU boot to the agent marker"},
    {"exec_true", "exec `true` round trip", "bare_sh_true",
     "bare QEMU: shell runs /bin/true, answers on the port"},
    {"exec_1mib", "exec `head -c 1048576 /dev/zero` (1 MiB out)", "bare_sh_1mib",
     "bare QEMU: 1 MiB over the port"},
    {"put_10mib", "file put 10 MiB", "bare_sh_put_10mib", "bare QEMU: 10 MiB host->guest tmpfs"},
    {"get_10mib", "file get 10 MiB", "bare_sh_get_10mib", "bare QEMU: 10 MiB guest tmpfs->host"},
    {"pause", "pause (vCPUs stopped, state recorded)", "bare_qmp_stop",
     "bare QEMU: QMP stop on a fresh connection"},
    {"resume", "resume", "bare_qmp_cont", "bare QEMU: QMP cont on a fresh connection"},
    {"snapshot", "snapshot of the running VM (sync, save, disk layer, resume)", nullptr, nullptr},
    {"restore_first_exec", "restore: create --from-snapshot + start + first command answered",
     "ready_first_exec", "cold: create+start+first command answered (same run)"},
    {"template_first_exec", "template: create+start+first command answered (the default)",
     "ready_first_exec", "cold: create+start+first command answered (same run)"},
    {"template_lifecycle", "template: create, start, `true`, delete", "full_lifecycle",
     "cold: create, start, `true`, delete (same run)"},
    {"template_pss_mib", "template: idle VM's QEMU PSS (MiB, not ms)", "cold_pss_mib",
     "cold: idle VM's QEMU PSS (MiB, same run)"},
    {"fork10_all_answer", "fork of 10: snapshot + 10 restores, each to its first answer",
     "cold10_all_answer", "cold: 10 create+start+first command, one after another (same run)"},
    {"stop_delete", "stop+delete", "bare_qemu_terminate", "bare QEMU: SIGTERM to exit"},
    {"full_lifecycle", "full lifecycle (create, start, `true`, delete)", "bare_full",
     "bare QEMU boot + `true` + SIGTERM"},
};

void delete_vm(smolvm_vm* vm) {
  if (smolvm_vm_delete(vm) != 0) fail("delete");
  smolvm_vm_free(vm);
}

// `smolvm fork ID -n 10`'s work: a snapshot of a running VM (made and
// started untimed, from the template), then each fork restored, started and
// answering `true`. Returns the ms from the snapshot's start to the last
// fork's answer; everything is deleted afterwards, untimed.
double fork_run(smolvm_runtime* rt) {
  smolvm_vm* src = nullptr;
  if (smolvm_vm_create(&src, rt, nullptr) != 0 || smolvm_vm_start(src) != 0) fail("fork source");
  smolvm_exec_result_free(run(src, "echo forked > /root/mark"));
  const auto t0 = Clock::now();
  char* snap = nullptr;
  if (smolvm_vm_snapshot(&snap, src, nullptr) != 0) fail("snapshot (fork)");
  std::vector<smolvm_vm*> forks;
  for (int i = 0; i < kForks; ++i) {
    smolvm_vm* vm = nullptr;
    if (smolvm_vm_create_from_snapshot(&vm, rt, snap, nullptr) != 0) fail("restore (fork)");
    if (smolvm_vm_start(vm) != 0) fail("start (fork)");
    smolvm_exec_result_free(run(vm, "true"));
    forks.push_back(vm);
  }
  const double took = ms_since(t0);
  for (smolvm_vm* vm : forks) delete_vm(vm);
  delete_vm(src);
  if (smolvm_snapshot_delete(rt, snap) != 0) fail("snapshot delete (fork)");
  smolvm_free(snap);
  return took;
}

// n cold VMs one after another, each created, started and answering
// `true`; the ms until the last answered. Deleted afterwards, untimed.
double cold_runs(smolvm_runtime* rt, int n) {
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.boot = "cold";
  std::vector<smolvm_vm*> vms;
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    smolvm_vm* vm = nullptr;
    if (smolvm_vm_create(&vm, rt, &o) != 0 || smolvm_vm_start(vm) != 0) fail("cold start");
    smolvm_exec_result_free(run(vm, "true"));
    vms.push_back(vm);
  }
  const double took = ms_since(t0);
  for (smolvm_vm* vm : vms) delete_vm(vm);
  return took;
}

// SSH ready: create+start with executor=ssh and a network, then the first
// command over SSH (it waits for sshd and pins its host key); then `true`
// round trips over the SSH connection, and stop+delete.
int ssh_mode(const std::string& network, int runs, int execs, const std::string& json_path) {
  const std::string tmp = make_state_dir("ssh");
  smolvm_runtime* rt = nullptr;
  if (smolvm_runtime_open(&rt, nullptr) != 0) fail("runtime_open");
  std::map<std::string, Series> s;
  json env;
  for (int r = 0; r < runs; ++r) {
    smolvm_vm_options o;
    smolvm_vm_options_init(&o);
    o.executor = "ssh";
    o.network = network.c_str();
    smolvm_vm* vm = nullptr;
    const auto t0 = Clock::now();
    if (smolvm_vm_create(&vm, rt, &o) != 0) fail("create (ssh)");
    if (smolvm_vm_start(vm) != 0) fail("start (ssh)");
    const double start = ms_since(t0);
    const auto tf = Clock::now();
    smolvm_exec_result_free(run(vm, "true"));
    const double ready = start + ms_since(tf);
    if (r == 0) {
      smolvm_vm_info info;
      smolvm_vm_info_init(&info);
      smolvm_vm_get_info(&info, vm);
      env = host_env(info.accel);
    }
    for (int e = 0; e < execs; ++e) {
      const auto te = Clock::now();
      smolvm_exec_result_free(run(vm, "true"));
      s["ssh_exec_true"].add(ms_since(te));
    }
    const auto td = Clock::now();
    if (smolvm_vm_delete(vm) != 0) fail("delete (ssh)");
    const double del = ms_since(td);
    smolvm_vm_free(vm);
    s["ssh_create_start"].add(start);
    s["ssh_ready"].add(ready);
    s["ssh_stop_delete"].add(del);
    std::fprintf(stderr, "ssh run %d/%d: create+start %.0f ms, SSH ready %.0f ms\n", r + 1, runs,
                 start, ready);
  }
  smolvm_runtime_close(rt);
  env["loadavg_1m_at_end"] = loadavg1();
  std::printf("## SSH ready (executor ssh, network %s, in a network namespace): %d runs\n\n",
              network.c_str(), runs);
  std::printf("| phase | p50 ms | p95 ms |\n|---|---:|---:|\n");
  const std::pair<const char*, const char*> rows[] = {
      {"ssh_create_start", "create+start (agent ready, host key pinned)"},
      {"ssh_ready", "SSH ready: create+start+first command over SSH"},
      {"ssh_exec_true", "exec `true` over SSH"},
      {"ssh_stop_delete", "stop+delete (with TAP and rules)"}};
  json phases = json::object();
  for (const auto& [k, name] : rows) {
    std::printf("| %s | %.1f | %.1f |\n", name, s[k].p50(), s[k].p95());
    phases[k] = s[k].to_json();
    phases[k]["name"] = name;
  }
  if (!json_path.empty()) {
    const json out = {{"benchmark", "ssh_ready"}, {"runs", runs}, {"execs_per_run", execs},
                      {"network", network},       {"env", env},   {"phases", phases}};
    std::ofstream(json_path) << out.dump(2) << "\n";
  }
  remove_tree(tmp);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20, execs = 10, fork_runs = 10;
  std::string json_path, ssh_network;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--ssh")
      ssh_network = argv[i + 1];
    else if (k == "--runs")
      runs = std::atoi(argv[i + 1]);
    else if (k == "--execs")
      execs = std::atoi(argv[i + 1]);
    else if (k == "--fork-runs")
      fork_runs = std::atoi(argv[i + 1]);
    else if (k == "--json")
      json_path = argv[i + 1];
  }
  if (runs < 1 || execs < 1 || fork_runs < 0) {
    std::fprintf(
        stderr, "usage: %s [--runs N>=1] [--execs M>=1] [--fork-runs F>=0] [--json FILE]\n", kTool);
    return 2;
  }
  if (!ssh_network.empty()) return ssh_mode(ssh_network, runs, execs, json_path);
  const std::string tmp = make_state_dir("lifecycle");
  smolvm_runtime* rt = nullptr;
  if (smolvm_runtime_open(&rt, nullptr) != 0) fail("runtime_open");

  const std::string ssh_skip = ssh_skip_reason(rt);
  const std::string fc_skip = firecracker_skip_reason();
  if (!ssh_skip.empty()) std::fprintf(stderr, "SSH ready: skipped: %s\n", ssh_skip.c_str());
  if (!fc_skip.empty())
    std::fprintf(stderr, "Firecracker baseline: skipped: %s\n", fc_skip.c_str());
  json env;
  bool have_env = false;

  std::vector<uint8_t> file(kFileBytes);
  for (size_t i = 0; i < file.size(); ++i) file[i] = static_cast<uint8_t>(i * 131 + 7);

  std::map<std::string, Series> s;
  GuestImage img;
  double guest_fork_exec_ms = 0;

  // A VM started from the template (made by the first run's), measured
  // to its first answer, idle PSS and delete.
  auto template_run = [&]() {
    smolvm_vm* vm = nullptr;
    const auto t0 = Clock::now();
    if (smolvm_vm_create(&vm, rt, nullptr) != 0) fail("create (template)");
    if (smolvm_vm_start(vm) != 0) fail("start (template)");
    smolvm_exec_result_free(run(vm, "true"));
    const double ready = ms_since(t0);
    smolvm_vm_info info;
    smolvm_vm_info_init(&info);
    if (smolvm_vm_get_info(&info, vm) != 0) fail("get_info");
    const bool from_template = std::strcmp(info.boot, "snapshot") == 0;
    if (from_template) {
      s["template_first_exec"].add(ready);
      s["template_pss_mib"].add(pss_mib(info.vmm_pid));
    } else {
      std::fprintf(stderr, "%s: a default VM booted cold: %s\n", kTool, info.boot_reason);
    }
    const auto td = Clock::now();
    if (smolvm_vm_delete(vm) != 0) fail("delete (template)");
    if (from_template) s["template_lifecycle"].add(ready + ms_since(td));
    smolvm_vm_free(vm);
  };

  auto smolvm_run = [&](int r) {
    smolvm_vm_options o;
    smolvm_vm_options_init(&o);
    o.boot = "cold";  // the template has its own rows
    smolvm_vm* vm = nullptr;
    const auto t0 = Clock::now();
    if (smolvm_vm_create(&vm, rt, &o) != 0) fail("create");
    const double create = ms_since(t0);
    if (smolvm_vm_start(vm) != 0) fail("start");
    const double create_start = ms_since(t0);
    const auto tf = Clock::now();
    smolvm_exec_result_free(run(vm, "true"));  // opens the connection
    const double first_exec = ms_since(tf);
    smolvm_vm_info info;
    smolvm_vm_info_init(&info);
    if (smolvm_vm_get_info(&info, vm) != 0) fail("get_info");
    img.kernel = info.kernel_path;
    img.rootfs = info.rootfs_path;
    img.accel = info.accel;
    img.vcpus = info.vcpu_count;
    img.mem_mib = info.mem_size_mib;
    if (!have_env) {
      env = host_env(img.accel);
      have_env = true;
    }
    s["cold_pss_mib"].add(pss_mib(info.vmm_pid));
    for (int e = 0; e < execs; ++e) {
      const auto te = Clock::now();
      smolvm_exec_result_free(run(vm, "true"));
      s["exec_true"].add(ms_since(te));
    }
    for (int e = 0; e < 3; ++e) {
      const auto te = Clock::now();
      smolvm_exec_result* res = run(vm, "head -c 1048576 /dev/zero");
      s["exec_1mib"].add(ms_since(te));
      if (res->stdout_len != kMiB) {
        std::fprintf(stderr, "%s: 1 MiB exec returned %zu bytes\n", kTool, res->stdout_len);
        std::exit(1);
      }
      smolvm_exec_result_free(res);
    }
    for (int e = 0; e < 2; ++e) {
      auto te = Clock::now();
      if (smolvm_vm_write_file(vm, "/tmp/bench.bin", file.data(), file.size(), 0644) != 0)
        fail("write_file");
      s["put_10mib"].add(ms_since(te));
      smolvm_buf b{nullptr, 0};
      te = Clock::now();
      if (smolvm_vm_read_file(&b, vm, "/tmp/bench.bin") != 0) fail("read_file");
      s["get_10mib"].add(ms_since(te));
      if (b.size != file.size() || std::memcmp(b.data, file.data(), b.size) != 0) {
        std::fprintf(stderr, "%s: read_file returned different bytes\n", kTool);
        std::exit(1);
      }
      smolvm_buf_dispose(&b);
    }
    for (int e = 0; e < 3; ++e) {
      auto tp = Clock::now();
      if (smolvm_vm_pause(vm) != 0) fail("pause");
      s["pause"].add(ms_since(tp));
      tp = Clock::now();
      if (smolvm_vm_resume(vm) != 0) fail("resume");
      s["resume"].add(ms_since(tp));
    }
    if (r == 0) {
      // The in-guest cost of one fork+exec of /bin/true, for reference.
      smolvm_exec_result* res =
          run(vm,
              "s=$(date +%s%N); i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done; "
              "e=$(date +%s%N); echo $(( (e - s) / 200 ))");
      guest_fork_exec_ms = std::atof(reinterpret_cast<char*>(res->stdout_data)) / 1e6;
      smolvm_exec_result_free(res);
    }
    {
      // A snapshot of this VM, and a VM restored from it up to its first
      // answer: what a restore saves against the cold start measured above.
      auto tp = Clock::now();
      char* snap = nullptr;
      if (smolvm_vm_snapshot(&snap, vm, nullptr) != 0) fail("snapshot");
      s["snapshot"].add(ms_since(tp));
      smolvm_vm* restored = nullptr;
      tp = Clock::now();
      if (smolvm_vm_create_from_snapshot(&restored, rt, snap, nullptr) != 0) fail("restore");
      if (smolvm_vm_start(restored) != 0) fail("start of the restored VM");
      smolvm_exec_result_free(run(restored, "true"));
      s["restore_first_exec"].add(ms_since(tp));
      if (smolvm_vm_delete(restored) != 0) fail("delete of the restored VM");
      smolvm_vm_free(restored);
      if (smolvm_snapshot_delete(rt, snap) != 0) fail("snapshot delete");
      smolvm_free(snap);
    }
    const auto td = Clock::now();
    if (smolvm_vm_delete(vm) != 0) fail("delete");
    const double stop_delete = ms_since(td);
    smolvm_vm_free(vm);
    s["create"].add(create);
    s["create_start"].add(create_start);
    s["ready_first_exec"].add(create_start + first_exec);
    s["stop_delete"].add(stop_delete);
    // A one-command lifecycle: create, start, the first `true` (which opens
    // the connection, as a caller's first command does), stop+delete.
    s["full_lifecycle"].add(create_start + first_exec + stop_delete);
    return create_start;
  };

  auto bare_runs = [&](int r) {
    BareBoot b;
    if (!bare_qemu_agent_boot(img, tmp, b)) {
      std::fprintf(stderr, "%s: bare QEMU never printed the ready marker\n", kTool);
      std::exit(1);
    }
    s["bare_qemu_ready"].add(b.ready_ms);
    s["bare_qemu_terminate"].add(b.terminate_ms);
    BareShellVm sh;
    std::string err;
    if (!sh.boot(img, tmp, err)) {
      std::fprintf(stderr, "%s: bare QEMU with /bin/sh: %s\n", kTool, err.c_str());
      std::exit(1);
    }
    s["bare_sh_boot"].add(sh.boot_ms());
    double first_true = -1;
    for (int e = 0; e < execs; ++e) {
      const double ms = sh.true_round_trip();
      if (ms < 0) {
        std::fprintf(stderr, "%s: bare shell round trip failed\n", kTool);
        std::exit(1);
      }
      if (e == 0) first_true = ms;
      s["bare_sh_true"].add(ms);
    }
    for (int e = 0; e < 3; ++e) s["bare_sh_1mib"].add(sh.read_out(kMiB));
    for (int e = 0; e < 2; ++e) {
      s["bare_sh_put_10mib"].add(sh.put(kFileBytes));
      s["bare_sh_get_10mib"].add(sh.get(kFileBytes));
    }
    for (int e = 0; e < 3; ++e) {
      const double stop = sh.qmp("stop"), cont = sh.qmp("cont");
      if (stop < 0 || cont < 0) {
        std::fprintf(stderr, "%s: bare QEMU's QMP did not answer\n", kTool);
        std::exit(1);
      }
      s["bare_qmp_stop"].add(stop);
      s["bare_qmp_cont"].add(cont);
    }
    sh.terminate();
    s["bare_full"].add(b.ready_ms + first_true + b.terminate_ms);
    if (fc_skip.empty()) {
      BareBoot f;
      if (bare_firecracker_agent_boot(img, tmp, f)) {
        s["bare_firecracker_ready"].add(f.ready_ms);
        s["bare_firecracker_terminate"].add(f.terminate_ms);
      } else {
        std::fprintf(stderr, "run %d: Firecracker never printed the marker\n", r + 1);
      }
    }
    return b.ready_ms;
  };

  for (int r = 0; r < runs; ++r) {
    double ready = 0, bare = 0;
    if (r % 2 == 0 || img.kernel.empty()) {
      ready = smolvm_run(r);
      template_run();
      bare = bare_runs(r);
    } else {
      bare = bare_runs(r);
      template_run();
      ready = smolvm_run(r);
    }
    std::fprintf(stderr, "run %d/%d: smolvm create+start %.0f ms, bare qemu %.0f ms (load %.2f)\n",
                 r + 1, runs, ready, bare, loadavg1());
  }
  for (int r = 0; r < fork_runs; ++r) {
    double forked = 0, cold = 0;
    if (r % 2 == 0) {
      forked = fork_run(rt), cold = cold_runs(rt, kForks);
    } else {
      cold = cold_runs(rt, kForks), forked = fork_run(rt);
    }
    s["fork10_all_answer"].add(forked);
    s["cold10_all_answer"].add(cold);
    std::fprintf(stderr, "fork run %d/%d: fork of %d %.0f ms, %d cold %.0f ms (load %.2f)\n", r + 1,
                 fork_runs, kForks, forked, kForks, cold, loadavg1());
  }
  smolvm_runtime_close(rt);
  env["loadavg_1m_at_end"] = loadavg1();

  std::printf("## Lifecycle: %d runs, %d `true` round trips per run\n\n", runs, execs);
  std::printf("accel %s | CPU %s | host kernel %s | %s | load at start %.2f\n\n",
              env["accel"].get<std::string>().c_str(), env["cpu"].get<std::string>().c_str(),
              env["host_kernel"].get<std::string>().c_str(), env["qemu"].get<std::string>().c_str(),
              env["loadavg_1m_at_start"].get<double>());
  std::printf(
      "| phase | SmolVM p50 ms | SmolVM p95 ms | baseline | baseline p50 ms | baseline p95 ms | "
      "ratio (p50) |\n|---|---:|---:|---|---:|---:|---:|\n");
  json phases = json::object();
  for (const Phase& p : kPhases) {
    const Series& v = s[p.key];
    json j = v.to_json();
    j["name"] = p.name;
    if (p.base_key && !s[p.base_key].v.empty()) {
      const Series& b = s[p.base_key];
      const double ratio = v.p50() / b.p50();
      j["baseline"] = {
          {"key", p.base_key}, {"name", p.base_name}, {"p50", b.p50()}, {"p95", b.p95()}};
      j["ratio_p50"] = ratio;
      std::printf("| %s | %.1f | %.1f | %s | %.1f | %.1f | %.2f |\n", p.name, v.p50(), v.p95(),
                  p.base_name, b.p50(), b.p95(), ratio);
    } else {
      std::printf("| %s | %.1f | %.1f | - | | | |\n", p.name, v.p50(), v.p95());
    }
    phases[p.key] = j;
  }
  json baselines = json::object();
  for (const auto& [k, v] : s) {
    if (k.rfind("bare_", 0) == 0) baselines[k] = v.to_json();
  }
  std::printf("\nbare QEMU with /bin/sh as init, boot to its loop: p50 %.1f ms\n",
              s["bare_sh_boot"].p50());
  std::printf("in-guest fork+exec of /bin/true: %.2f ms\n", guest_fork_exec_ms);
  std::printf("SSH ready: %s\n",
              ssh_skip.empty() ? "executor=ssh is available; measured by `--ssh NETWORK` in a "
                                 "network namespace (bench/run.sh)"
                               : ("skipped: " + ssh_skip).c_str());
  std::printf("Firecracker baseline: %s\n",
              fc_skip.empty() ? "measured" : ("skipped: " + fc_skip).c_str());

  if (!json_path.empty()) {
    const json out = {{"benchmark", "lifecycle"},
                      {"runs", runs},
                      {"execs_per_run", execs},
                      {"env", env},
                      {"guest_fork_exec_ms", guest_fork_exec_ms},
                      {"phases", phases},
                      {"baselines", baselines},
                      {"skipped",
                       {{"ssh_ready", ssh_skip.empty() ? json(nullptr) : json(ssh_skip)},
                        {"firecracker", fc_skip.empty() ? json(nullptr) : json(fc_skip)}}}};
    std::ofstream(json_path) << out.dump(2) << "\n";
  }
  remove_tree(tmp);
  return 0;
}
