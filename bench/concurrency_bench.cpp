// Concurrency benchmark: K clients (threads, each with its own handle)
// running `true` in a loop for a fixed time, against one shared VM and
// against K VMs (one each); throughput and latency percentiles per K.
//
// usage: concurrency_bench [--clients 1,2,4,8] [--seconds S] [--json FILE]
#include <smolvm/smolvm.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"

using namespace bench;

namespace {

constexpr const char* kTool = "concurrency_bench";

struct Result {
  int clients = 0;
  double seconds = 0;
  size_t ops = 0;
  size_t errors = 0;
  Series latency;
};

// K threads, thread i on VM ids[i % ids.size()], each with its own handle,
// running `true` until `seconds` have passed.
Result drive(smolvm_runtime* rt, const std::vector<std::string>& ids, int k, double seconds) {
  std::vector<Series> lat(static_cast<size_t>(k));
  std::vector<size_t> errs(static_cast<size_t>(k), 0);
  std::vector<smolvm_vm*> handles(static_cast<size_t>(k), nullptr);
  for (int i = 0; i < k; ++i) {
    if (smolvm_vm_open(&handles[static_cast<size_t>(i)], rt,
                       ids[static_cast<size_t>(i) % ids.size()].c_str()) != 0)
      die(kTool, "open");
    // Warm: the first command opens the handle's connection.
    smolvm_exec_result* r = nullptr;
    if (smolvm_vm_run(&r, handles[static_cast<size_t>(i)], "true", 0) != 0) die(kTool, "warm-up");
    smolvm_exec_result_free(r);
  }
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  Clock::time_point t0;
  for (int i = 0; i < k; ++i) {
    pool.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      const auto end =
          t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
      while (Clock::now() < end) {
        smolvm_exec_result* r = nullptr;
        const auto ts = Clock::now();
        const int rc = smolvm_vm_run(&r, handles[static_cast<size_t>(i)], "true", 0);
        if (rc == 0 && r->exit_code == 0)
          lat[static_cast<size_t>(i)].add(ms_since(ts));
        else
          ++errs[static_cast<size_t>(i)];
        smolvm_exec_result_free(r);
      }
    });
  }
  t0 = Clock::now();
  go = true;
  for (auto& t : pool) t.join();
  Result out;
  out.clients = k;
  out.seconds = ms_since(t0) / 1000;
  for (int i = 0; i < k; ++i) {
    for (double x : lat[static_cast<size_t>(i)].v) out.latency.add(x);
    out.errors += errs[static_cast<size_t>(i)];
    smolvm_vm_free(handles[static_cast<size_t>(i)]);
  }
  out.ops = out.latency.v.size();
  return out;
}

