// Executor benchmark: exec round trips through executor-ssh beside
// executor-agent, on two VMs booted alike (same image, memory, network),
// commands interleaved one by one so both see the same machine. Prints a
// markdown table.
//
// Needs a network (sshd is reached on the guest's IP), so run it inside a
// namespace, never in the host's own:
//   tests/network/run_in_netns.sh build/bin/executor_bench nftables
// (run_in_netns.sh sets SMOLVM_TEST_NETWORK; --runs N via SMOLVM_BENCH_RUNS).
#include <smolvm/smolvm.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double idx = p * (v.size() - 1);
  const size_t lo = static_cast<size_t>(idx);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - lo);
}

void die(const std::string& what) {
  std::fprintf(stderr, "executor_bench: %s: %s\n", what.c_str(), smolvm_last_error());
  std::exit(1);
}

struct Side {
  const char* executor = "";
  smolvm_vm* vm = nullptr;
  double start_ms = 0, first_ms = 0, mib8_ms = 0;
  std::vector<double> rtt;
};

double timed_run(smolvm_vm* vm, const char* cmd, size_t expect_out) {
  smolvm_exec_result* r = nullptr;
  const auto t0 = Clock::now();
  if (smolvm_vm_run(&r, vm, cmd, 0) != 0) die(cmd);
  const double ms = ms_since(t0);
  if (r->exit_code != 0 || r->stdout_len != expect_out)
    die(std::string("unexpected result of ") + cmd);
  smolvm_exec_result_free(r);
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 30;
  if (const char* e = std::getenv("SMOLVM_BENCH_RUNS")) runs = std::atoi(e);
  if (argc == 3 && std::string(argv[1]) == "--runs") runs = std::atoi(argv[2]);
  const char* network = std::getenv("SMOLVM_TEST_NETWORK");
  if (!network) {
    std::fprintf(stderr,
                 "executor_bench: run me inside a network namespace, e.g.\n"
                 "  tests/network/run_in_netns.sh %s nftables\n",
                 argv[0]);
    return 2;
  }
  char tmpl[] = "/tmp/sveb-XXXXXX";
  const std::string state = mkdtemp(tmpl);
  smolvm_runtime_options ro;
  smolvm_runtime_options_init(&ro);
  ro.state_dir = state.c_str();
  smolvm_runtime* rt = nullptr;
  if (smolvm_runtime_open(&rt, &ro) != 0) die("runtime_open");

  Side sides[2];
  sides[0].executor = "agent";
  sides[1].executor = "ssh";
  for (auto& s : sides) {
    smolvm_vm_options o;
    smolvm_vm_options_init(&o);
    o.vm_id = s.executor;
    o.mem_size_mib = 256;
    o.executor = s.executor;
    o.network = network;
    if (smolvm_vm_create(&s.vm, rt, &o) != 0) die("create");
    auto t0 = Clock::now();
    if (smolvm_vm_start(s.vm) != 0) die("start");
    s.start_ms = ms_since(t0);
    s.first_ms = timed_run(s.vm, "true", 0);  // includes connecting
  }
  for (int i = 0; i < runs; ++i) {
    for (auto& s : sides) s.rtt.push_back(timed_run(s.vm, "true", 0));
  }
  for (auto& s : sides) {
    s.mib8_ms = timed_run(s.vm, "head -c 8388608 /dev/zero", 8u << 20);
  }

  std::printf("Exec round trip (`true`), %d runs each, interleaved; network %s.\n\n", runs,
              network);
  std::printf(
      "| executor | start to ready ms | first exec (connect) ms | rtt p50 ms | rtt p95 ms "
      "| 8 MiB stdout ms |\n|---|---:|---:|---:|---:|---:|\n");
  for (auto& s : sides) {
    std::printf("| %s | %.0f | %.1f | %.1f | %.1f | %.0f |\n", s.executor, s.start_ms, s.first_ms,
                percentile(s.rtt, 0.5), percentile(s.rtt, 0.95), s.mib8_ms);
  }
  std::printf("\nssh/agent rtt p50 ratio: %.2f\n",
              percentile(sides[1].rtt, 0.5) / percentile(sides[0].rtt, 0.5));
  for (auto& s : sides) {
    smolvm_vm_delete(s.vm);
    smolvm_vm_free(s.vm);
  }
  smolvm_runtime_close(rt);
  return 0;
}
