// Streamed output benchmark: a command writing N bytes to stdout through
// SmolVM (client library, supervisor, agent) beside bare QEMU moving the
// same bytes over the same virtio-serial port, on one VM of each booted
// once, run by run interleaved (the order alternates).
//
// The comparison is like for like: SmolVM runs `head -c N /dev/zero` as an
// argv (smolvm_vm_exec, no shell), and the baseline's guest shell forks the
// same `head` onto the port; both QEMUs are launched by the vmm-qemu plugin
// (bench_common's PluginQemu). What a string command adds, the login shell
// (smolvm_vm_run), is measured on its own: `true` both ways.
//
// usage: stream_bench [--runs N] [--json FILE]
#include <smolvm/smolvm.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bench_common.h"

using namespace bench;

namespace {

constexpr const char* kTool = "stream_bench";
constexpr size_t kMiB = 1 << 20;

void fail(const std::string& what) { die(kTool, what); }

void check(smolvm_exec_result* r, const std::string& what, size_t stdout_len) {
  if (r->exit_code != 0 || r->stdout_len != stdout_len) {
    std::fprintf(stderr, "%s: %s: exit %d, %zu bytes of stdout (expected %zu)\n", kTool,
                 what.c_str(), r->exit_code, r->stdout_len, stdout_len);
    std::exit(1);
  }
  smolvm_exec_result_free(r);
}

// argv, no shell: what the baseline's guest runs.
double exec_argv(smolvm_vm* vm, std::vector<const char*> argv, size_t stdout_len) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.argv = argv.data();
  o.argc = argv.size();
  smolvm_exec_result* r = nullptr;
  const auto t0 = Clock::now();
  if (smolvm_vm_exec(&r, vm, &o) != 0) fail(std::string("exec ") + argv[0]);
  const double ms = ms_since(t0);
  check(r, argv[0], stdout_len);
  return ms;
}

// A string command in the login shell (smolvm_vm_run's default).
double run_login(smolvm_vm* vm, const char* cmd, size_t stdout_len) {
  smolvm_exec_result* r = nullptr;
  const auto t0 = Clock::now();
  if (smolvm_vm_run(&r, vm, cmd, 0) != 0) fail(std::string("run ") + cmd);
  const double ms = ms_since(t0);
  check(r, cmd, stdout_len);
  return ms;
}

struct Row {
  const char* key;
  const char* name;
  const char* base_key;  // nullptr: no baseline
  const char* base_name;
};

const Row kRows[] = {
    {"exec_1mib", "exec argv `head -c 1048576 /dev/zero` (1 MiB out)", "bare_1mib",
     "bare QEMU: shell forks the same head onto the port"},
    {"exec_64mib", "exec argv `head -c 67108864 /dev/zero` (64 MiB out)", "bare_64mib",
     "bare QEMU: shell forks the same head onto the port"},
    {"run_1mib", "run `head -c 1048576 /dev/zero` (login shell, 1 MiB out)", "bare_1mib",
     "bare QEMU: shell forks the same head onto the port"},
    {"exec_true", "exec argv `true`", "bare_true", "bare QEMU: shell runs /bin/true"},
    {"run_true", "run `true` (login shell)", "bare_true", "bare QEMU: shell runs /bin/true"},
};

}  // namespace