json to_json(const Result& r) {
  json l = r.latency.to_json();
  l.erase("samples");
  return {{"clients", r.clients},
          {"seconds", r.seconds},
          {"ops", r.ops},
          {"errors", r.errors},
          {"ops_per_s", static_cast<double>(r.ops) / r.seconds},
          {"latency_ms", l}};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> ks = {1, 2, 4, 8};
  double seconds = 10;
  std::string json_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--clients") {
      ks.clear();
      std::stringstream ss(argv[i + 1]);
      std::string item;
      while (std::getline(ss, item, ',')) ks.push_back(std::atoi(item.c_str()));
    } else if (k == "--seconds") {
      seconds = std::atof(argv[i + 1]);
    } else if (k == "--json") {
      json_path = argv[i + 1];
    }
  }
  int kmax = 0;
  for (int k : ks) kmax = std::max(kmax, k);
  if (ks.empty() || kmax < 1 || seconds <= 0) {
    std::fprintf(stderr, "usage: %s [--clients 1,2,4,8] [--seconds S] [--json FILE]\n", kTool);
    return 2;
  }
  const std::string state_dir = make_state_dir("concurrency");
  smolvm_runtime* rt = nullptr;
  if (smolvm_runtime_open(&rt, nullptr) != 0) die(kTool, "runtime_open");
  json env = host_env("");

  // kmax VMs with the default options, started two at a time.
  std::vector<std::string> ids(static_cast<size_t>(kmax));
  std::vector<smolvm_vm*> vms(static_cast<size_t>(kmax), nullptr);
  std::fprintf(stderr, "concurrency: starting %d VMs\n", kmax);
  {
    std::atomic<int> next{0};
    std::atomic<bool> bad{false};
    std::vector<std::thread> pool;
    for (int t = 0; t < 2; ++t) {
      pool.emplace_back([&] {
        for (int i; (i = next++) < kmax && !bad;) {
          smolvm_vm_options o;
          smolvm_vm_options_init(&o);
          o.boot_timeout_s = 600;
          smolvm_vm*& vm = vms[static_cast<size_t>(i)];
          if (smolvm_vm_create(&vm, rt, &o) != 0 || smolvm_vm_start(vm) != 0) {
            std::fprintf(stderr, "%s: create/start: %s\n", kTool, smolvm_last_error());
            bad = true;
            return;
          }
          ids[static_cast<size_t>(i)] = smolvm_vm_id(vm);
        }
      });
    }
    for (auto& t : pool) t.join();
    if (bad) {
      for (smolvm_vm* vm : vms) {
        if (vm) smolvm_vm_delete(vm), smolvm_vm_free(vm);
      }
      return 1;
    }
  }
  smolvm_vm_info info;
  smolvm_vm_info_init(&info);
  smolvm_vm_get_info(&info, vms[0]);
  env["accel"] = info.accel;
  const uint32_t vcpus = info.vcpu_count, mem = info.mem_size_mib;

  std::vector<Result> one, many;
  for (int k : ks) {
    one.push_back(drive(rt, {ids[0]}, k, seconds));
    std::fprintf(stderr, "  one VM,  %d clients: %.1f ops/s\n", k,
                 static_cast<double>(one.back().ops) / one.back().seconds);
    many.push_back(drive(rt, std::vector<std::string>(ids.begin(), ids.begin() + k), k, seconds));
    std::fprintf(stderr, "  %d VMs,  %d clients: %.1f ops/s\n", k, k,
                 static_cast<double>(many.back().ops) / many.back().seconds);
  }
  for (smolvm_vm* vm : vms) {
    smolvm_vm_delete(vm);
    smolvm_vm_free(vm);
  }
  smolvm_runtime_close(rt);
  env["loadavg_1m_at_end"] = loadavg1();

  std::printf(
      "## Concurrency: `true` in a loop for %.0f s per cell, each client its own handle\n\n",
      seconds);
  std::printf("accel %s | VMs of %u vCPUs, %u MiB | load at start %.2f\n\n",
              env["accel"].get<std::string>().c_str(), vcpus, mem,
              env["loadavg_1m_at_start"].get<double>());
  std::printf(
      "| clients K | one VM ops/s | one VM p50 ms | one VM p95 ms | K VMs ops/s | K VMs p50 ms | "
      "K VMs p95 ms |\n|---:|---:|---:|---:|---:|---:|---:|\n");
  json rows = json::array();
  size_t errors = 0;
  for (size_t i = 0; i < ks.size(); ++i) {
    const Result &a = one[i], &b = many[i];
    errors += a.errors + b.errors;
    std::printf("| %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", a.clients,
                static_cast<double>(a.ops) / a.seconds, a.latency.p50(), a.latency.p95(),
                static_cast<double>(b.ops) / b.seconds, b.latency.p50(), b.latency.p95());
    rows.push_back({{"clients", a.clients}, {"one_vm", to_json(a)}, {"k_vms", to_json(b)}});
  }
  if (errors) std::printf("\n%zu commands failed\n", errors);
  if (!json_path.empty()) {
    const json out = {{"benchmark", "concurrency"},
                      {"env", env},
                      {"seconds_per_cell", seconds},
                      {"vm_vcpus", vcpus},
                      {"vm_mem_mib", mem},
                      {"command", "true"},
                      {"rows", rows},
                      {"errors", errors}};
    std::ofstream(json_path) << out.dump(2) << "\n";
  }
  remove_tree(state_dir);
  return errors ? 1 : 0;
}
