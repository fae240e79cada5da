// Density benchmark: start N VMs of 128 MiB and 1 vCPU concurrently (a few
// threads, each with its own handles), keep them idle, run a command in
// each, delete them all; report host memory per VM (PSS of the supervisor,
// QEMU and any child), processes per VM, idle CPU, the time to create them
// all, and that no TAP, firewall rule, lease, process or file was left.
//
// usage: density_bench [--vms N] [--threads T] [--idle S] [--mem MIB] [--json FILE]
#include <smolvm/smolvm.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"

using namespace bench;

namespace {

constexpr const char* kTool = "density_bench";

struct Vm {
  smolvm_vm* handle = nullptr;
  std::string id;
  int64_t supervisor_pid = 0, vmm_pid = 0;
  double create_start_ms = 0, exec_ms = 0, delete_ms = 0;
  std::set<int64_t> tree;
};

// Runs fn(i) for i in [0, n) on `threads` threads; stops at the first
// failure and returns its message.
template <class F>
std::string parallel(int n, int threads, F fn) {
  std::atomic<int> next{0};
  std::mutex mu;
  std::string first_error;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (;;) {
        const int i = next++;
        if (i >= n) return;
        std::string err = fn(i);
        if (!err.empty()) {
          std::lock_guard<std::mutex> g(mu);
          if (first_error.empty()) first_error = err;
          next = n;
          return;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  return first_error;
}

int count_lines(const std::string& cmd) { return std::atoi(first_line(cmd + " | wc -l").c_str()); }

json leftovers(const std::string& state_dir, const std::vector<Vm>& vms, smolvm_runtime* rt,
               int taps_before, int nft_before) {
  int alive = 0;
  for (const Vm& v : vms) {
    for (int64_t pid : v.tree) alive += process_alive(pid) ? 1 : 0;
  }
  const int by_cmdline = static_cast<int>(pids_with_cmdline(state_dir).size());
  const std::string db = state_dir + "/smolvm.db";
  const std::string leases = first_line("sqlite3 '" + db + "' 'select count(*) from leases' 2>&1");
  smolvm_strarray ids{nullptr, 0};
  size_t rows = 0;
  if (smolvm_runtime_list(&ids, rt) == 0) rows = ids.count;
  smolvm_strarray_dispose(&ids);
  int vm_dirs = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(state_dir + "/vms", ec)) {
    (void)e;
    ++vm_dirs;
  }
  const int taps_after = count_lines("ip -o link show type tun 2>/dev/null");
  const int nft_after = count_lines("nft list ruleset 2>/dev/null | grep -i smolvm");
  return {{"processes_alive", alive},
          {"processes_with_state_dir_in_cmdline", by_cmdline},
          {"store_rows", rows},
          {"leases", leases},
          {"vm_folders", vm_dirs},
          {"tap_devices_before", taps_before},
          {"tap_devices_after", taps_after},
          {"nft_smolvm_lines_before", nft_before},
          {"nft_smolvm_lines_after", nft_after},
          {"clean", alive == 0 && by_cmdline == 0 && rows == 0 && (leases == "0") && vm_dirs == 0 &&
                        taps_after <= taps_before && nft_after <= nft_before}};
}

}  // namespace

int main(int argc, char** argv) {
  int n = 32, threads = 4, idle_s = 30, mem = 128;
  std::string json_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (k == "--vms")
      n = v;
    else if (k == "--threads")
      threads = v;
    else if (k == "--idle")
      idle_s = v;
    else if (k == "--mem")
      mem = v;
    else if (k == "--json")
      json_path = argv[i + 1];
  }
  if (n < 1 || threads < 1 || idle_s < 0) {
    std::fprintf(stderr, "usage: %s [--vms N] [--threads T] [--idle S] [--mem MIB] [--json F]\n",
                 kTool);
    return 2;
  }
  const std::string state_dir = make_state_dir("density");
  smolvm_runtime* rt = nullptr;
  if (smolvm_runtime_open(&rt, nullptr) != 0) die(kTool, "runtime_open");
  const int taps_before = count_lines("ip -o link show type tun 2>/dev/null");
  const int nft_before = count_lines("nft list ruleset 2>/dev/null | grep -i smolvm");
  json env = host_env("");
  const uint64_t mem_avail_before_kib = std::strtoull(
      first_line("awk '/MemAvailable/ {print $2}' /proc/meminfo").c_str(), nullptr, 10);