int main(int argc, char** argv) {
  int runs = 10;
  std::string json_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--runs")
      runs = std::atoi(argv[i + 1]);
    else if (k == "--json")
      json_path = argv[i + 1];
  }
  if (runs < 1) {
    std::fprintf(stderr, "usage: %s [--runs N>=1] [--json FILE]\n", kTool);
    return 2;
  }
  const std::string tmp = make_state_dir("stream");
  smolvm_runtime* rt = nullptr;
  if (smolvm_runtime_open(&rt, nullptr) != 0) fail("runtime_open");
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  smolvm_vm* vm = nullptr;
  if (smolvm_vm_create(&vm, rt, &o) != 0) fail("create");
  if (smolvm_vm_start(vm) != 0) fail("start");
  exec_argv(vm, {"true"}, 0);  // opens the connection
  smolvm_vm_info info;
  smolvm_vm_info_init(&info);
  if (smolvm_vm_get_info(&info, vm) != 0) fail("get_info");
  GuestImage img{info.kernel_path, info.rootfs_path, info.accel, info.vcpu_count,
                 info.mem_size_mib};
  json env = host_env(img.accel);
  BareShellVm sh;
  std::string err;
  if (!sh.boot(img, tmp, err)) {
    std::fprintf(stderr, "%s: bare QEMU with /bin/sh: %s\n", kTool, err.c_str());
    return 1;
  }
  auto bare = [&](const char* key, double ms) {
    if (ms < 0) {
      std::fprintf(stderr, "%s: bare QEMU: %s failed\n", kTool, key);
      std::exit(1);
    }
    return ms;
  };

  // CPU time of each process the bytes cross, per 64 MiB: where the time
  // goes (clock ticks, so summed over the runs before dividing).
  const std::set<int64_t> vmm = {info.vmm_pid}, sup = {info.supervisor_pid},
                          self = {static_cast<int64_t>(getpid())},
                          bare_vmm = {static_cast<int64_t>(sh.qemu_pid())};
  std::map<std::string, uint64_t> ticks;

  std::map<std::string, Series> s;
  for (int r = 0; r < runs; ++r) {
    auto smolvm_side = [&] {
      s["exec_1mib"].add(exec_argv(vm, {"head", "-c", "1048576", "/dev/zero"}, kMiB));
      const uint64_t q0 = cpu_ticks(vmm), s0 = cpu_ticks(sup), c0 = cpu_ticks(self);
      s["exec_64mib"].add(exec_argv(vm, {"head", "-c", "67108864", "/dev/zero"}, 64 * kMiB));
      ticks["smolvm_qemu"] += cpu_ticks(vmm) - q0;
      ticks["supervisor"] += cpu_ticks(sup) - s0;
      ticks["client"] += cpu_ticks(self) - c0;
      s["run_1mib"].add(run_login(vm, "head -c 1048576 /dev/zero", kMiB));
      s["exec_true"].add(exec_argv(vm, {"true"}, 0));
      s["run_true"].add(run_login(vm, "true", 0));
    };
    auto bare_side = [&] {
      s["bare_1mib"].add(bare("1 MiB", sh.read_out(kMiB)));
      const uint64_t b0 = cpu_ticks(bare_vmm);
      s["bare_64mib"].add(bare("64 MiB", sh.read_out(64 * kMiB)));
      ticks["bare_qemu"] += cpu_ticks(bare_vmm) - b0;
      s["bare_true"].add(bare("true", sh.true_round_trip()));
    };
    if (r % 2 == 0) {
      smolvm_side();
      bare_side();
    } else {
      bare_side();
      smolvm_side();
    }
    std::fprintf(stderr, "run %d/%d: 1 MiB %.0f ms (bare %.0f), 64 MiB %.0f ms (bare %.0f)\n",
                 r + 1, runs, s["exec_1mib"].v.back(), s["bare_1mib"].v.back(),
                 s["exec_64mib"].v.back(), s["bare_64mib"].v.back());
  }
  sh.terminate();
  smolvm_vm_delete(vm);
  smolvm_vm_free(vm);
  smolvm_runtime_close(rt);
  env["loadavg_1m_at_end"] = loadavg1();

  std::printf("## Streamed output: %d runs, interleaved\n\n", runs);
  std::printf("accel %s | load (1 min) %.2f at start, %.2f at end\n\n",
              env["accel"].get<std::string>().c_str(), env["loadavg_1m_at_start"].get<double>(),
              env["loadavg_1m_at_end"].get<double>());
  std::printf(
      "| phase | SmolVM p50 ms | SmolVM p95 ms | baseline | baseline p50 ms | baseline p95 ms | "
      "ratio (p50) | ratio (p95) |\n|---|---:|---:|---|---:|---:|---:|---:|\n");
  json phases = json::object();
  for (const Row& row : kRows) {
    const Series& v = s[row.key];
    const Series& b = s[row.base_key];
    json j = v.to_json();
    j["name"] = row.name;
    j["baseline"] = {
        {"key", row.base_key}, {"name", row.base_name}, {"p50", b.p50()}, {"p95", b.p95()}};
    j["ratio_p50"] = v.p50() / b.p50();
    j["ratio_p95"] = v.p95() / b.p95();
    std::printf("| %s | %.1f | %.1f | %s | %.1f | %.1f | %.2f | %.2f |\n", row.name, v.p50(),
                v.p95(), row.base_name, b.p50(), b.p95(), v.p50() / b.p50(), v.p95() / b.p95());
    phases[row.key] = j;
  }
  const double login_ms = s["run_true"].p50() - s["exec_true"].p50();
  std::printf("\nlogin shell start (run `true` - exec argv `true`, p50): %.1f ms\n", login_ms);
  const double tick_ms = 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  json cpu = json::object();
  const std::pair<const char*, const char*> cpu_rows[] = {
      {"smolvm_qemu", "SmolVM's QEMU (guest: head, agent; virtio-serial)"},
      {"supervisor", "supervisor"},
      {"client", "client (this process: library, executor-agent)"},
      {"bare_qemu", "bare QEMU (guest: head; virtio-serial)"}};
  std::printf("\nCPU time per 64 MiB, mean of %d runs:\n\n| process | CPU ms |\n|---|---:|\n",
              runs);
  for (const auto& [key, name] : cpu_rows) {
    const double ms = static_cast<double>(ticks[key]) * tick_ms / runs;
    cpu[key] = ms;
    std::printf("| %s | %.0f |\n", name, ms);
  }
  json baselines = json::object();
  for (const auto& [k, v] : s) {
    if (k.rfind("bare_", 0) == 0) baselines[k] = v.to_json();
  }
  if (!json_path.empty()) {
    const json out = {
        {"benchmark", "stream"},  {"runs", runs},           {"env", env},
        {"phases", phases},       {"baselines", baselines}, {"login_shell_ms_p50", login_ms},
        {"cpu_ms_per_64mib", cpu}};
    std::ofstream(json_path) << out.dump(2) << "\n";
  }
  remove_tree(tmp);
  return 0;
}