  std::vector<Vm> vms(static_cast<size_t>(n));
  // 1. Create and start all, `threads` at a time.
  std::fprintf(stderr, "density: starting %d VMs of %d MiB on %d threads\n", n, mem, threads);
  std::atomic<int> up{0};
  const auto t_all = Clock::now();
  std::string err = parallel(n, threads, [&](int i) -> std::string {
    smolvm_vm_options o;
    smolvm_vm_options_init(&o);
    o.mem_size_mib = static_cast<uint32_t>(mem);
    o.vcpu_count = 1;
    o.boot_timeout_s = 600;
    Vm& v = vms[static_cast<size_t>(i)];
    const auto t0 = Clock::now();
    if (smolvm_vm_create(&v.handle, rt, &o) != 0)
      return std::string("create: ") + smolvm_last_error();
    v.id = smolvm_vm_id(v.handle);
    if (smolvm_vm_start(v.handle) != 0) return "start " + v.id + ": " + smolvm_last_error();
    v.create_start_ms = ms_since(t0);
    smolvm_vm_info info;
    smolvm_vm_info_init(&info);
    if (smolvm_vm_get_info(&info, v.handle) != 0)
      return std::string("info: ") + smolvm_last_error();
    v.supervisor_pid = info.supervisor_pid;
    v.vmm_pid = info.vmm_pid;
    if (env["accel"] == "") env["accel"] = info.accel;
    std::fprintf(stderr, "  %d/%d up (%s, %.0f ms)\n", ++up, n, v.id.c_str(), v.create_start_ms);
    return "";
  });
  const double create_all_ms = ms_since(t_all);
  if (!err.empty()) {
    std::fprintf(stderr, "%s: %s\n", kTool, err.c_str());
    for (Vm& v : vms) {
      if (v.handle) smolvm_vm_delete(v.handle), smolvm_vm_free(v.handle);
    }
    return 1;
  }
  const double load_after_start = loadavg1();

  // 2. Idle: memory and CPU of every VM's processes.
  std::set<int64_t> all;
  for (Vm& v : vms) {
    v.tree = process_tree(v.supervisor_pid);
    all.insert(v.tree.begin(), v.tree.end());
  }
  const uint64_t ticks0 = cpu_ticks(all);
  std::fprintf(stderr, "density: all %d up in %.1f s; idle %d s\n", n, create_all_ms / 1000,
               idle_s);
  sleep(static_cast<unsigned>(idle_s));
  const uint64_t ticks1 = cpu_ticks(all);
  const double idle_cpu_pct_per_vm = idle_s > 0 ? 100.0 * static_cast<double>(ticks1 - ticks0) /
                                                      static_cast<double>(sysconf(_SC_CLK_TCK)) /
                                                      idle_s / n
                                                : 0;
  Series pss_mib, rss_mib, vmm_pss_mib, sup_pss_mib, procs;
  bool vmm_in_tree = true;
  for (Vm& v : vms) {
    v.tree = process_tree(v.supervisor_pid);  // again: after idle
    pss_mib.add(static_cast<double>(pss_kib(v.tree)) / 1024);
    rss_mib.add(static_cast<double>(rss_kib(v.tree)) / 1024);
    vmm_pss_mib.add(static_cast<double>(pss_kib({v.vmm_pid})) / 1024);
    sup_pss_mib.add(static_cast<double>(pss_kib({v.supervisor_pid})) / 1024);
    procs.add(static_cast<double>(v.tree.size()));
    vmm_in_tree = vmm_in_tree && v.tree.count(v.vmm_pid);
  }
  const uint64_t mem_avail_idle_kib = std::strtoull(
      first_line("awk '/MemAvailable/ {print $2}' /proc/meminfo").c_str(), nullptr, 10);
  const double load_idle = loadavg1();

  // 3. A command in each, concurrently.
  const auto t_exec = Clock::now();
  err = parallel(n, threads, [&](int i) -> std::string {
    Vm& v = vms[static_cast<size_t>(i)];
    smolvm_exec_result* r = nullptr;
    const auto t0 = Clock::now();
    if (smolvm_vm_run(&r, v.handle, "echo ok", 0) != 0) return v.id + ": " + smolvm_last_error();
    v.exec_ms = ms_since(t0);
    const bool ok = r->exit_code == 0 && r->stdout_len == 3;
    smolvm_exec_result_free(r);
    return ok ? "" : v.id + ": echo ok did not answer ok";
  });
  const double exec_all_ms = ms_since(t_exec);
  const bool exec_ok = err.empty();
  if (!exec_ok) std::fprintf(stderr, "%s: exec: %s\n", kTool, err.c_str());

  // 4. Delete all.
  const auto t_del = Clock::now();
  const std::string del_err = parallel(n, threads, [&](int i) -> std::string {
    Vm& v = vms[static_cast<size_t>(i)];
    const auto t0 = Clock::now();
    const int rc = smolvm_vm_delete(v.handle);
    v.delete_ms = ms_since(t0);
    smolvm_vm_free(v.handle);
    v.handle = nullptr;
    return rc == 0 ? "" : v.id + ": " + smolvm_last_error();
  });
  const double delete_all_ms = ms_since(t_del);
  if (!del_err.empty()) std::fprintf(stderr, "%s: delete: %s\n", kTool, del_err.c_str());

  const json left = leftovers(state_dir, vms, rt, taps_before, nft_before);
  smolvm_runtime_close(rt);
  env["loadavg_1m_at_end"] = loadavg1();

  Series cs, ex, de;
  for (const Vm& v : vms) {
    cs.add(v.create_start_ms);
    ex.add(v.exec_ms);
    de.add(v.delete_ms);
  }
  const double host_mib_per_vm =
      static_cast<double>(mem_avail_before_kib - mem_avail_idle_kib) / 1024 / n;

  std::printf("## Density: %d VMs of %d MiB, 1 vCPU, network none, %d threads, idle %d s\n\n", n,
              mem, threads, idle_s);
  std::printf("accel %s | load at start %.2f, after starting %.2f, idle %.2f\n\n",
              env["accel"].get<std::string>().c_str(), env["loadavg_1m_at_start"].get<double>(),
              load_after_start, load_idle);
  std::printf("| measure | value |\n|---|---:|\n");
  std::printf("| VMs running at once | %d |\n", n);
  std::printf("| time to create+start all | %.1f s |\n", create_all_ms / 1000);
  std::printf("| per-VM create+start p50 / p95 | %.0f / %.0f ms |\n", cs.p50(), cs.p95());
  std::printf("| host memory per VM (PSS: supervisor + QEMU), p50 / max | %.1f / %.1f MiB |\n",
              pss_mib.p50(), pss_mib.max());
  std::printf("| of which QEMU / supervisor (PSS p50) | %.1f / %.1f MiB |\n", vmm_pss_mib.p50(),
              sup_pss_mib.p50());
  std::printf("| RSS per VM p50 (shared pages counted in full) | %.1f MiB |\n", rss_mib.p50());
  std::printf("| MemAvailable drop per VM | %.1f MiB |\n", host_mib_per_vm);
  std::printf("| processes per VM | %.0f (supervisor + QEMU%s) |\n", procs.p50(),
              procs.max() > 2 ? " + children" : "");
  std::printf("| idle CPU per VM (TCG) | %.2f %% of a core |\n", idle_cpu_pct_per_vm);
  std::printf("| `echo ok` in every VM: all | %.1f s (p50 %.0f / p95 %.0f ms) %s |\n",
              exec_all_ms / 1000, ex.p50(), ex.p95(), exec_ok ? "all ok" : "FAILED");
  std::printf("| delete all | %.1f s (p50 %.0f / p95 %.0f ms) |\n", delete_all_ms / 1000, de.p50(),
              de.p95());
  std::printf(
      "| left afterwards: processes / store rows / leases / VM folders / TAPs / nft lines | %d / "
      "%zu / %s / %d / %d / %d (%s) |\n",
      left["processes_alive"].get<int>() + left["processes_with_state_dir_in_cmdline"].get<int>(),
      left["store_rows"].get<size_t>(), left["leases"].get<std::string>().c_str(),
      left["vm_folders"].get<int>(),
      left["tap_devices_after"].get<int>() - left["tap_devices_before"].get<int>(),
      left["nft_smolvm_lines_after"].get<int>() - left["nft_smolvm_lines_before"].get<int>(),
      left["clean"].get<bool>() ? "clean" : "NOT CLEAN");

  if (!json_path.empty()) {
    json per_vm = json::array();
    for (const Vm& v : vms) {
      per_vm.push_back({{"id", v.id},
                        {"create_start_ms", v.create_start_ms},
                        {"exec_ms", v.exec_ms},
                        {"delete_ms", v.delete_ms},
                        {"processes", v.tree.size()}});
    }
    const json out = {{"benchmark", "density"},
                      {"env", env},
                      {"vms", n},
                      {"mem_mib", mem},
                      {"vcpus", 1},
                      {"network", "none"},
                      {"threads", threads},
                      {"idle_s", idle_s},
                      {"create_all_ms", create_all_ms},
                      {"create_start", cs.to_json()},
                      {"pss_mib_per_vm", pss_mib.to_json()},
                      {"rss_mib_per_vm", rss_mib.to_json()},
                      {"vmm_pss_mib", vmm_pss_mib.to_json()},
                      {"supervisor_pss_mib", sup_pss_mib.to_json()},
                      {"mem_available_drop_mib_per_vm", host_mib_per_vm},
                      {"processes_per_vm", procs.to_json()},
                      {"vmm_is_child_of_supervisor", vmm_in_tree},
                      {"idle_cpu_pct_per_vm", idle_cpu_pct_per_vm},
                      {"loadavg_after_start", load_after_start},
                      {"loadavg_idle", load_idle},
                      {"exec_all_ms", exec_all_ms},
                      {"exec_ok", exec_ok},
                      {"exec", ex.to_json()},
                      {"delete_all_ms", delete_all_ms},
                      {"delete", de.to_json()},
                      {"leftovers", left},
                      {"per_vm", per_vm}};
    std::ofstream(json_path) << out.dump(2) << "\n";
  }
  remove_tree(state_dir);
  return exec_ok && del_err.empty() && left["clean"].get<bool>() ? 0 : 1;
}
